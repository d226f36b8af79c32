"""The `Archive` API on each index backend (`archive_kind`: local, milvus-lite): the same
Chinese articles and vectors, so retrieval, answers and highlights must agree; what
differs is only where the index lives."""

from __future__ import annotations

import json

import pytest

from qa import Archive

from conftest import NEWS, copy_to_milvus, milvus_available

QUESTION = "周庄镇2021年完成税收多少？"


@pytest.mark.parametrize("mode", ["hybrid", "dense", "keyword"])
def test_search_finds_the_seed_article_in_every_mode(archive_kind, mode):
    kind, archive = archive_kind
    hits = archive.search("周庄镇税收", k=5, mode=mode)
    assert hits, kind
    assert "梁智玲" in (hits[0].citation.byline or ""), (kind, hits[0].citation)
    assert "1334万元" in " ".join(h.text for h in hits[:3]), kind


@pytest.mark.parametrize("mode", ["hybrid", "dense", "keyword"])
def test_filters_hold_on_every_backend(archive_kind, mode):
    kind, archive = archive_kind
    by_source = archive.search("总统", k=10, mode=mode, source="總統府新聞稿")
    assert by_source and {h.citation.source for h in by_source} == {"總統府新聞稿"}, kind
    dated = archive.search("总统", k=10, mode=mode, date_from="2000-01-01")
    assert dated and all(h.citation.date and h.citation.date >= "2000-01-01" for h in dated), kind
    assert "n1" not in {h.article_id for h in dated}  # 1992
    page1 = archive.search("总统", k=10, mode=mode, page="1", source="總統府新聞稿")
    assert {h.article_id for h in page1} == {"n2"}, kind


def test_ask_gives_the_same_answer_on_both_backends(archive_kind, small_archive_dir):
    kind, archive = archive_kind
    ans = archive.ask(QUESTION)
    assert ans.found and ans.short_answer and "1334万元" in ans.short_answer, (kind, ans.short_answer)
    with Archive.open(small_archive_dir, create=False) as local:
        ref = local.ask(QUESTION)
    assert (ans.best.citation, ans.best.text) == (ref.best.citation, ref.best.text)
    assert ans.best.highlight == ref.best.highlight and ans.short_answer == ref.short_answer
    assert [p.citation.article_id for p in ans.passages] == [p.citation.article_id for p in ref.passages]


@pytest.mark.skipif(not milvus_available(), reason="the milvus extra is not installed")
def test_remove_and_unchanged_reingest_on_milvus(small_archive_dir, tmp_path):
    news = small_archive_dir.parent / "news.jsonl"
    uri = tmp_path / "a.db"
    copy_to_milvus(small_archive_dir, uri, [news])
    with Archive.open(None, backend="milvus", uri=str(uri)) as a:
        again = a.ingest([news])
        assert (again.added, again.updated, again.unchanged) == (0, 0, len(NEWS))  # content hashes: a no-op
        assert a.remove("n2") > 0
        assert "n2" not in {h.article_id for h in a.search("国庆大会", k=10)}
        assert a.info().articles == len(NEWS) - 1
        back = a.ingest([news])
        assert (back.added, back.unchanged) == (1, len(NEWS) - 1)
        assert a.search("国庆大会", k=1)[0].article_id == "n2"
        assert a.backend.check(full=True) == []


@pytest.mark.skipif(not milvus_available(), reason="the milvus extra is not installed")
def test_corpus_archive_on_milvus_reuses_the_local_one_s_vectors(tmp_path, caplog):
    import logging

    from qa.eval import corpus_archive_dir, corpus_archive_uri, open_corpus_archive

    corpus = tmp_path / "news.jsonl"
    corpus.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in NEWS) + "\n", encoding="utf-8")
    with open_corpus_archive(corpus, root=tmp_path) as local:
        assert local.path == corpus_archive_dir(corpus, root=tmp_path)
    uri = corpus_archive_uri(corpus, root=tmp_path, backend="milvus")
    assert uri.endswith("-milvus.db") and uri.startswith(str(corpus_archive_dir(corpus, root=tmp_path)))
    with caplog.at_level(logging.INFO, logger="qa.archive"):
        with open_corpus_archive(corpus, root=tmp_path, backend="milvus") as m:
            assert m.backend.kind == "milvus" and m.info().articles == len(NEWS)
    assert any("embedded 0 chunks" in r.getMessage() for r in caplog.records), caplog.text
