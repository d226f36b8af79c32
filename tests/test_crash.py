"""Real processes on one archive: kill -9 at named steps, two writers, a reader and a writer.

A subprocess runs the real CLI (or a few lines of the API, as the web upload does) with
`QA_CRASH_AT=<step>` (see `qa.crashpoints`), which SIGKILLs it there. The test process then
reopens the archive and checks that nothing was lost, duplicated or orphaned, that the
FAISS ids equal the chunk ids (in memory and in the saved file), that SQLite's
`integrity_check` and FTS5's own check pass, and that search works.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from qa import Archive
from qa.archive import DB_NAME, VECTORS_NAME
from qa.records import ArticleRecord
from qa.vectors import VectorIndex

from conftest import NEWS

ROOT = Path(__file__).resolve().parents[1]
NEW = [
    {"id": "n4", "title": "焦作新建三座城市公园", "date": "2023-06-01", "source": "焦作日报",
     "text": "焦作市今年新建龙源湖、人民、丰收三座城市公园，总面积达到一百二十公顷，年底前全部对市民开放。"},
    {"id": "n5", "title": "南水北调焦作段水质达标", "date": "2023-06-02", "source": "焦作日报",
     "text": "南水北调中线工程焦作段水质连续五年保持二类以上标准，沿线绿化带建设全面完成。"},
]


def env(crash: str | None = None) -> dict[str, str]:
    e = dict(os.environ, PYTHONPATH=str(ROOT), HF_HUB_OFFLINE="1", TRANSFORMERS_OFFLINE="1")
    e.pop("QA_CRASH_AT", None)
    if crash:
        e["QA_CRASH_AT"] = crash
    return e


def qa(*args: str, crash: str | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "qa.cli", *args], env=env(crash), capture_output=True,
                          text=True, timeout=timeout)


def python(code: str, crash: str | None = None, timeout: float = 600) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], env=env(crash), capture_output=True, text=True,
                          timeout=timeout)


def killed(p: subprocess.CompletedProcess) -> bool:
    return p.returncode == -signal.SIGKILL


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records) + "\n", encoding="utf-8")
    return path


@pytest.fixture
def arc(small_archive_dir, tmp_path) -> Path:
    dst = tmp_path / "archive"
    shutil.copytree(small_archive_dir, dst)
    return dst


def assert_intact(path: Path, query: str = "焦作 项目") -> set[str]:
    """The checks every crash test ends with; returns the article ids."""
    con = sqlite3.connect(path / DB_NAME)
    try:
        assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
        con.execute("INSERT INTO chunk_terms(chunk_terms, rank) VALUES ('integrity-check', 0)")
    finally:
        con.close()
    with Archive.open(path) as a:
        assert a.store.consistency_problems() == []
        chunk_ids = [r[0] for r in a.store.db.execute("SELECT id FROM chunks ORDER BY id")]
        index_ids = a._vector_index().ids().tolist()
        assert sorted(index_ids) == chunk_ids, "FAISS ids == chunk ids"
        assert a.info().vectors == a.info().chunks
        assert a.search(query, k=3, mode="hybrid")
        ids = {x.id for x in a.articles()}
        gen, dim, model = a.store.generation, a.info().dim, a.info().model_id
        epoch = a.store.vector_epoch
    loaded = VectorIndex.load(path / VECTORS_NAME, dim, model, epoch)
    assert loaded is not None and loaded.generation == gen, "the saved file is current after reopening"
    assert sorted(loaded.index.ids().tolist()) == chunk_ids
    return ids


# -- kill -9 at named steps ---------------------------------------------------------------
def test_kill_between_the_sqlite_commit_and_the_faiss_save(arc, tmp_path):
    src = write_jsonl(tmp_path / "new.jsonl", NEW)
    p = qa("ingest", str(src), "--archive", str(arc), crash="after-commit")
    assert killed(p), p.stderr
    ids = assert_intact(arc, "城市公园")
    assert {"n4", "n5"} <= ids  # the committed batch is kept
    p = qa("ingest", str(src), "--archive", str(arc))
    assert p.returncode == 0 and "added 0, updated 0, unchanged 2" in p.stdout, p.stdout + p.stderr
    assert assert_intact(arc) == ids


def test_kill_between_writing_the_faiss_file_and_its_sidecar(arc, tmp_path):
    src = write_jsonl(tmp_path / "new.jsonl", NEW)
    p = qa("ingest", str(src), "--archive", str(arc), crash="vectors-file-written")
    assert killed(p), p.stderr
    with Archive.open(arc) as a:
        info = a.info()
        assert VectorIndex.load(arc / VECTORS_NAME, info.dim, info.model_id, a.store.vector_epoch) is None, \
            "file and sidecar from different saves must not load"
    assert {"n4", "n5"} <= assert_intact(arc, "南水北调")


@pytest.mark.parametrize("step", ["reembed-cleared", "reembed-batch"])
def test_kill_during_reembed(arc, step):
    with Archive.open(arc) as a:
        before = {x.id for x in a.articles()}
        n_chunks = a.info().chunks
    p = qa("reembed", "--archive", str(arc), crash=step)
    assert killed(p), p.stderr
    con = sqlite3.connect(arc / DB_NAME)
    missing = con.execute("SELECT count(*) FROM chunks WHERE vector IS NULL").fetchone()[0]
    con.close()
    assert missing == (n_chunks if step == "reembed-cleared" else 0)
    assert assert_intact(arc, "周庄镇税收") == before  # opening embeds what the kill left out


def test_kill_during_an_upload_ingest(arc, tmp_path):
    """The web upload path: `store_uploads` copies into <archive>/uploads, then ingest."""
    src = write_jsonl(tmp_path / "upload.jsonl", NEW)
    code = (
        "import sys; from qa import Archive; from qa.uploads import store_uploads\n"
        f"stored, failed = store_uploads([{str(src)!r}], {str(arc)!r}, 10**7, names=['新闻稿.jsonl'])\n"
        "assert stored and not failed\n"
        f"with Archive.open({str(arc)!r}) as a:\n"
        "    print(a.ingest(stored).summary())\n"
    )
    p = python(code, crash="after-commit")
    assert killed(p), p.stderr
    # no temp files left: only the upload itself, under its content key (qa.uploads)
    assert [x.name for x in (arc / "uploads").rglob("*") if x.is_file()] == ["新闻稿.jsonl"]
    ids = assert_intact(arc, "城市公园")
    assert {"n4", "n5"} <= ids
    p = python(code)
    assert p.returncode == 0 and "added 0, updated 0, unchanged 2" in p.stdout, p.stdout + p.stderr
    assert assert_intact(arc) == ids


def test_kill_in_the_middle_of_a_long_article_loses_only_the_batch_in_flight(arc, caplog):
    """An article longer than a batch is committed in parts; killed after the second part,
    the rerun re-embeds only what was not committed."""
    import logging

    text = "".join(f"焦作市第{i}个项目今年完成投资{i}亿元，建设进度超过预期。" for i in range(120))
    code = (
        "from qa import Archive; from qa.records import ArticleRecord\n"
        f"with Archive.open({str(arc)!r}) as a:\n"
        f"    a.ingest_records([ArticleRecord(id='long', title='项目建设', text={text!r})], batch_chunks=4)\n"
    )
    p = python(code, crash="after-commit#2")
    assert killed(p), p.stderr
    con = sqlite3.connect(arc / DB_NAME)
    h, n = con.execute("SELECT a.content_hash, count(c.id) FROM articles a JOIN chunks c ON c.article_rowid = a.rowid"
                       " WHERE a.id = 'long'").fetchone()
    con.close()
    assert h.startswith("partial:") and n == 8  # two batches of 4 committed, marked unfinished
    assert_intact(arc, "第1个项目")
    caplog.set_level(logging.INFO, logger="qa.archive")
    with Archive.open(arc) as a:
        rep = a.ingest_records([ArticleRecord(id="long", title="项目建设", text=text)], batch_chunks=4)
        reused = [int(m) for m in re.findall(r"reused (\d+) stored vectors", caplog.text)]
        assert rep.added == 1 and sum(reused) == 8, caplog.text
        assert not a.store.hashes(["long"])["long"].startswith("partial:")
        assert a.search("第110个项目", k=1, mode="keyword")[0].article_id == "long"
    assert_intact(arc, "第110个项目")


def test_kill_during_reindex_and_resume_with_the_cli(arc):
    """`reindex` to new chunk settings, killed after its second batch: the archive says how
    many articles are left, stays searchable, and `qa reindex` finishes the job."""
    code = (
        "from qa import Archive\n"
        f"with Archive.open({str(arc)!r}) as a:\n"
        "    a.reindex(chunk_chars=200, overlap_sentences=0, batch_chunks=8)\n"
    )
    p = python(code, crash="after-commit#2")
    assert killed(p), p.stderr
    with Archive.open(arc) as a:
        info = a.info()
        assert (info.chunk_chars, info.overlap_sentences) == (200, 0)
        assert 0 < info.articles_to_reindex < info.articles
    before = assert_intact(arc, "周庄镇税收")
    p = qa("reindex", "--archive", str(arc))
    assert p.returncode == 0 and "re-chunked" in p.stdout, p.stdout + p.stderr
    with Archive.open(arc) as a:
        assert a.info().articles_to_reindex == 0
    assert assert_intact(arc, "周庄镇税收") == before


def test_a_writer_killed_while_holding_the_lock_does_not_block_the_next(arc):
    p = qa("remove", "n1", "--archive", str(arc), crash="write-locked")
    assert killed(p), p.stderr
    t0 = time.monotonic()
    with Archive.open(arc) as a:
        assert a.remove("n1") >= 1
    assert time.monotonic() - t0 < 30
    assert "n1" not in assert_intact(arc)


# -- two processes ---------------------------------------------------------------------------
def test_a_second_writer_waits_for_the_first_with_a_message(arc, tmp_path):
    src = write_jsonl(tmp_path / "new.jsonl", NEW)
    with Archive.open(arc) as a, a._writing():
        gen = a.store.generation
        proc = subprocess.Popen([sys.executable, "-m", "qa.cli", "ingest", str(src), "--archive", str(arc)],
                                env=env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.extend(proc.stderr), daemon=True)
        reader.start()
        deadline = time.monotonic() + 180
        while not any("waiting" in line for line in lines) and time.monotonic() < deadline and proc.poll() is None:
            time.sleep(0.2)
        assert any("waiting" in line and str(os.getpid()) in line for line in lines), lines
        assert proc.poll() is None and a.store.generation == gen  # nothing written while it waits
    out, _ = proc.communicate(timeout=600)
    reader.join(timeout=10)
    assert proc.returncode == 0 and "added 2" in out, (out, lines)
    assert {"n4", "n5"} <= assert_intact(arc, "城市公园")


def test_two_ingests_at_once_both_land_consistently(arc, tmp_path):
    a_src = write_jsonl(tmp_path / "a.jsonl", NEW[:1])
    b_src = write_jsonl(tmp_path / "b.jsonl", NEW[1:])
    procs = [subprocess.Popen([sys.executable, "-m", "qa.cli", "ingest", str(s), "--archive", str(arc)], env=env(),
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for s in (a_src, b_src)]
    outs = [p.communicate(timeout=600) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    assert all("added 1" in o for o, _ in outs), outs
    assert {"n4", "n5"} <= assert_intact(arc, "城市公园")


def test_a_reader_sees_another_process_ingest_and_a_stale_reader_never_overwrites_the_index(arc, tmp_path):
    """Two archive objects here stand for long-running readers (the chat app); another
    process replaces an article (same chunk count, so counting cannot tell). The reader
    that closes without looking must not overwrite the new vectors.faiss with its stale
    index; the one that keeps serving must find the new text without a restart."""
    changed = dict(NEWS[1], text=NEWS[1]["text"].replace("一万名民众", "两万名民众和五百名外宾"))
    src = write_jsonl(tmp_path / "new.jsonl", [changed])
    stale, serving = Archive.open(arc), Archive.open(arc)
    try:
        for a in (stale, serving):
            assert a.search("总统出席国庆大会", k=3, mode="dense")  # index loaded
        n_chunks = stale.info().chunks
        p = qa("ingest", str(src), "--archive", str(arc))
        assert p.returncode == 0 and "added 0, updated 1" in p.stdout, p.stdout + p.stderr
        assert stale.info().chunks == n_chunks
        stale.close()
        with Archive.open(arc) as fresh:
            chunk_ids = [r[0] for r in fresh.store.db.execute("SELECT id FROM chunks ORDER BY id")]
            assert sorted(fresh._vector_index().ids().tolist()) == chunk_ids
        hits = serving.search("两万名民众和五百名外宾", k=3, mode="dense")
        assert hits and hits[0].article_id == "n2" and "五百名外宾" in hits[0].text
    finally:
        stale.close()
        serving.close()
    assert "n2" in assert_intact(arc, "国庆大会")
