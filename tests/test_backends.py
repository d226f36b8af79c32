"""The `IndexBackend` contract, on real data: jieba terms, e5 vectors, real files.

Written against the interface only (`qa.backends`), so every backend runs the same tests:
add a kind to `KINDS` (and what opening it needs to `backend`) and they run there too.
"""

from __future__ import annotations

import pytest

from qa.archive import passage_text
from qa.backends import BACKENDS, IndexBackend, open_backend
from qa.chunk import chunk_text
from qa.errors import NotFoundError
from qa.filters import Filters
from qa.records import ArticleRecord
from qa.store import PARTIAL, PreparedArticle
from qa.textnorm import query_terms, segment

from conftest import milvus_available

# milvus: an embedded milvus-lite file per test (skipped when the milvus extra is missing)
KINDS = ["local", pytest.param("milvus", marks=pytest.mark.skipif(not milvus_available(),
                                                                   reason="pymilvus/milvus-lite not installed"))]
LOCATIONS = {"local": "index", "milvus": "index.db"}  # under the test's tmp_path

HIGHWAY = ArticleRecord(
    id="jz-2022-03-05-03-01", title="焦作高速公路建设提速", date="2022-03-05", page="03", source="焦作日报",
    text="焦作市高速公路项目今年计划完成投资57.66亿元。沿太行高速公路焦作段已进入路面施工阶段。"
         "市交通运输局表示，新建的高速公路将缩短焦作到郑州的车程。项目建成后每天可通行车辆三万辆。",
    metadata={"kind": "article", "ordinal": 1})
TAX = ArticleRecord(
    id="zz-2021-12-01-01-01", title="周庄镇党建引领乡村振兴", date="2021-12-01", page="1", source="昆山日报",
    text="周庄镇2021年累计完成税收1334万元。全镇以党建引领激活乡村振兴，发展水乡旅游。"
         "今年接待游客超过两百万人次，旅游收入同比增长百分之十二。",
    metadata={"kind": "article", "ordinal": 1})


def prepare(rec: ArticleRecord, encoder, h: str = "h1", *, first: bool = True, last: bool = True,
            chunks: slice = slice(None)) -> PreparedArticle:
    """What `Archive` hands a backend: spans, segmented terms and e5 vectors of each chunk."""
    parts = chunk_text(rec.text, 40, 0)[chunks]
    texts = [passage_text(rec.title, c.text, rec.text) for c in parts]
    return PreparedArticle(rec, h, [(c.ordinal, c.start, c.end) for c in parts],
                           [" ".join(segment(t)) for t in texts], encoder.encode_passages(texts), "p1", first, last)


@pytest.fixture(params=KINDS)
def backend(request, tmp_path) -> IndexBackend:
    """An opened, empty backend of each kind."""
    b = open_backend(request.param, str(tmp_path / LOCATIONS[request.param]))
    yield b
    b.close()


@pytest.fixture
def filled(backend, encoder):
    """The backend holding the two articles, and their chunk ids by article."""
    res = backend.write([prepare(HIGHWAY, encoder), prepare(TAX, encoder)])
    rows = backend.chunk_rows(res.new_ids)
    ids = {a: [i for i in res.new_ids if rows[i].article_id == a] for a in (HIGHWAY.id, TAX.id)}
    return backend, ids


def test_kinds_under_test_are_known():
    assert {k if isinstance(k, str) else k.values[0] for k in KINDS} <= set(BACKENDS)


def test_write_reports_ids_and_counts(backend, encoder):
    res = backend.write([prepare(HIGHWAY, encoder), prepare(TAX, encoder)])
    n = len(chunk_text(HIGHWAY.text, 40, 0)) + len(chunk_text(TAX.text, 40, 0))
    assert (res.added, res.updated, res.removed) == (2, 0, [])
    assert len(set(res.new_ids)) == n > 2, "several chunks per article, each with its own id"
    assert backend.counts() == {"articles": 2, "chunks": n, "vectors": n}
    assert backend.chunk_count() == n
    assert backend.hashes([HIGHWAY.id, TAX.id, "nope"]) == {HIGHWAY.id: "h1", TAX.id: "h1"}
    assert backend.pipeline_counts() == {"p1": 2}
    assert backend.check() == []


def test_keyword_search_ranks_the_article_holding_the_words(filled):
    backend, ids = filled
    hits = backend.keyword_search(query_terms("周庄镇税收多少"), 10)
    assert hits and hits[0][0] in ids[TAX.id]
    assert all(s > 0 for _, s in hits) and [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)
    assert backend.keyword_search(query_terms("潜水艇"), 10) == []
    df = backend.document_frequencies(["高速公路", "税收", "潜水艇"])
    assert df["高速公路"] >= 2 and df["税收"] == 1 and df["潜水艇"] == 0


def test_dense_search_and_dense_scores_agree_with_the_stored_vectors(filled, encoder):
    backend, ids = filled
    q = encoder.encode_queries(["焦作的高速公路项目计划投资多少钱？"])
    hits = backend.dense_search(q, 50)
    assert hits[0][0] in ids[HIGHWAY.id]
    assert len(hits) == backend.chunk_count(), "every chunk when n exceeds the archive"
    assert [s for _, s in hits] == sorted((s for _, s in hits), reverse=True)
    scores = backend.dense_scores(q, [i for i, _ in hits])
    assert all(abs(scores[i] - s) < 1e-4 for i, s in hits)
    _, _, _, stored = backend.stored_vectors(HIGHWAY.id)
    texts = [passage_text(HIGHWAY.title, c.text, HIGHWAY.text) for c in chunk_text(HIGHWAY.text, 40, 0)]
    assert sorted(float(v @ q.ravel()) for _, v in stored) == pytest.approx(
        sorted(scores[i] for i in ids[HIGHWAY.id]), abs=1e-4)
    assert {t for t, _ in stored} <= {c.text for c in chunk_text(HIGHWAY.text, 40, 0)} and len(stored) == len(texts)


def test_chunk_rows_cite_their_article_and_leave_out_absent_ids(filled):
    backend, ids = filled
    first = ids[HIGHWAY.id][0]
    rows = backend.chunk_rows([first, 987654321])
    assert list(rows) == [first]
    row = rows[first]
    assert row.article_id == HIGHWAY.id and row.text == HIGHWAY.text[row.start : row.end] and row.ordinal == 0
    c = row.citation
    assert (c.article_id, c.title, c.date, c.page, c.source) == (HIGHWAY.id, HIGHWAY.title, "2022-03-05", "03", "焦作日报")


@pytest.mark.parametrize("filters, expect", [
    (Filters(date_from="2022-01-01"), HIGHWAY.id),
    (Filters(date_to="2021-12-01"), TAX.id),  # the end date is inclusive
    (Filters(source="昆山日报"), TAX.id),
    (Filters(page="3"), HIGHWAY.id),  # "3" matches page "03"
    (Filters(page="01"), TAX.id),  # and "01" matches page "1"
])
def test_filters_restrict_both_searches_and_the_listing(filled, encoder, filters, expect):
    backend, ids = filled
    terms = query_terms("高速公路 税收 旅游 投资")
    assert {i for i, _ in backend.keyword_search(terms, 50)} & set(ids[HIGHWAY.id]) and \
        {i for i, _ in backend.keyword_search(terms, 50)} & set(ids[TAX.id]), "unfiltered: both"
    kw = backend.keyword_search(terms, 50, filters)
    dense = backend.dense_search(encoder.encode_queries(["投资和税收"]), 50, filters)
    assert kw and {i for i, _ in kw} <= set(ids[expect])
    assert {i for i, _ in dense} == set(ids[expect])
    assert [a.id for a in backend.articles(filters)] == [expect]


def test_articles_get_and_facets(filled):
    backend, _ = filled
    assert [a.id for a in backend.articles()] == [TAX.id, HIGHWAY.id], "by date"
    got = backend.get(HIGHWAY.id)
    assert (got.title, got.text, got.page, got.metadata) == (HIGHWAY.title, HIGHWAY.text, "03", HIGHWAY.metadata)
    with pytest.raises(NotFoundError):
        backend.get("nope")
    f = backend.facets()
    assert (f["date_min"], f["date_max"]) == ("2021-12-01", "2022-03-05")
    assert set(f["sources"]) == {"焦作日报", "昆山日报"} and set(f["pages"]) == {"03", "1"}
    assert backend.page_article_ids("jz-2022-03-05-03") == [HIGHWAY.id]


def test_a_first_part_replaces_the_stored_article(filled, encoder):
    backend, ids = filled
    new = ArticleRecord(id=HIGHWAY.id, title=HIGHWAY.title, text="焦作市新建一座跨河大桥，预计明年通车。",
                        date=HIGHWAY.date, page=HIGHWAY.page, source=HIGHWAY.source)
    res = backend.write([prepare(new, encoder, "h2")])
    assert (res.added, res.updated) == (0, 1)
    assert sorted(res.removed) == sorted(ids[HIGHWAY.id])
    assert not backend.chunk_rows(ids[HIGHWAY.id]), "the old chunks are gone"
    assert {i for i, _ in backend.keyword_search(query_terms("高速公路"), 10)}.isdisjoint(ids[HIGHWAY.id])
    assert backend.keyword_search(query_terms("跨河大桥"), 10)[0][0] in res.new_ids
    assert backend.hashes([HIGHWAY.id]) == {HIGHWAY.id: "h2"}
    assert backend.get(HIGHWAY.id).text == new.text
    assert backend.check() == []


def test_an_article_in_parts_is_partial_until_its_last_part(backend, encoder):
    n = len(chunk_text(HIGHWAY.text, 40, 0))
    backend.write([prepare(HIGHWAY, encoder, first=True, last=False, chunks=slice(0, 1))])
    assert backend.hashes([HIGHWAY.id]) == {HIGHWAY.id: PARTIAL + "h1"}
    assert [a.id for _, a in backend.articles_not_at("p1", None, 10)] == [HIGHWAY.id], "partial: to redo"
    backend.write([prepare(HIGHWAY, encoder, first=False, last=True, chunks=slice(1, None))])
    assert backend.hashes([HIGHWAY.id]) == {HIGHWAY.id: "h1"}
    assert backend.articles_not_at("p1", None, 10) == []
    assert [a.id for _, a in backend.articles_not_at("p2", None, 10)] == [HIGHWAY.id]
    assert backend.counts()["chunks"] == n and backend.check() == []


def test_remove_many_drops_articles_chunks_and_vectors(filled, encoder):
    backend, ids = filled
    removed = backend.remove_many([TAX.id, "nope"])
    assert sorted(removed) == sorted(ids[TAX.id])
    with pytest.raises(NotFoundError):
        backend.remove_many(["nope"], missing_ok=False)
    assert backend.hashes([TAX.id, HIGHWAY.id]) == {HIGHWAY.id: "h1"}
    assert backend.keyword_search(query_terms("周庄镇税收"), 10) == []
    dense = backend.dense_search(encoder.encode_queries(["周庄镇税收"]), 50)
    assert {i for i, _ in dense} == set(ids[HIGHWAY.id])
    assert backend.counts() == {"articles": 1, "chunks": len(ids[HIGHWAY.id]), "vectors": len(ids[HIGHWAY.id])}
    assert backend.stored_vectors(TAX.id) == ("", "", None, [])
    assert backend.check() == []


def test_meta_and_writing(backend):
    backend.set_meta("chunk_chars", "300")
    assert backend.get_meta("chunk_chars") == "300" and backend.get_meta("nope") is None
    with backend.writing() as held:
        assert held
    assert set(backend.storage_bytes()) >= {"db", "vectors"}


def test_an_unknown_backend_is_refused_with_the_choices(tmp_path):
    from qa import Archive

    for open_it in (lambda: open_backend("elastic", str(tmp_path / "x")),
                    lambda: Archive.open(tmp_path / "x", backend="elastic")):
        with pytest.raises(ValueError, match="unknown index backend 'elastic'; choose one of local, milvus"):
            open_it()
    assert not (tmp_path / "x").exists(), "nothing created"
