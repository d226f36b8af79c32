"""The Archive API end to end: real model, real SQLite, real FAISS, Chinese text."""

from __future__ import annotations

import json
import shutil
import sqlite3

import numpy as np
import pytest

from qa import Archive, ArchiveClosedError, EmptyQueryError, ModelMismatchError, NotFoundError, PipelineMismatchError
from qa.archive import DB_NAME, MAX_ARTICLE_CHARS, VECTORS_NAME
from qa.records import ArticleRecord

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
    for mode in ("keyword", "hybrid", "dense"):
        with pytest.raises(ArchiveClosedError, match="closed"):
            small.search("周庄镇", mode=mode)
    with pytest.raises(ArchiveClosedError):
        small.ask("周庄镇2021年累计完成税收多少？")
    with pytest.raises(ArchiveClosedError):
        small.ingest_records([ArticleRecord(id="x", title="标题", text="正文。")])


def test_caption_is_found_by_a_question_about_the_photo(small):
    hits = small.search("大沙河大桥完成桩基多少根", k=3)
    assert any("桩基43根" in h.text for h in hits)


def test_vectors_match_the_model(small, encoder):
    ids, mat = small.store.vectors(encoder.dim)
    norms = np.linalg.norm(mat, axis=1)
    assert np.allclose(norms, 1.0, atol=1e-3)


# -- integrity: the FAISS file, the in-memory index, pipeline versions ---------------------
def _index_ids(a: Archive) -> list[int]:
    return sorted(a._vector_index().ids().tolist())


def _chunk_ids(a: Archive) -> list[int]:
    return [r[0] for r in a.store.db.execute("SELECT id FROM chunks ORDER BY id")]


@pytest.fixture(scope="module")
def news_archive_dir(tmp_path_factory, encoder):
    """Just the three news records (one chunk each), embedded once for this module."""
    d = tmp_path_factory.mktemp("news")
    src = d / "news.jsonl"
    src.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in NEWS) + "\n", encoding="utf-8")
    with Archive.open(d / "archive") as a:
        assert a.ingest([src]).added == 3
    return d / "archive"


@pytest.fixture
def news(news_archive_dir, tmp_path):
    dst = tmp_path / "news"
    shutil.copytree(news_archive_dir, dst)
    with Archive.open(dst) as a:
        yield a


def test_first_ingest_into_an_empty_archive_indexes_each_chunk_once(tmp_path, encoder):
    src = tmp_path / "news.jsonl"
    src.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in NEWS), encoding="utf-8")
    with Archive.open(tmp_path / "arc") as a:
        a.ingest([src])
        ids = a._vector_index().ids().tolist()
        assert sorted(ids) == _chunk_ids(a), "each chunk once in the in-memory index"
        hits = a.search("总统出席国庆大会", k=10, mode="dense", max_per_article=None)
        assert len({h.chunk_id for h in hits}) == len(hits)


def test_faiss_file_damaged_but_same_size_is_rebuilt(small):
    path = small.path
    expected = [h.chunk_id for h in small.search("周庄镇税收", k=5, mode="dense")]
    small.close()
    f = path / VECTORS_NAME
    data = bytearray(f.read_bytes())
    n = (len(data) - 200) * 9 // 10  # inside the flat index's vectors (99% of the file), clear of its headers and ids
    data[200 : 200 + n] = bytes(n)  # zero most vectors, keep the size
    f.write_bytes(bytes(data))
    with Archive.open(path) as a:
        assert [h.chunk_id for h in a.search("周庄镇税收", k=5, mode="dense")] == expected
    side = json.loads((path / VECTORS_NAME).with_name(VECTORS_NAME + ".json").read_text())
    import hashlib

    assert side["sha256"] == hashlib.sha256(f.read_bytes()).hexdigest()  # rewritten whole


@pytest.mark.parametrize("sidecar", ["null", "[]", "{\"generation\": \"x\"}", ""])
def test_a_sidecar_that_is_not_an_object_rebuilds_instead_of_failing(small, sidecar):
    path = small.path
    expected = [h.chunk_id for h in small.search("周庄镇税收", k=5, mode="dense")]
    small.close()
    (path / (VECTORS_NAME + ".json")).write_text(sidecar)
    for _ in range(2):  # and the rebuilt files open cleanly
        with Archive.open(path) as a:
            assert [h.chunk_id for h in a.search("周庄镇税收", k=5, mode="dense")] == expected
            assert _index_ids(a) == _chunk_ids(a)


def test_stale_sidecar_generation_is_brought_up_to_date(small):
    """A file saved before later writes (a crash before the save) is not trusted as is:
    the ids the store has since removed or added are applied."""
    path = small.path
    small.close()
    saved = (path / VECTORS_NAME).read_bytes(), (path / (VECTORS_NAME + ".json")).read_text()
    with Archive.open(path) as a:
        a.remove("n2")
    (path / VECTORS_NAME).write_bytes(saved[0])
    (path / (VECTORS_NAME + ".json")).write_text(saved[1])
    with Archive.open(path) as a:
        assert _index_ids(a) == _chunk_ids(a)
        assert all(h.article_id != "n2" for h in a.search("总统出席国庆大会", k=10, mode="dense"))


def test_page_with_fewer_articles_loses_the_extra_ones(small, tmp_path):
    page_dir = tmp_path / "jiaozuo_daily"
    shutil.copytree(SEED.parent, page_dir)
    page = page_dir / SEED.name
    lines = page.read_text(encoding="utf-8").splitlines()
    second = next(i for i, line in enumerate(lines) if "由“两横三纵”" in line)
    before = {a.id for a in small.articles()}
    assert {"焦作日报-nodate-jiaozuo-daily-page-02", "焦作日报-nodate-jiaozuo-daily-page-02-photo-1"} <= before
    page.write_text("\n".join(lines[:second]) + "\n", encoding="utf-8")
    report = small.ingest([page])
    after = {a.id for a in small.articles()}
    gone = before - after
    assert gone and all(i.startswith("焦作日报-nodate-jiaozuo-daily-page-02") for i in gone)
    assert report.removed == len(gone) and "removed" in report.summary()
    assert "焦作日报-nodate-jiaozuo-daily-page-01" in after and {"n1", "n2", "n3"} <= after
    assert _index_ids(small) == _chunk_ids(small)
    assert all("高速公路" not in h.citation.title for h in small.search("高速公路提质扩容", k=10))


def test_other_chunk_settings_on_an_existing_archive_are_refused_with_a_way_out(news):
    path = news.path
    news.close()
    with pytest.raises(PipelineMismatchError, match="qa reindex"):
        Archive.open(path, chunk_chars=40)
    with pytest.raises(PipelineMismatchError):
        Archive.open(path, overlap_sentences=0)
    with Archive.open(path, chunk_chars=300, overlap_sentences=1) as a:  # the same settings are fine
        assert a.chunk_chars == 300


def test_reindex_with_new_chunk_settings_rechunks_everything(news):
    before = news.info()
    report = news.reindex(chunk_chars=40, overlap_sentences=0)
    info = news.info()
    assert report.updated == 3 and (info.chunk_chars, info.overlap_sentences) == (40, 0)
    assert info.chunks > before.chunks and info.vectors == info.chunks and info.articles_to_reindex == 0
    assert _index_ids(news) == _chunk_ids(news)
    assert news.search("访问团共有25人", k=1, mode="keyword")[0].article_id == "n3"
    assert news.reindex().updated == 0  # nothing left to do


def test_older_pipeline_is_reported_and_reindex_reuses_unchanged_vectors(news, caplog):
    """An archive indexed by an older pipeline (here: before versions were recorded) is
    named on open; `reindex` redoes it and re-embeds nothing whose text is unchanged."""
    import logging

    path = news.path
    vectors_before = {r[0]: r[1] for r in news.store.db.execute(
        "SELECT a.id, c.vector FROM chunks c JOIN articles a ON a.rowid = c.article_rowid")}
    news.close()
    con = sqlite3.connect(path / DB_NAME)
    con.execute("UPDATE articles SET pipeline = NULL, content_hash = 'legacy'")
    con.commit()
    con.close()
    caplog.set_level(logging.INFO, logger="qa.archive")
    with Archive.open(path) as a:
        assert "3 of 3 articles" in caplog.text and "qa reindex" in caplog.text
        assert a.info().articles_to_reindex == 3
        caplog.clear()
        report = a.reindex()
        assert report.updated == 3 and "embedded 0 chunks, reused" in caplog.text
        assert a.info().articles_to_reindex == 0
        after = {r[0]: r[1] for r in a.store.db.execute(
            "SELECT a.id, c.vector FROM chunks c JOIN articles a ON a.rowid = c.article_rowid")}
        assert after == vectors_before
        assert _index_ids(a) == _chunk_ids(a)


def test_content_hash_and_eval_cache_key_include_the_pipeline(tmp_path):
    from qa.archive import DEFAULT_CHUNK_CHARS, DEFAULT_OVERLAP, content_hash
    from qa.eval import corpus_archive_dir
    from qa.pipeline import pipeline_id, pipeline_spec

    rec = ArticleRecord(id="x", title="标题", text="正文。")
    assert content_hash(rec, "p1") != content_hash(rec, "p2")
    corpus = tmp_path / "c.jsonl"
    corpus.write_text('{"id": "x", "text": "正文。"}\n', encoding="utf-8")
    pid = pipeline_id(pipeline_spec(DEFAULT_CHUNK_CHARS, DEFAULT_OVERLAP))
    assert pid in corpus_archive_dir(corpus, root=tmp_path).name
    # the built-in model's two backends never share a cached eval archive
    from qa.embeddings.encoder import builtin_model_id

    by_spec = {s: corpus_archive_dir(corpus, s, root=tmp_path) for s in (None, "default@fp32", "default@int8")}
    assert by_spec["default@fp32"] != by_spec["default@int8"]
    assert by_spec[None] == by_spec["default@int8" if builtin_model_id(None).endswith("int8") else "default@fp32"]


def test_pipeline_fingerprint_is_pinned():
    """If this fails, chunking, normalisation/segmentation or the passage text changed
    their output: bump the matching version in qa/pipeline.py (so archives indexed by the
    old code are reported and `qa reindex` redoes them), then update the fingerprint."""
    import hashlib

    from qa.archive import passage_text
    from qa.chunk import chunk_text
    from qa.ingest import derive_title
    from qa.pipeline import CHUNKER_VERSION, NORMALIZER_VERSION, PASSAGE_TEXT_VERSION
    from qa.textnorm import segment

    probe = ("周庄镇2021年累计完成税收1334万元，占任务数的150.7%。“今年怎么干？”他说：“继续干！”\n"
             "總統今天上午接見旅居泰國僑胞代表。訪問團共有２５人；ＡＢＣ公司也参加了。") * 3
    chunks = [(c.start, c.end) for c in chunk_text(probe, 60, 1)]
    got = {
        "chunker": (CHUNKER_VERSION, hashlib.sha256(repr(chunks).encode()).hexdigest()[:12]),
        "normalizer": (NORMALIZER_VERSION, hashlib.sha256(" ".join(segment(probe)).encode()).hexdigest()[:12]),
        "passage_text": (PASSAGE_TEXT_VERSION, hashlib.sha256(repr([
            passage_text("标题", "正文"),
            passage_text(derive_title(probe), probe[:40], probe),  # an untitled record's derived title
        ]).encode()).hexdigest()[:12]),
    }
    assert got == FINGERPRINT


# (version, fingerprint of the output at that version): update both together
FINGERPRINT = {"chunker": (1, "c799ac3bd836"), "normalizer": (1, "ad1415b960a4"), "passage_text": (2, "a53ac29acbfb")}


def test_too_long_article_is_refused_by_name_and_the_rest_goes_in(news):
    huge = ArticleRecord(id="huge", title="整版", text="很长的一行没有分段" * (MAX_ARTICLE_CHARS // 9 + 1),
                         source_file="page.txt")
    ok = ArticleRecord(id="ok", title="新文章", text="焦作市今年新建公园三座。")
    report = news.ingest_records([huge, ok])
    assert report.added == 1 and len(report.failed) == 1
    msg = str(report.failed[0])
    assert msg.startswith("page.txt: ") and "'huge'" in msg and "too long" in msg and f"{MAX_ARTICLE_CHARS:,}" in msg
    with pytest.raises(NotFoundError):
        news.get("huge")


def test_a_long_article_is_written_across_batches(news):
    text = "".join(f"焦作市第{i}个项目今年完成投资{i}亿元，建设进度超过预期。" for i in range(120))
    rec = ArticleRecord(id="long", title="项目建设", text=text)
    gen = news.store.generation
    report = news.ingest_records([rec], batch_chunks=4)
    assert report.added == 1 and report.chunks >= 9
    assert news.store.generation - gen >= 3, "one commit per batch of 4 chunks"
    assert not news.store.hashes(["long"])["long"].startswith("partial:")
    assert _index_ids(news) == _chunk_ids(news)
    assert news.search("第17个项目", k=1, mode="keyword")[0].article_id == "long"
    assert news.ingest_records([rec], batch_chunks=4).unchanged == 1


def test_an_untitled_article_updated_re_embeds_only_its_changed_chunks(news, caplog):
    """Untitled text is indexed without its derived title; the vectors a new version can
    reuse must be keyed the same way, or every chunk is embedded again."""
    import logging
    import re

    sentences = [f"焦作市第{i}批城市更新项目今年完成投资{i}亿元，涉及老旧小区改造、道路提升和公园建设等多个方面的内容。"
                 for i in range(1, 25)]
    first = ArticleRecord(id="untitled", title="", text="".join(sentences))
    news.ingest_records([first])
    n_chunks = news.store.db.execute(
        "SELECT count(*) FROM chunks c JOIN articles a ON a.rowid = c.article_rowid WHERE a.id = 'untitled'").fetchone()[0]
    assert n_chunks >= 3
    caplog.set_level(logging.INFO, logger="qa.archive")
    caplog.clear()
    changed = ArticleRecord(id="untitled", title="", text="".join(sentences[:-1]) + "焦作市今年新建口袋公园十二座。")
    assert news.ingest_records([changed]).updated == 1
    logged = re.search(r"embedded (\d+) chunks, reused (\d+)", caplog.text)  # logged only when some are reused
    assert logged, f"nothing reused of {n_chunks} chunks"
    embedded, reused = map(int, logged.groups())
    assert reused >= n_chunks - 2 and embedded <= 2, caplog.text
    assert news.search("口袋公园十二座", k=1)[0].article_id == "untitled"


def test_a_reader_catching_up_with_another_writer_does_not_rewrite_the_index_file(news):
    """The chat app (a reader) brings its index up to date after another process's ingest;
    saving is the writer's job: rewriting the whole FAISS file on a question's path, once
    per foreign batch, costs seconds on a large archive."""
    assert news.search("访问团", k=1)  # the reader's index is loaded
    with Archive.open(news.path) as writer:
        writer.ingest_records([ArticleRecord(id="n9", title="新公园开放", text="焦作市龙源湖公园今天重新开放，新增步道三公里。")])
    before = (news.path / VECTORS_NAME).stat()
    assert news.search("龙源湖公园步道", k=1)[0].article_id == "n9"  # caught up
    after = (news.path / VECTORS_NAME).stat()
    assert (after.st_ino, after.st_mtime_ns) == (before.st_ino, before.st_mtime_ns)
