"""The Milvus index backend on an embedded milvus-lite file: real jieba terms, real e5
vectors, Chinese articles. One backend (one milvus-lite start) per module; tests that
change data use their own article ids or their own collection prefix."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("pymilvus")
pytest.importorskip("milvus_lite")

from qa.archive import indexed_title, passage_text  # noqa: E402
from qa.chunk import chunk_text  # noqa: E402
from qa.errors import ArchiveClosedError, NotFoundError  # noqa: E402
from qa.records import ArticleRecord  # noqa: E402
from qa.store import PARTIAL, Filters, PreparedArticle  # noqa: E402
from qa.textnorm import query_terms, segment  # noqa: E402

ARTICLES = [
    ArticleRecord("jz-03-1", "周庄镇重点项目建设加速推进",
                  "今年周庄镇计划实施重点项目12个，计划完成投资57.66亿元。镇党委书记表示，将持续优化营商环境，"
                  "为项目建设提供全方位服务。目前已有8个项目开工建设。",
                  date="2022-03-15", page="03", source="焦作日报", byline="本报记者 梁智玲"),
    ArticleRecord("rm-01-1", "北京冬奥会圆满闭幕",
                  "第二十四届冬季奥林匹克运动会在国家体育场闭幕。中国代表团共获得9枚金牌，创造了冬奥会参赛历史最好成绩。",
                  date="2022-02-20", page="1", source="人民日报"),
    ArticleRecord("zt-02-1", "總統接見旅居泰國僑胞代表",
                  "李總統登輝先生今天接見旅居泰國僑胞代表時表示，我們的政治及憲政改革，是國家發展到目前這個階段必須要做的事。"
                  "泰國中華會館是當年國父在泰國鼓吹革命時所創立，至今已有八十五年的歷史。",
                  date="1992-01-14", page="2", source="總統府新聞稿"),
    ArticleRecord("jz-05-2", "黄河湿地迎来越冬候鸟",
                  "随着气温下降，孟州黄河湿地迎来大批越冬候鸟，其中包括国家一级保护动物白鹳和黑鹳。",
                  date="2021-12-01", page="05", source="焦作日报"),
    ArticleRecord("undated", "图书馆延长开放时间", "市图书馆自下月起延长开放时间至晚上九点，方便读者夜间阅读。"),
]


def prepare(encoder, rec: ArticleRecord, pipeline: str = "test-1", chunk_chars: int = 60) -> PreparedArticle:
    """What qa.archive writes for one article: chunks, passage texts, jieba terms, e5 vectors."""
    chunks = chunk_text(rec.text, chunk_chars, 1)
    title = indexed_title(rec.title, rec.text)
    texts = [passage_text(title, c.text) for c in chunks]
    h = json.dumps([rec.title, rec.text, rec.date, rec.page, rec.source, pipeline], ensure_ascii=False)
    return PreparedArticle(rec, str(abs(hash(h))), [(c.ordinal, c.start, c.end) for c in chunks],
                           [" ".join(segment(t)) for t in texts], encoder.encode_passages(texts), pipeline)


@pytest.fixture(scope="module")
def db_path(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("milvus") / "archive.db"


@pytest.fixture(scope="module")
def backend(db_path, encoder):
    from qa.backends import open_backend

    b = open_backend("milvus", str(db_path))
    res = b.write([prepare(encoder, r) for r in ARTICLES])
    assert (res.added, res.updated, res.removed) == (len(ARTICLES), 0, [])
    yield b
    b.close()


def top_article(backend, hits) -> str | None:
    rows = backend.chunk_rows([i for i, _ in hits[:1]])
    return rows[hits[0][0]].article_id if hits else None


def test_keyword_search_finds_the_article(backend):
    hits = backend.keyword_search(query_terms("周庄镇今年计划完成投资多少亿元？"), 5)
    assert top_article(backend, hits) == "jz-03-1"
    assert all(s > 0 for _, s in hits) and [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)
    # traditional text is indexed simplified: a simplified question finds it
    assert top_article(backend, backend.keyword_search(query_terms("总统接见泰国侨胞"), 5)) == "zt-02-1"
    assert backend.keyword_search(query_terms("量子计算机"), 5) == []


def test_dense_search_finds_the_article(backend, encoder):
    q = encoder.encode_queries(["冬奥会中国队拿了几块金牌？"])
    hits = backend.dense_search(q, 3)
    assert top_article(backend, hits) == "rm-01-1"
    # dense_scores are the stored vectors' inner products: the same numbers dense search gave
    scores = backend.dense_scores(q, [i for i, _ in hits] + [12345])
    assert set(scores) == {i for i, _ in hits}
    for i, s in hits:
        assert scores[i] == pytest.approx(s, abs=1e-4)


def test_filters_by_date_source_and_page(backend, encoder):
    terms = query_terms("焦作日报 周庄镇 黄河湿地 候鸟 冬奥会 图书馆")
    q = encoder.encode_queries(["新闻"])

    def found(f):
        kw = {r.article_id for r in backend.chunk_rows([i for i, _ in backend.keyword_search(terms, 50, f)]).values()}
        dn = {r.article_id for r in backend.chunk_rows([i for i, _ in backend.dense_search(q, 50, f)]).values()}
        return kw, dn

    kw, dn = found(Filters(page="3"))  # "3" matches page "03"
    assert kw == {"jz-03-1"} and dn == {"jz-03-1"}
    kw, dn = found(Filters(source="焦作日报"))
    assert kw == dn == {"jz-03-1", "jz-05-2"}
    kw, dn = found(Filters(date_from="2022-01-01", date_to="2022-02-20"))  # inclusive; undated excluded
    assert dn == {"rm-01-1"} and kw == {"rm-01-1"}
    assert [a.id for a in backend.articles(Filters(date_to="2021-12-31"))] == ["zt-02-1", "jz-05-2"]
    assert [a.id for a in backend.articles()][0] == "undated"  # by date, undated first (as SQLite's NULL)


def test_reads(backend):
    a = backend.get("jz-03-1")
    assert (a.title, a.date, a.page, a.source, a.byline) == (
        "周庄镇重点项目建设加速推进", "2022-03-15", "03", "焦作日报", "本报记者 梁智玲")
    assert backend.get("undated").date is None
    with pytest.raises(NotFoundError):
        backend.get("nope")
    f = backend.facets()
    assert (f["date_min"], f["date_max"]) == ("1992-01-14", "2022-03-15")
    assert f["sources"][0] == "焦作日报" and set(f["pages"]) == {"03", "1", "2", "05"}
    assert backend.pipeline_counts() == {"test-1": len(ARTICLES)}
    df = backend.document_frequencies(["周庄", "周庄镇", "57.66", "量子"])
    assert df["周庄镇"] >= 1 and df["周庄"] >= df["周庄镇"] and df["57.66"] == 1 and df["量子"] == 0
    title, text, pipeline, vecs = backend.stored_vectors("rm-01-1")
    assert (title, pipeline) == ("北京冬奥会圆满闭幕", "test-1") and text == ARTICLES[1].text
    assert vecs and all(v.dtype == np.float32 and abs(np.linalg.norm(v) - 1) < 1e-3 for _, v in vecs)
    assert backend.stored_vectors("nope") == ("", "", None, [])
    assert backend.get_meta("last_ingest_at") >= backend.get_meta("created_at")
    backend.set_meta("model_id", "e5-test")
    assert backend.get_meta("model_id") == "e5-test" and backend.get_meta("absent") is None


def test_replace_remove_and_hashes(backend, encoder):
    rec = ArticleRecord("tmp-1", "市区新增公交线路", "市区新增三条公交线路，连接高铁站与大学城。", date="2023-06-01")
    first = prepare(encoder, rec)
    w1 = backend.write([first])
    assert (w1.added, w1.updated) == (1, 0) and backend.hashes(["tmp-1", "nope"]) == {"tmp-1": first.content_hash}
    before = backend.counts()
    new = ArticleRecord("tmp-1", "市区新增公交线路", "市区新增五条夜间公交线路，方便市民夜间出行。", date="2023-06-02")
    second = prepare(encoder, new)
    w2 = backend.write([second])
    assert (w2.added, w2.updated) == (0, 1) and sorted(w2.removed) == sorted(w1.new_ids)
    assert not set(w2.new_ids) & set(w1.new_ids)
    assert backend.chunk_rows(w1.new_ids) == {}  # the old chunks are gone
    assert backend.counts()["chunks"] == before["chunks"] - len(w1.new_ids) + len(w2.new_ids)
    assert backend.hashes(["tmp-1"]) == {"tmp-1": second.content_hash}
    # (not asserted top-1: milvus-lite 3.2.2 takes BM25 statistics per segment, and this
    # version sits alone in the segment its flush made; Milvus servers use global statistics)
    hits = backend.chunk_rows([i for i, _ in backend.keyword_search(query_terms("夜间公交"), 10)])
    assert "tmp-1" in {r.article_id for r in hits.values()}
    assert backend.keyword_search(query_terms("高铁站 大学城"), 3) == []
    # the same article again: the same deterministic ids
    assert sorted(backend.write([second]).new_ids) == sorted(w2.new_ids)
    with pytest.raises(NotFoundError):
        backend.remove_many(["tmp-1", "nope"], missing_ok=False)
    assert sorted(backend.remove_many(["tmp-1", "nope"])) == sorted(w2.new_ids)
    assert backend.hashes(["tmp-1"]) == {} and backend.counts()["articles"] == len(ARTICLES)


def test_partial_article_and_long_text(backend, encoder):
    """A long article is written in parts; until the last, its hash says PARTIAL. Its text
    past a VARCHAR's 65,535 bytes is kept whole."""
    text = "".join(f"第{i}段：焦作市举办第{i}届山水文化节，吸引游客{i * 1000}人次。" for i in range(1, 1200))
    assert len(text.encode()) > 65_535
    rec = ArticleRecord("long-1", "山水文化节", text, date="2023-09-01")
    whole = prepare(encoder, rec, chunk_chars=12_000)
    n = len(whole.spans) // 2
    assert n >= 1
    part1 = PreparedArticle(rec, whole.content_hash, whole.spans[:n], whole.terms[:n], whole.vectors[:n],
                            whole.pipeline, first=True, last=False)
    part2 = PreparedArticle(rec, whole.content_hash, whole.spans[n:], whole.terms[n:], whole.vectors[n:],
                            whole.pipeline, first=False, last=True)
    backend.write([part1])
    assert backend.hashes(["long-1"]) == {"long-1": PARTIAL + whole.content_hash}
    assert [a.id for _, a in backend.articles_not_at("test-1", None, 10)] == ["long-1"]
    backend.write([part2])
    assert backend.hashes(["long-1"]) == {"long-1": whole.content_hash}
    assert backend.articles_not_at("test-1", None, 10) == []
    assert backend.get("long-1").text == text
    assert backend.check(full=True) == []
    backend.remove_many(["long-1"])


def test_check_finds_orphan_chunks(db_path, encoder):
    """A chunk whose article row is missing (a writer killed before its commit mark) is
    reported by check() and left out by chunk_rows."""
    from qa.backends.milvus import MilvusBackend

    b = MilvusBackend(str(db_path), prefix="orphans")  # its own collections in the same file
    try:
        prep = prepare(encoder, ARTICLES[0])
        b.write([prep])
        assert b.check() == [] and b.check(full=True) == []
        b.client.insert(b.chunks_name, [{"id": 7, "article_id": "ghost", "ordinal": 0, "start": 0, "end": 2,
                                         "text": "幽灵", "terms": " 幽灵 ", "vector": prep.vectors[0].tolist(),
                                         "date": "", "source": "", "page_key": ""}])
        assert b.check() == ["1 chunks without an article"]
        assert b.chunk_rows([7]) == {}
        assert b.counts() == {"articles": 1, "chunks": len(prep.spans) + 1, "vectors": len(prep.spans) + 1}
        b.remove_many(["ghost"])  # removing a missing id clears its leftovers
        assert b.check() == []
    finally:
        b.close()


def test_a_reader_opened_before_the_first_write_sees_it(db_path, encoder):
    """Another writer (process, machine) creates the chunks collection with its first write:
    a reader opened before that finds it without reopening."""
    from qa.backends.milvus import MilvusBackend

    reader, writer = MilvusBackend(str(db_path), prefix="late"), MilvusBackend(str(db_path), prefix="late")
    try:
        assert reader.counts() == {"articles": 0, "chunks": 0, "vectors": 0}
        prep = prepare(encoder, ARTICLES[3])
        writer.write([prep])
        assert reader.counts()["chunks"] == len(prep.spans)
        assert top_article(reader, reader.keyword_search(query_terms("黄河湿地候鸟"), 3)) == "jz-05-2"
    finally:
        reader.close()
        writer.close()


def test_page_articles_and_reindex_cursor(db_path, encoder):
    """page_article_ids finds a page's articles and captions only; articles_not_at pages
    through the articles of another pipeline by id."""
    from qa.backends.milvus import MilvusBackend

    def rec(aid, kind):
        return ArticleRecord(aid, "黄河湿地", "孟州黄河湿地迎来越冬候鸟。", metadata={"kind": kind})

    b = MilvusBackend(str(db_path), prefix="pages")
    try:
        recs = [rec("p1-01", "article"), rec("p1-01-photo-1", "caption"), rec("p1-x", "article"),
                rec("p10-01", "article"), rec("p1-02", "page")]
        b.write([prepare(encoder, r, pipeline="old" if i % 2 else "new") for i, r in enumerate(recs)])
        assert sorted(b.page_article_ids("p1")) == ["p1-01", "p1-01-photo-1"]
        first = b.articles_not_at("new", None, 1)
        rest = b.articles_not_at("new", first[-1][0], 10)
        assert [c for c, _ in first + rest] == ["p1-01-photo-1", "p10-01"]
        assert b.pipeline_counts() == {"new": 3, "old": 2}
    finally:
        b.close()


def test_a_second_process_on_the_file_gets_one_clear_line(backend, db_path):
    """milvus-lite lets one process open a file: another is told how to share it."""
    code = textwrap.dedent(f"""
        from qa.backends import open_backend
        from qa.errors import QAError
        try:
            open_backend("milvus", {str(db_path)!r})
        except QAError as e:
            print(e)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.returncode == 0, out.stderr[-2000:]
    assert str(db_path) in out.stdout and "milvus-lite server --data-dir" in out.stdout


def test_reopen_sees_the_data(backend, db_path):
    """Another process opening the same milvus-lite file sees what was written."""
    backend.flush()
    backend.close()  # milvus-lite holds the data directory's lock while open
    with pytest.raises(ArchiveClosedError):
        backend.counts()
    code = textwrap.dedent(f"""
        from qa.backends import open_backend
        b = open_backend("milvus", {str(db_path)!r})
        print(b.counts()["articles"], b.get("jz-03-1").title, b.get_meta("dim"))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300,
                         cwd=Path(__file__).resolve().parents[1])
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == [str(len(ARTICLES)), "周庄镇重点项目建设加速推进", "384"]
