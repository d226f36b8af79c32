"""The keyword postings file (`qa.keyword_index`): FTS5's bm25() scores from numpy arrays.

On a copy of the real sample archive (~3k chunks of news), with the file switched on from 0
chunks (it is used from 50k in production, where FTS5's cost grows with every matched row).
Every check compares with FTS5's own bm25() on the same database, before and after writes.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from qa import Archive
from qa.backends.local import KEYWORDS_NAME, LocalBackend
from qa.filters import Filters
from qa.keyword_index import KeywordIndex
from qa.textnorm import query_terms

QUESTIONS = [
    "周庄镇2021年累计完成税收多少？",
    "總統接見旅居泰國僑胞代表時說了什麼",
    "核能安全",
    "疫情期间的经济政策",
    "国庆大会 民主 自由",
    "李登輝 憲政改革",
    "马英九 访问 友邦",
    "农业 产值 增长",
]


def same_ranking(got: list[tuple[int, float]], want: list[tuple[int, float]]) -> None:
    """Equal scores rank by rank (FTS5 orders ties as it likes, we by id)."""
    assert len(got) == len(want)
    assert [s for _, s in got] == pytest.approx([s for _, s in want], rel=1e-12, abs=1e-12)
    g, w = dict(got), dict(want)
    cut = min(s for _, s in want) if want else 0.0
    for cid, s in w.items():
        if s > cut:  # above the last score, where ties may be cut differently
            assert g.get(cid) == pytest.approx(s, rel=1e-12)


def compare(backend: LocalBackend, n: int = 50, filters: Filters | None = None) -> int:
    used = 0
    kw = backend.keyword_index()
    assert kw is not None
    allowed = None if filters is None else backend.store.chunk_ids(filters)
    for q in QUESTIONS:
        terms = query_terms(q)
        got = kw.search(backend.store, terms, n, allowed)
        assert got is not None
        want = backend.store.keyword_search(terms, n, filters)
        same_ranking(got, want)
        same_ranking(backend.keyword_search(terms, n, filters), want)
        used += bool(want)
    return used


@pytest.fixture
def copy_dir(sample_archive_dir, tmp_path):
    d = tmp_path / "archive"
    shutil.copytree(sample_archive_dir, d)
    return d


def test_the_postings_file_gives_fts5s_scores_and_ranks(copy_dir):
    backend = LocalBackend(copy_dir, keyword_index_min_chunks=0)
    try:
        assert backend.refresh_keyword_index()
        assert (copy_dir / KEYWORDS_NAME).exists()
        assert not backend.refresh_keyword_index()  # current: not rebuilt
        assert compare(backend) >= 6
        assert compare(backend, 5) >= 6
        f = Filters(date_from="2021-01-01", date_to="2021-12-31")
        assert backend.store.chunk_ids(f).size  # the filter keeps some chunks and drops others
        assert compare(backend, 20, f) >= 1
    finally:
        backend.close()


def test_articles_added_and_removed_after_the_build_are_scored_like_fts5(copy_dir, encoder, tmp_path):
    archive = Archive.open(copy_dir, keyword_index_min_chunks=0)
    try:
        backend = archive.backend
        assert isinstance(backend, LocalBackend)
        backend.refresh_keyword_index()
        built = KeywordIndex.load(copy_dir / KEYWORDS_NAME, backend.store.get_meta("created_at") or "")
        assert built is not None
        src = tmp_path / "new.jsonl"
        src.write_text(json.dumps({"id": "tail-1", "title": "焦作市新能源公交车投入运营", "date": "2022-03-01",
                                   "text": "焦作市首批新能源公交车今天投入运营，周庄镇居民乘车更方便。"
                                           "新能源公交车共有五十辆，全部使用纯电动，每辆长10.5米。"}, ensure_ascii=False) + "\n",
                       encoding="utf-8")
        archive.ingest([src])
        victim = next(a.id for a in archive.articles() if "周庄" in a.text)
        archive.remove(victim)
        kw = backend.keyword_index()
        assert kw is not None and kw.max_id == built.max_id  # not rebuilt: the new chunks are its tail
        compare(backend)
        phrase = ["公交车", "10.5"]  # "10.5" is the phrase "10 5", in a chunk of the tail
        same_ranking(kw.search(backend.store, phrase, 20), backend.store.keyword_search(phrase, 20))
        hits = backend.keyword_search(query_terms("周庄镇 新能源公交车"), 10)
        rows = backend.chunk_rows([c for c, _ in hits])
        assert rows[hits[0][0]].article_id == "tail-1"
        assert victim not in {r.article_id for r in rows.values()}
    finally:
        archive.close()


def test_a_term_of_several_tokens_is_scored_by_fts5_in_its_place(copy_dir):
    backend = LocalBackend(copy_dir, keyword_index_min_chunks=0)
    try:
        backend.refresh_keyword_index()
        kw = backend.keyword_index()
        for terms in (["周庄镇", "20.2", "税收"], ["20.2"], ["工业", "7.8", "1334"]):  # "20.2" is the phrase "20 2"
            want = backend.store.keyword_search(terms, 20)
            assert want
            same_ranking(kw.search(backend.store, terms, 20), want)
        assert kw.search(backend.store, ["周庄镇", "，"], 20) is None  # a term without a token: FTS5 decides
    finally:
        backend.close()


@pytest.mark.parametrize("damage", ["header", "zeroed"])
def test_a_damaged_file_is_ignored_and_rebuilt_by_a_reader(copy_dir, damage):
    path = copy_dir / KEYWORDS_NAME
    if damage == "header":
        path.write_bytes(b"QAKWIDX1" + (10**6).to_bytes(8, "little") + b"{}")
    else:  # same size, a stretch of the postings zeroed
        b = LocalBackend(copy_dir, keyword_index_min_chunks=0)
        b.refresh_keyword_index()
        b.close()
        data = bytearray(path.read_bytes())
        data[len(data) // 2 : len(data) // 2 + 4096] = bytes(4096)
        path.write_bytes(bytes(data))
    backend = LocalBackend(copy_dir, keyword_index_min_chunks=0)
    try:
        terms = query_terms(QUESTIONS[0])
        assert backend.keyword_search(terms, 10) == backend.store.keyword_search(terms, 10)  # FTS5 meanwhile
        assert backend._keywords_builder is not None
        backend._keywords_builder.join(60)
        assert backend.keyword_index() is not None
        compare(backend)
    finally:
        backend.close()


def test_a_file_of_another_database_is_not_used(copy_dir, tmp_path, sample_archive_dir):
    backend = LocalBackend(copy_dir, keyword_index_min_chunks=0)
    backend.refresh_keyword_index()
    backend.close()
    other = tmp_path / "other"
    other.mkdir()
    with Archive.open(other) as a:  # a new, empty database: another `created_at`
        a.backend.set_meta("created_at", "2000-01-01T00:00:00+00:00")
    shutil.copy(copy_dir / KEYWORDS_NAME, other / KEYWORDS_NAME)
    b = LocalBackend(other, keyword_index_min_chunks=0)
    try:
        assert KeywordIndex.load(other / KEYWORDS_NAME, b.store.get_meta("created_at") or "") is None
        assert b.keyword_search(query_terms(QUESTIONS[0]), 10) == []
    finally:
        b.close()


def test_below_the_threshold_no_file_is_made(copy_dir, encoder):
    with Archive.open(copy_dir) as archive:  # default threshold: 50,000 chunks
        archive.search("周庄镇税收", 5, "keyword")
        archive.remove(next(a.id for a in archive.articles()))
    assert not (copy_dir / KEYWORDS_NAME).exists()


def test_a_build_killed_before_its_rename_leaves_the_old_file_and_the_next_build_cleans_up(copy_dir):
    backend = LocalBackend(copy_dir, keyword_index_min_chunks=0)
    backend.refresh_keyword_index()
    backend.close()
    old = (copy_dir / KEYWORDS_NAME).read_bytes()
    code = ("from qa.backends.local import LocalBackend; "
            f"LocalBackend({str(copy_dir)!r}, keyword_index_min_chunks=0).refresh_keyword_index(force=True)")
    root = str(Path(__file__).resolve().parent.parent)
    p = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                       env=dict(os.environ, PYTHONPATH=root, QA_CRASH_AT="keywords-file-written"))
    assert p.returncode == -signal.SIGKILL, p.stderr
    assert (copy_dir / KEYWORDS_NAME).read_bytes() == old  # the file in place is untouched
    assert list(copy_dir.glob(KEYWORDS_NAME + ".tmp-*"))  # the killed build's temporary file
    backend = LocalBackend(copy_dir, keyword_index_min_chunks=0)
    try:
        assert backend.refresh_keyword_index(force=True)
        assert not list(copy_dir.glob(KEYWORDS_NAME + ".tmp-*"))
        compare(backend)
    finally:
        backend.close()
