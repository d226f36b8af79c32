"""Shared pytest fixtures."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Tests never touch the network: a model that is not local fails at once instead of retrying.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

SEED = Path(__file__).resolve().parents[1] / "qa" / "data" / "sample" / "jiaozuo_daily" / "jiaozuo_daily_page.txt"


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository root (the directory holding pyproject.toml)."""
    return Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def encoder():
    """The default embedding model, loaded once per test session (real model, offline)."""
    from qa.embeddings import load_encoder

    return load_encoder()


@pytest.fixture(scope="session")
def shared_eval(repo_root) -> Path:
    """`../shared/eval` (question sets); tests that need it skip cleanly without it."""
    d = repo_root.parent / "shared" / "eval"
    if not (d / "cmrc2018_trial.corpus.jsonl").exists():
        pytest.skip(f"shared question sets not found at {d}")
    return d


@pytest.fixture(scope="session")
def sample_archive_dir(tmp_path_factory, encoder) -> Path:
    """The bundled sample archive, made once per run the way `python app.py` makes it
    (from the shipped precomputed index). Copy it before writing to it."""
    from qa.sample import ensure_sample_archive

    d = tmp_path_factory.mktemp("sample") / "archive"
    ensure_sample_archive(d).close()
    return d


@pytest.fixture(scope="session")
def sample_archive_ro(sample_archive_dir):
    """The sample archive, opened once for read-only tests (search, ask, get)."""
    from qa import Archive

    archive = Archive.open(sample_archive_dir)
    yield archive
    archive.close()


@pytest.fixture
def sample_archive(sample_archive_dir, tmp_path):
    """A private, writable copy of the sample archive for one test."""
    import shutil

    from qa import Archive

    dst = tmp_path / "archive"
    shutil.copytree(sample_archive_dir, dst)
    archive = Archive.open(dst)
    yield archive
    archive.close()


NEWS = [
    {"id": "n1", "title": "總統接見旅居泰國僑胞代表", "date": "1992-01-14", "source": "總統府新聞稿", "page": "2",
     "text": "李總統登輝先生今天接見旅居泰國僑胞代表時表示，我們的政治及憲政改革，是國家發展到目前這個階段必須要做的事。"
             "泰國中華會館是當年國父在泰國鼓吹革命時所創立，至今已有八十五年的歷史。"},
    {"id": "n2", "title": "总统出席国庆大会", "date": "2021-10-10", "source": "總統府新聞稿", "page": "1",
     "text": "总统今天上午出席中华民国110年国庆大会并发表演说，强调守护民主自由的决心。现场有超过一万名民众参与。"},
    {"id": "n3", "title": "副總統訪問友邦", "date": "2023-05-20", "source": "外交部新聞稿", "page": "1",
     "text": "副總統率團訪問友邦巴拉圭，參加新任總統就職典禮，並與當地僑界餐敘。訪問團共有２５人。"},
]


@pytest.fixture(scope="session")
def small_archive_dir(tmp_path_factory, encoder) -> Path:
    """The seed page plus three short news records (simplified and traditional, with
    dates, sources, pages), embedded once per run. Copy it before writing to it."""
    import json

    from qa import Archive

    d = tmp_path_factory.mktemp("small")
    src = d / "news.jsonl"
    src.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in NEWS) + "\n", encoding="utf-8")
    with Archive.open(d / "archive") as a:
        report = a.ingest([SEED, src])
        assert not report.failed, report.failed
    return d / "archive"


def milvus_available() -> bool:
    """pymilvus and milvus-lite are installed (the `milvus` extra)."""
    import importlib.util

    return bool(importlib.util.find_spec("pymilvus") and importlib.util.find_spec("milvus_lite"))


def copy_to_milvus(local_dir: Path, uri: str | Path, paths) -> None:
    """A milvus-lite archive of `paths` at `uri`, taking the vectors `local_dir` (the same
    files, already ingested there) holds, so no chunk is embedded twice."""
    from qa import Archive

    with Archive.open(local_dir, create=False) as donor, Archive.open(None, backend="milvus", uri=str(uri)) as a:
        a.reuse_vectors_from(donor.backend)
        report = a.ingest(list(paths))
        assert not report.failed, report.failed


def _milvus_copy(tmp_path_factory, name: str, local_dir: Path, paths) -> Path:
    """`paths` (already ingested into `local_dir`) as a milvus-lite file with the same
    vectors; skips the test when the milvus extra is missing."""
    if not milvus_available():
        pytest.skip("the milvus extra (pymilvus, milvus-lite) is not installed")
    d = tmp_path_factory.mktemp(name)
    copy_to_milvus(local_dir, d / "archive.db", paths)
    return d / "archive.db"


def _open_on(request, local_dir: Path, milvus_file: str):
    """The archive opened read-only on the backend `request.param` names."""
    from qa import Archive

    if request.param == "local":
        return Archive.open(local_dir, create=False)
    return Archive.open(None, backend="milvus", uri=str(request.getfixturevalue(milvus_file)), create=False)


@pytest.fixture(scope="session")
def small_milvus_file(tmp_path_factory, small_archive_dir) -> Path:
    """The small archive (seed page + NEWS) as a milvus-lite file with the same vectors,
    built once per run; read-only (tests that write build their own with `copy_to_milvus`)."""
    sources = sorted(small_archive_dir.parent.glob("news.jsonl"))
    return _milvus_copy(tmp_path_factory, "small-milvus", small_archive_dir, [SEED, *sources])


@pytest.fixture(scope="session")
def sample_milvus_file(tmp_path_factory, sample_archive_dir) -> Path:
    """The bundled sample as a milvus-lite file with the shipped vectors, built once per run."""
    from qa.sample import SAMPLE_DATA

    return _milvus_copy(tmp_path_factory, "sample-milvus", sample_archive_dir, [SAMPLE_DATA])


@pytest.fixture(scope="session", params=["local", "milvus"])
def sample_any(request, sample_archive_dir):
    """The sample archive on each backend, read-only, opened once per session."""
    a = _open_on(request, sample_archive_dir, "sample_milvus_file")
    yield a
    a.close()


@pytest.fixture(scope="session", params=["local", "milvus"])
def archive_kind(request, small_archive_dir):
    """(kind, the small archive opened on that backend), read-only, once per session."""
    a = _open_on(request, small_archive_dir, "small_milvus_file")
    yield request.param, a
    a.close()
