"""The bundled sample archive: shipped precomputed, current, and answering."""

from __future__ import annotations

from qa.ingest import read_inputs
from qa.records import ArticleRecord
from qa.sample import PREBUILT, SAMPLE_DATA, prebuilt_model_id


def test_shipped_sample_archive_matches_the_default_model():
    from qa.embeddings import DEFAULT_MODEL_ID

    assert (PREBUILT / "archive.db").exists(), "run scripts/build_sample_archive.py"
    assert prebuilt_model_id() == DEFAULT_MODEL_ID


def test_shipped_sample_archive_is_current(sample_archive):
    """Re-ingesting the sample into the shipped index changes nothing; if this fails,
    the sample, the page parser or chunking changed: run scripts/build_sample_archive.py."""
    report = sample_archive.ingest([SAMPLE_DATA])
    assert (report.added, report.updated, report.failed) == (0, 0, [])
    ids = {r.id for r in read_inputs([SAMPLE_DATA]) if isinstance(r, ArticleRecord)}
    assert {a.id for a in sample_archive.articles()} == ids
    info = sample_archive.info()
    assert info.vectors == info.chunks


def test_sample_answers_a_question_about_the_seed_page(sample_archive_ro):
    ans = sample_archive_ro.ask("周庄镇2021年累计完成税收多少？")
    assert ans.found and "1334万元" in ans.best.highlight
    assert ans.best.citation.byline == "本报记者 梁智玲"


def test_sample_answers_in_traditional_and_simplified(sample_archive_ro):
    for q in ("李登輝總統接見旅居泰國僑胞代表時說了什麼？", "李登辉总统接见旅居泰国侨胞代表时说了什么？"):
        ans = sample_archive_ro.ask(q)
        assert ans.found and "泰國" in ans.best.citation.title
