"""Shared pytest fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository root (the directory holding pyproject.toml)."""
    return Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def encoder():
    """The default embedding model, loaded once per test session (real model, offline)."""
    from embeddings import load_encoder

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
