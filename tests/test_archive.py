"""The Archive API end to end: real model, real SQLite, real FAISS, Chinese text."""

from __future__ import annotations

import json
import shutil
import sqlite3

import numpy as np
import pytest

from qa import Archive, EmptyQueryError, ModelMismatchError, NotFoundError
from qa.archive import DB_NAME, VECTORS_NAME

from conftest import NEWS, SEED


@pytest.fixture
def small(small_archive_dir, tmp_path):
    dst = tmp_path / "archive"
    shutil.copytree(small_archive_dir, dst)
    with Archive.open(dst) as a:
        yield a


def test_ask_finds_the_tax_figure_with_citation_and_highlight(small):
    ans = small.ask("周庄镇2021年累计完成税收多少？")
    assert ans.found
    best = ans.best
    assert "1334万元" in best.text
    assert "1334万元" in best.highlight
    s, e = best.highlights[0]
    assert best.text[s:e] == best.highlight
    assert "一池春水" in best.citation.title
    assert best.citation.byline == "本报记者 梁智玲"
    assert best.citation.source == "焦作日报"
    article = small.get(best.citation.article_id)
    assert article.text[best.start : best.end] == best.text


def test_ask_cites_each_stretch_of_an_article_once(small):
    """Chunks overlap by a sentence; overlapping hits of one article become one passage,
    and ask still returns k passages (shown and possibly related) when there are enough."""
    hits = small.search("周庄镇2021年累计完成税收多少？", k=6)
    assert any(a.article_id == b.article_id and a.start < b.end and b.start < a.end
               for i, a in enumerate(hits) for b in hits[i + 1 :]), "the case this test is about"
    ans = small.ask("周庄镇2021年累计完成税收多少？", k=3)
    every = ans.passages + ans.related
    assert len(every) == 3
    for i, a in enumerate(every):
        for b in every[i + 1 :]:
            if a.citation.article_id == b.citation.article_id:
                assert a.end < b.start or b.end < a.start, "overlapping passages of one article"
        assert small.get(a.citation.article_id).text[a.start : a.end] == a.text


def test_unrelated_question_is_not_answered(small):
    ans = small.ask("火星探测器什么时候着陆？")
    assert not ans.found and not ans.passages and "没有找到" in ans.message


def test_empty_or_punctuation_only_query(small):
    assert not small.ask("？？！").found
    assert "空" in small.ask("   ").message
    with pytest.raises(EmptyQueryError):
        small.search("。。。")


@pytest.mark.parametrize("mode", ["hybrid", "dense", "keyword"])
def test_every_mode_finds_the_highway_article(small, mode):
    hits = small.search("今年计划完成投资多少亿元的高速公路项目", k=3, mode=mode)
    assert hits and "高速公路" in hits[0].citation.title
    assert all(h.score >= hits[-1].score for h in hits)


def test_simplified_query_finds_traditional_text_and_full_width_digits(small):
    hits = small.search("旅居泰国侨胞", k=3, mode="keyword")
    assert hits and hits[0].article_id == "n1"
    hits = small.search("访问团共有25人", k=3, mode="keyword")
    assert hits and hits[0].article_id == "n3"
    hits = small.search("總統出席國慶大會", k=3, mode="keyword")
    assert hits and hits[0].article_id == "n2"


def test_filters_by_date_source_and_page(small):
    hits = small.search("总统", k=10, date_from="2000-01-01")
    assert {h.article_id for h in hits} <= {"n2", "n3"} and hits
    hits = small.search("总统", k=10, date_to="1999-12-31", mode="dense")
    assert [h.article_id for h in hits] == ["n1"]
    hits = small.search("总统", k=10, source="外交部新聞稿", mode="keyword")
    assert [h.article_id for h in hits] == ["n3"]
    hits = small.search("总统", k=10, page="01", mode="keyword")
    assert {h.article_id for h in hits} == {"n2", "n3"}


def test_at_most_two_chunks_per_article_unless_asked(small):
    hits = small.search("周庄镇 党建", k=10)
    per = {}
    for h in hits:
        per[h.article_id] = per.get(h.article_id, 0) + 1
    assert max(per.values()) <= 2
    many = small.search("周庄镇 党建", k=10, max_per_article=None)
    assert max(sum(1 for h in many if h.article_id == a) for a in per) > 2


def test_reingest_unchanged_is_a_noop_and_changed_replaces_chunks(small, tmp_path):
    before = small.info()
    rep = small.ingest([SEED])
    assert (rep.added, rep.updated, rep.unchanged, rep.chunks) == (0, 0, 10, 0)
    src = tmp_path / "n.jsonl"
    changed = dict(NEWS[1], text=NEWS[1]["text"] + "典礼结束后总统与民众合影留念。")
    src.write_text(json.dumps(changed, ensure_ascii=False) + "\n", encoding="utf-8")
    rep = small.ingest([src])
    assert (rep.added, rep.updated) == (0, 1)
    assert small.info().articles == before.articles
    assert "合影留念" in small.get("n2").text
    hits = small.search("与民众合影留念", k=1, mode="keyword")
    assert hits[0].article_id == "n2"
    n = small.remove("n2")
    assert n >= 1
    with pytest.raises(NotFoundError):
        small.get("n2")
    assert all(h.article_id != "n2" for h in small.search("国庆大会", k=10))


def test_ingest_report_names_bad_inputs_and_keeps_the_rest(small, tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "ok", "title": "新文章", "text": "一篇新的文章。"}\n{oops\n', encoding="utf-8")
    empty = tmp_path / "empty.txt"
    empty.write_text("")
    rep = small.ingest([bad, empty, tmp_path / "missing.txt"])
    assert rep.added == 1
    reasons = [str(f) for f in rep.failed]
    assert any(r.startswith(f"{bad}:2: invalid JSON") for r in reasons)
    assert any(str(empty) in r for r in reasons)
    assert any("missing.txt" in r for r in reasons)
    assert small.get("ok").title == "新文章"


def test_interrupted_ingest_keeps_committed_batches_and_resumes(tmp_path, encoder):
    src = tmp_path / "many.jsonl"
    recs = [{"id": f"m{i}", "title": f"第{i}篇", "text": f"这是第{i}篇测试文章，讲述焦作市第{i}个项目的建设进度。"} for i in range(12)]
    src.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in recs), encoding="utf-8")
    calls = []

    def stop_after_first_batch(done, total):
        calls.append(done)
        if done > 0:
            raise KeyboardInterrupt

    a = Archive.open(tmp_path / "arc")
    records = [r for r in __import__("qa.ingest", fromlist=["read_inputs"]).read_inputs([src])]
    with pytest.raises(KeyboardInterrupt):
        a.ingest_records(records, progress=stop_after_first_batch, batch_chunks=4)
    a.close()
    with Archive.open(tmp_path / "arc") as a:
        committed = a.info().articles
        assert 0 < committed < 12
        assert a.search("项目的建设进度", k=3)  # readable, searchable
        rep = a.ingest([src])
        assert rep.unchanged == committed and rep.added == 12 - committed
        assert a.info().vectors == a.info().chunks


def test_faiss_file_missing_stale_or_corrupt_is_rebuilt(small):
    path = small.path
    expected = [h.chunk_id for h in small.search("周庄镇税收", k=5, mode="dense")]
    small.close()
    (path / VECTORS_NAME).write_bytes(b"garbage")
    with Archive.open(path) as a:
        assert [h.chunk_id for h in a.search("周庄镇税收", k=5, mode="dense")] == expected
    (path / VECTORS_NAME).unlink()
    with Archive.open(path) as a:
        assert [h.chunk_id for h in a.search("周庄镇税收", k=5, mode="dense")] == expected
    assert (path / VECTORS_NAME).exists()


def test_chunks_without_vectors_are_embedded_on_open(small):
    path = small.path
    small.close()
    con = sqlite3.connect(path / DB_NAME)
    con.execute("UPDATE chunks SET vector = NULL WHERE id IN (SELECT id FROM chunks LIMIT 3)")
    con.commit()
    con.close()
    with Archive.open(path) as a:
        hits = a.search("周庄镇税收", k=3, mode="dense")
        assert hits
        info = a.info()
        assert info.vectors == info.chunks


def test_another_model_is_refused_with_a_way_out(small, encoder):
    from qa.embeddings import materialise_default_model

    path = small.path
    small.close()
    local = str(materialise_default_model())  # same weights, but a local path: another model id
    with pytest.raises(ModelMismatchError, match="reembed"):
        Archive.open(path, model=local)


def test_articles_and_info(small):
    arts = list(small.articles())
    assert len(arts) == 13
    assert [a.date for a in arts if a.date] == sorted(a.date for a in arts if a.date)
    captions = [a for a in arts if a.metadata.get("kind") == "caption"]
    assert any("吉亚南" in (a.byline or "") for a in captions)
    info = small.info()
    assert info.model_id.startswith("intfloat/multilingual-e5-small")
    assert info.dim == 384 and info.vectors == info.chunks > 20
    assert info.date_min == "1992-01-14" and info.date_max == "2023-05-20"


def test_closed_archive_fails_clearly(small):
    small.close()
    with pytest.raises(Exception, match="closed"):
        small.search("周庄镇")


def test_caption_is_found_by_a_question_about_the_photo(small):
    hits = small.search("大沙河大桥完成桩基多少根", k=3)
    assert any("桩基43根" in h.text for h in hits)


def test_vectors_match_the_model(small, encoder):
    ids, mat = small.store.vectors(encoder.dim)
    norms = np.linalg.norm(mat, axis=1)
    assert np.allclose(norms, 1.0, atol=1e-3)
