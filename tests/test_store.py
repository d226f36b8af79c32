"""The SQLite store on its own: real database files, synthetic vectors (no model needed)."""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from qa.errors import ArchiveCorruptError, NotFoundError
from qa.records import ArticleRecord
from qa.store import PARTIAL, PreparedArticle, Store, fts_tokens
from qa.textnorm import segment

DIM = 8
TEXTS = {
    "a1": "周庄镇2021年累计完成税收1334万元。党建引领激活乡村振兴。",
    "a2": "焦作市高速公路项目今年计划完成投资57.66亿元。",
    "a3": "總統今天上午接見旅居泰國僑胞代表。",
}


def vec(seed: int, n: int = 1) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=(n, DIM)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def prepared(aid: str, text: str | None = None, *, h: str = "h1", seed: int = 0, first=True, last=True,
             spans=None, kind: str | None = None) -> PreparedArticle:
    text = text or TEXTS[aid]
    spans = spans or [(0, 0, len(text))]
    md = {"kind": kind} if kind else {}
    rec = ArticleRecord(id=aid, title=f"标题 {aid}", text=text, metadata=md)
    return PreparedArticle(rec, h, spans, [" ".join(text[s:e]) for _, s, e in spans], vec(seed, len(spans)),
                           "p1", first, last)


@pytest.fixture
def store(tmp_path):
    s = Store(tmp_path / "archive.db")
    yield s
    s.close()


def test_every_write_bumps_the_generation_and_reports_it(store):
    g0 = store.generation
    res = store.write([prepared("a1"), prepared("a2")])
    assert (res.added, res.updated, res.generation_before, res.generation) == (2, 0, g0, g0 + 1)
    assert store.generation == g0 + 1 and len(res.new_ids) == 2
    res2 = store.write([prepared("a1", h="h2", seed=5)])
    assert (res2.added, res2.updated) == (0, 1) and res2.removed == [res.new_ids[0]]
    assert store.generation == g0 + 2
    store.remove("a2")
    assert store.generation == g0 + 3
    with pytest.raises(NotFoundError):
        store.remove("a2")
    assert store.generation == g0 + 3  # a refused remove writes nothing


def test_vector_snapshot_lists_ids_with_vectors_and_only_the_missing_vectors(store):
    res = store.write([prepared("a1", seed=1), prepared("a2", seed=2), prepared("a3", seed=3)])
    snap = store.vector_snapshot()
    assert snap.ids.tolist() == sorted(res.new_ids) and snap.generation == store.generation
    assert np.allclose(snap.added_vectors[0], vec(1)[0])
    snap = store.vector_snapshot(np.array(res.new_ids[:2]))
    assert snap.added_ids.tolist() == [res.new_ids[2]] and np.allclose(snap.added_vectors, vec(3))
    store.db.execute("UPDATE chunks SET vector = NULL WHERE id = ?", (res.new_ids[0],))
    assert store.has_missing_vectors()
    assert store.vector_snapshot().ids.tolist() == sorted(res.new_ids[1:])


def test_clear_vectors_records_the_model_and_a_new_epoch_in_one_step(store):
    store.write([prepared("a1")])
    e0, g0 = store.vector_epoch, store.generation
    store.clear_vectors({"model_id": "m2", "dim": "8"})
    assert (store.vector_epoch, store.generation) == (e0 + 1, g0 + 1)
    assert store.get_meta("model_id") == "m2" and store.counts()["vectors"] == 0


def test_long_article_in_parts_is_partial_until_its_last_part(store):
    text = "第一句话。" * 10
    spans = [(i, 5 * i, 5 * i + 5) for i in range(10)]
    store.write([prepared("long", text, spans=spans[:4], first=True, last=False)])
    assert store.hashes(["long"]) == {"long": PARTIAL + "h1"}
    store.write([prepared("long", text, spans=spans[4:], first=False, last=True)])
    assert store.hashes(["long"]) == {"long": "h1"}
    assert store.counts()["chunks"] == 10 and not store.consistency_problems()
    # a later part without its first part is refused, nothing written
    with pytest.raises(RuntimeError, match="later part"):
        store.write([prepared("other", text, spans=spans[:2], first=False)])
    assert store.counts()["articles"] == 1


def test_pipeline_recorded_per_article_and_legacy_schema_migrated(tmp_path):
    path = tmp_path / "old.db"
    con = sqlite3.connect(path)
    con.executescript(
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);"
        "INSERT INTO meta VALUES ('schema_version', '1'), ('generation', '4');"
        "CREATE TABLE articles (rowid INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, title TEXT NOT NULL,"
        " text TEXT NOT NULL, date TEXT, page TEXT, source TEXT, byline TEXT, source_file TEXT,"
        " metadata TEXT NOT NULL DEFAULT '{}', content_hash TEXT NOT NULL, ingested_at TEXT NOT NULL);"
        "INSERT INTO articles(id, title, text, content_hash, ingested_at) VALUES ('old', '旧', '旧文章。', 'x', 'now');")
    con.close()
    s = Store(path)
    try:
        assert s.get_meta("schema_version") == "2" and s.generation == 4
        assert s.pipeline_counts() == {None: 1}
        s.write([prepared("a1")])
        assert s.pipeline_counts() == {None: 1, "p1": 1}
        stale = s.articles_not_at("p1", 0, 10)
        assert [a.id for _, a in stale] == ["old"]
    finally:
        s.close()


def test_page_article_ids_match_one_page_only(store):
    store.write([prepared("焦作日报-2022-03-15-03-01", TEXTS["a1"], kind="article"),
                 prepared("焦作日报-2022-03-15-03-01-photo-1", TEXTS["a2"], kind="caption"),
                 prepared("焦作日报-2022-03-15-03-12", TEXTS["a3"], kind="article"),
                 prepared("焦作日报-2022-03-15-031-01", TEXTS["a3"], kind="article"),  # another page
                 prepared("焦作日报-2022-03-15-03-notes", TEXTS["a3"], kind="article"),  # not an ordinal
                 prepared("焦作日报-2022-03-15-03-02", TEXTS["a3"])])  # a record, not from a page
    assert sorted(store.page_article_ids("焦作日报-2022-03-15-03")) == [
        "焦作日报-2022-03-15-03-01", "焦作日报-2022-03-15-03-01-photo-1", "焦作日报-2022-03-15-03-12"]


def test_consistency_problems_name_orphans(store):
    store.write([prepared("a1"), prepared("a2")])
    assert store.consistency_problems() == [] and store.check() == [] and store.check(full=True) == []
    store.db.execute("PRAGMA foreign_keys=OFF")
    store.db.execute("DELETE FROM articles WHERE id = 'a1'")
    store.db.execute("INSERT INTO chunk_terms(rowid, terms) VALUES (999, '孤儿')")
    problems = store.consistency_problems()
    assert any("chunks without an article" in p for p in problems)
    assert any("keyword terms without a chunk" in p for p in problems)


def _damage(path, start_fraction: float = 0.5, n: int = 8192) -> None:
    data = bytearray(path.read_bytes())
    at = int(len(data) * start_fraction)
    data[at : at + n] = b"\xab" * n
    path.write_bytes(bytes(data))


def _filled(path) -> None:
    s = Store(path)
    s.write([prepared(f"n{i}", "焦作市第%d个项目今年计划完成投资。" % i * 30, seed=i) for i in range(300)])
    s.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    s.close()


def test_a_damaged_database_raises_the_named_error_not_sqlites(tmp_path):
    path = tmp_path / "archive.db"
    _filled(path)
    _damage(path)
    with pytest.raises(ArchiveCorruptError, match="damaged"):
        s = Store(path)
        try:
            s.counts()
        finally:
            s.close()


def test_not_a_database_raises_the_named_error(tmp_path):
    path = tmp_path / "archive.db"
    path.write_bytes(b"this is not an sqlite file" * 200)
    with pytest.raises(ArchiveCorruptError, match="damaged"):
        Store(path)


def test_check_reports_damage_that_reads_do_not_reach(tmp_path):
    """Damage in an index page: counting rows still works, `check` says it is damaged."""
    path = tmp_path / "archive.db"
    _filled(path)
    con = sqlite3.connect(path)
    root = con.execute("SELECT rootpage FROM sqlite_master WHERE name = 'articles_date'").fetchone()[0]
    page_size = con.execute("PRAGMA page_size").fetchone()[0]
    con.close()
    data = bytearray(path.read_bytes())
    off = (root - 1) * page_size
    data[off + 8 : off + 200] = b"\xff" * 192
    path.write_bytes(bytes(data))
    s = Store(path)
    try:
        try:
            problems = s.check()
        except ArchiveCorruptError:
            problems = ["raised"]
        assert problems, "quick_check must notice a damaged index page"
    finally:
        s.close()


def _damage_index_page(db_path, index_name: str) -> None:
    con = sqlite3.connect(db_path)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    root = con.execute("SELECT rootpage FROM sqlite_master WHERE name = ?", (index_name,)).fetchone()[0]
    page_size = con.execute("PRAGMA page_size").fetchone()[0]
    con.close()
    data = bytearray(db_path.read_bytes())
    off = (root - 1) * page_size
    data[off + 8 : off + page_size] = b"\xff" * (page_size - 8)
    db_path.write_bytes(bytes(data))


def test_cli_on_a_damaged_archive_says_so_in_one_line_and_remove_writes_nothing(small_archive_dir, tmp_path, capsys):
    import hashlib
    import shutil

    from qa.cli import main

    arc = tmp_path / "archive"
    shutil.copytree(small_archive_dir, arc)
    db = arc / "archive.db"
    _damage_index_page(db, "chunks_article")
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    assert main(["remove", "n1", "--archive", str(arc)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("qa remove: ") and "damaged" in err and err.count("\n") == 1 and "Traceback" not in err
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before, "nothing written to a damaged database"
    for argv in (["info"], ["search", "周庄镇 税收", "--mode", "keyword"]):
        rc = main([*argv, "--archive", str(arc)])
        out = capsys.readouterr()
        assert rc in (0, 1) and "Traceback" not in out.err
        if rc:
            assert out.err.startswith(f"qa {argv[0]}: ") and "damaged" in out.err and out.err.count("\n") == 1


def test_vector_snapshot_reads_many_vectors_in_id_order(store):
    """More vectors than one read part (500): each lands in its own id's row."""
    text = "周庄镇" * 1_200
    spans = [(i, i * 3, i * 3 + 3) for i in range(1_200)]
    art = prepared("a1", text, spans=spans, seed=7)
    res = store.write([art])
    snap = store.vector_snapshot()
    assert snap.ids.tolist() == sorted(res.new_ids) and snap.added_vectors.shape == (1_200, DIM)
    assert np.array_equal(snap.added_vectors, art.vectors)  # ids follow the write order
    part = store.vector_snapshot(np.array(res.new_ids[:700]))
    assert part.added_ids.tolist() == res.new_ids[700:] and np.array_equal(part.added_vectors, art.vectors[700:])


def test_affordable_terms_drop_the_commonest_only_past_the_budget():
    from qa.store import affordable_terms

    df = {"情况": 12_000, "建议": 3_000, "防晒": 100, "措施": 5_000}
    terms = ["情况", "建议", "防晒", "措施"]
    assert affordable_terms(terms, df, None) == terms
    assert affordable_terms(terms, df, 25_000) == terms  # they fit: nothing dropped
    assert affordable_terms(terms, df, 9_000) == ["建议", "防晒", "措施"]  # order kept
    assert affordable_terms(terms, df, 50) == ["防晒"]  # the rarest stays even over budget
    assert affordable_terms(["情况"], df, 1) == ["情况"]


def test_keyword_search_leaves_common_terms_out_past_the_row_budget(tmp_path):
    """Through a real FTS5 index: with a budget below the rows a common word matches, the
    query keeps its rare word and stops scoring the chunks that have only the common one;
    under the budget (a small archive) every term counts."""
    def art(aid: str, text: str, terms: str) -> PreparedArticle:
        return PreparedArticle(ArticleRecord(id=aid, title="", text=text), "h", [(0, 0, len(text))], [terms], vec(1), "p1")

    s = Store(tmp_path / "archive.db", keyword_row_budget=None)
    common = [art(f"c{i}", f"今年的工作情况良好第{i}期。", f"今年 工作 情况 良好 第 {i} 期") for i in range(8)]
    rare = art("r1", "防晒措施的工作情况说明。", "防晒 措施 工作 情况 说明")
    res = s.write([*common, rare])
    rare_id = res.new_ids[-1]
    terms = ["工作", "防晒"]
    assert s.term_doc_counts(terms) == {"工作": 9, "防晒": 1}
    everything = s.keyword_search(terms, 20)
    assert len(everything) == 9 and everything[0][0] == rare_id
    s.keyword_row_budget = 5
    pruned = s.keyword_search(terms, 20)
    assert [i for i, _ in pruned] == [rare_id]
    s.keyword_row_budget = 50  # more than the archive holds: nothing is dropped
    assert s.keyword_search(terms, 20) == everything
    s.close()


def test_fts_tokens_are_the_tokens_fts5_indexes():
    """`fts_tokens` is what FTS5 indexes: Milvus's BM25 must see the very tokens the local
    backend's FTS5 table sees, and `document_frequencies` reads one-token terms from FTS5's
    vocabulary by them."""
    text = ("焦作市2022年GDP增长3.5%，COVID-19疫情后旅游收入达57.66亿元；"
            "李總統登輝先生接見僑胞代表，C++與Wi-Fi課程開班，e-mail：ab_cd@x.cn")
    terms = " ".join(segment(text))
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE t USING fts5(terms, tokenize = 'unicode61 remove_diacritics 0')")
    db.execute("CREATE VIRTUAL TABLE v USING fts5vocab(t, 'instance')")
    db.execute("INSERT INTO t(rowid, terms) VALUES (1, ?)", (terms,))
    fts = [r[0] for r in db.execute("SELECT term FROM v ORDER BY offset")]
    assert fts_tokens(terms) == fts


def test_document_frequencies_equal_match_counts_for_words_and_phrases(tmp_path):
    """One-token terms come from FTS5's vocabulary, phrases ("3.5", two tokens) from MATCH:
    both give what counting the MATCH rows gives, upper-case Latin and unknown terms too."""
    def art(aid: str, text: str) -> PreparedArticle:
        return PreparedArticle(ArticleRecord(id=aid, title="", text=text), "h", [(0, 0, len(text))],
                               [" ".join(segment(text))], vec(1), "p1")

    s = Store(tmp_path / "archive.db")
    s.write([art("a", "焦作市GDP增长3.5%，税收增长5个百分点。"), art("b", "税收完成1334万元，GDP增长3%。"),
             art("c", "公园延长开放时间。")])
    terms = ["税收", "GDP", "gdp", "3.5", "增长", "潜水艇", "1334"]
    match = {t: s.db.execute("SELECT count(*) FROM chunk_terms WHERE chunk_terms MATCH ?",
                             ('"' + t + '"',)).fetchone()[0] for t in terms}
    assert match == {"税收": 2, "GDP": 2, "gdp": 2, "3.5": 1, "增长": 2, "潜水艇": 0, "1334": 1}
    assert s.document_frequencies(terms) == match
    s.close()
