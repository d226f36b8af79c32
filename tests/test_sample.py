"""The bundled sample archive: shipped precomputed, current, and answering."""

from __future__ import annotations

import shutil
import sqlite3
from pathlib import Path

from qa.ingest import read_inputs
from qa.records import ArticleRecord
from qa.sample import PREBUILT, SAMPLE_DATA, prebuilt_model_id


def test_shipped_sample_archive_matches_the_default_model():
    from qa.embeddings import DEFAULT_MODEL_ID

    assert (PREBUILT / "archive.db").exists(), "run scripts/build_sample_archive.py"
    assert prebuilt_model_id() == DEFAULT_MODEL_ID


def _expected_hashes(chunk_chars: int, overlap: int) -> tuple[dict[str, str], str | None]:
    """{article id: content hash} the current code gives the sample, computed the way
    `Archive.ingest` does (same readers, same checks, same `content_hash`), and the
    pipeline id when the code records one."""
    from qa.archive import content_hash
    from qa.ingest import check_records, with_defaults

    records, failed = check_records(with_defaults(r) for r in read_inputs([SAMPLE_DATA]) if isinstance(r, ArticleRecord))
    assert not failed, failed
    try:
        from qa.pipeline import pipeline_id, pipeline_spec
    except ImportError:  # before pipeline versions: chunk settings go into the hash directly
        return {r.id: content_hash(r, chunk_chars, overlap) for r in records}, None
    pid = pipeline_id(pipeline_spec(chunk_chars, overlap))
    return {r.id: content_hash(r, pid) for r in records}, pid


def stale_articles(db: Path) -> list[str]:
    """Why the index in `db` (opened read-only, immutable: the files stay as shipped) is not
    what the current sample and code produce; empty when it is current."""
    con = sqlite3.connect(f"file:{db}?mode=ro&immutable=1", uri=True)
    try:
        meta = dict(con.execute("SELECT key, value FROM meta").fetchall())
        stored = dict(con.execute("SELECT id, content_hash FROM articles").fetchall())
        chunks, vectors = con.execute("SELECT count(*), count(vector) FROM chunks").fetchone()
        columns = {row[1] for row in con.execute("PRAGMA table_info(articles)")}
        pipelines = {p for (p,) in con.execute("SELECT DISTINCT pipeline FROM articles")} if "pipeline" in columns else None
    finally:
        con.close()
    expected, pid = _expected_hashes(int(meta["chunk_chars"]), int(meta["overlap_sentences"]))
    problems = [f"missing article {i}" for i in sorted(expected.keys() - stored.keys())]
    problems += [f"extra article {i}" for i in sorted(stored.keys() - expected.keys())]
    problems += [f"changed article {i}" for i in sorted(expected.keys() & stored.keys()) if expected[i] != stored[i]]
    if vectors != chunks:
        problems.append(f"{chunks - vectors} of {chunks} chunks have no vector")
    if pid is not None and pipelines != {pid}:
        problems.append(f"indexed by pipeline(s) {sorted(map(str, pipelines or []))}, the code's is {pid}")
    return problems


def test_shipped_sample_index_is_current_as_shipped():
    """The shipped files themselves, not a re-ingested copy: if this fails, the sample, the
    readers, chunking or the pipeline changed: run scripts/build_sample_archive.py."""
    assert (PREBUILT / "vectors.faiss").exists()
    problems = stale_articles(PREBUILT / "archive.db")
    assert not problems, f"{len(problems)} problems, e.g. {problems[:5]}: run scripts/build_sample_archive.py"


def test_a_stale_shipped_index_is_noticed(tmp_path):
    """The check above can fail: one changed hash, one missing row, one unembedded chunk."""
    db = tmp_path / "archive.db"
    shutil.copyfile(PREBUILT / "archive.db", db)
    con = sqlite3.connect(db)
    with con:
        a, b = [i for (i,) in con.execute("SELECT id FROM articles ORDER BY id LIMIT 2")]
        con.execute("UPDATE articles SET content_hash = 'stale' WHERE id = ?", (a,))
        con.execute("DELETE FROM articles WHERE id = ?", (b,))
        con.execute("UPDATE chunks SET vector = NULL WHERE id = (SELECT min(id) FROM chunks)")
    con.close()
    problems = stale_articles(db)
    assert f"changed article {a}" in problems and f"missing article {b}" in problems
    assert "1 of" in " ".join(problems)


def test_sample_answers_a_question_about_the_seed_page(sample_archive_ro):
    ans = sample_archive_ro.ask("周庄镇2021年累计完成税收多少？")
    assert ans.found and "1334万元" in ans.best.highlight
    assert ans.best.citation.byline == "本报记者 梁智玲"


def test_sample_answers_in_traditional_and_simplified(sample_archive_ro):
    for q in ("李登輝總統接見旅居泰國僑胞代表時說了什麼？", "李登辉总统接见旅居泰国侨胞代表时说了什么？"):
        ans = sample_archive_ro.ask(q)
        assert ans.found and "泰國" in ans.best.citation.title
