"""The `qa` command, driven through its entry point: exit codes and messages."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from qa.cli import main

from conftest import SEED

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def arc(small_archive_dir, tmp_path) -> str:
    dst = tmp_path / "archive"
    shutil.copytree(small_archive_dir, dst)
    return str(dst)


def test_help_is_instant_and_lists_the_verbs(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--help"])
    assert e.value.code == 0
    out = capsys.readouterr().out
    for verb in ("ingest", "ask", "search", "info", "remove", "serve"):
        assert verb in out


def test_ask_prints_answer_and_numbered_sources(arc, capsys):
    assert main(["ask", "周庄镇2021年累计完成税收多少？", "--archive", arc, "--k", "3"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("答：") and "1334万元" in out.splitlines()[0]
    assert "[1] " in out and "梁智玲" in out and "【" in out
    assert "(高度相关)" in out  # the same relevance words as the chat


def test_ask_in_english_prints_the_cli_s_words_in_english(arc, capsys):
    assert main(["ask", "How much tax did Zhouzhuang town collect in 2021?", "--archive", arc]) == 0
    out = capsys.readouterr().out
    if not out.startswith("Answer: "):  # declined: the message is in English too
        assert "答" not in out and out.strip(), out
    else:
        assert "(highly relevant)" in out and "相关" not in out.split("[1]")[1].split("\n")[0], out


def test_ask_json(arc, capsys):
    assert main(["ask", "周庄镇2021年累计完成税收多少？", "--archive", arc, "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["found"] and "1334万元" in data["passages"][0]["highlight"]
    assert data["passages"][0]["citation"]["byline"] == "本报记者 梁智玲"


def test_search_modes_and_filters(arc, capsys):
    assert main(["search", "总统", "--archive", arc, "--mode", "keyword", "--from", "2000-01-01", "--json"]) == 0
    hits = json.loads(capsys.readouterr().out)
    assert hits and all(h["citation"]["date"] >= "2000-01-01" for h in hits)


def test_info_and_remove(arc, capsys):
    assert main(["info", "--archive", arc, "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["articles"] == 13 and info["model_id"].startswith("intfloat/")
    assert main(["remove", "n1", "--archive", arc]) == 0
    assert "removed n1" in capsys.readouterr().out
    assert main(["remove", "n1", "--archive", arc]) == 2
    err = capsys.readouterr().err
    assert "no article with id 'n1'" in err and "Traceback" not in err


def test_user_mistakes_are_one_line_without_traceback(arc, capsys, tmp_path):
    assert main(["search", "？！", "--archive", arc]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "no letters or digits" in err
    assert main(["info", "--archive", str(tmp_path / "nope")]) == 2
    assert "no archive at" in capsys.readouterr().err


def test_ingest_reports_failures_and_is_idempotent(arc, capsys, tmp_path, monkeypatch):
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{broken\n", encoding="utf-8")
    assert main(["ingest", str(SEED), str(bad), "--archive", arc]) == 0
    cap = capsys.readouterr()
    assert "unchanged 10" in cap.out and f"{bad}:1: invalid JSON" in cap.err
    monkeypatch.setenv("QA_ARCHIVE", arc)
    assert main(["ingest", str(bad)]) == 1  # nothing could be read at all


def _qa(*args: str, cwd=None, stdout=subprocess.PIPE) -> subprocess.Popen:
    """The real `qa` process (its own logging, stdout and exit), importing this checkout."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-m", "qa.cli", *args], cwd=cwd, env=env, stdout=stdout,
                            stderr=subprocess.PIPE, text=True)


def test_k_below_one_names_the_value_given(capsys):
    with pytest.raises(SystemExit) as e:
        main(["ask", "税收", "--k", "-5"])
    assert e.value.code == 2
    assert "--k: must be at least 1, got -5" in capsys.readouterr().err


def test_bad_date_flags_are_refused_before_anything_runs(capsys):
    for flag in ("--from", "--to"):
        with pytest.raises(SystemExit):
            main(["search", "税收", flag, "garbage"])
        assert "date 'garbage' not understood" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["ingest", "x.txt", "--date", "2022-02-31"])
    assert "2022-02-31 is not a calendar date" in capsys.readouterr().err


def test_invalid_utf8_or_overlong_question_is_one_line_not_a_traceback(arc, capsys):
    # Python hands invalid UTF-8 in argv over as lone surrogates (surrogateescape)
    for q, says in (("\udcff\udcfe税收", "not valid text"), ("税" * 5000, "the limit is 1000")):
        for cmd in ("ask", "search"):
            assert main([cmd, q, "--archive", arc]) == 2
            err = capsys.readouterr().err
            assert err.count("\n") == 1 and says in err and "Traceback" not in err


def test_a_closed_pipe_is_not_a_traceback(small_archive_dir):
    """`qa info | head -3`: the reader leaves before qa has written."""
    p = _qa("info", "--archive", str(small_archive_dir))
    p.stdout.close()
    _, err = p.communicate(timeout=120)
    assert "Traceback" not in err and "BrokenPipeError" not in err, err


def test_ingest_of_missing_paths_says_each_once_and_leaves_no_archive(tmp_path):
    p = _qa("ingest", str(tmp_path / "missing1.jsonl"), str(tmp_path / "missing2"), "--archive", str(tmp_path / "arc"))
    out, err = p.communicate(timeout=120)
    assert p.returncode == 1
    for name in ("missing1.jsonl", "missing2"):
        assert err.count(name) == 1, err
    assert "Traceback" not in err and not (tmp_path / "arc").exists()
    (tmp_path / "existing").mkdir()
    p = _qa("ingest", str(tmp_path / "missing1.jsonl"), "--archive", str(tmp_path / "existing"))
    p.communicate(timeout=120)
    assert p.returncode == 1 and list((tmp_path / "existing").iterdir()) == []  # the directory the user made stays


def test_ingest_help_lists_every_supported_file_type(capsys):
    from qa.ingest import FILE_TYPES

    with pytest.raises(SystemExit):
        main(["ingest", "--help"])
    out = capsys.readouterr().out
    assert all(suffix in out for suffix in FILE_TYPES) and ".xhtml" in out


def test_ingest_of_only_unreadable_files_leaves_no_archive(tmp_path):
    bad = tmp_path / "bad.jsonl"
    bad.write_text("{broken\n", encoding="utf-8")
    p = _qa("ingest", str(bad), "--archive", str(tmp_path / "arc"))
    _, err = p.communicate(timeout=120)
    assert p.returncode == 1 and f"{bad}:1: invalid JSON" in err and not (tmp_path / "arc").exists()
    (tmp_path / "existing").mkdir()  # a directory the user made stays, and stays empty (no lock files)
    p = _qa("ingest", str(bad), "--archive", str(tmp_path / "existing"))
    p.communicate(timeout=120)
    assert p.returncode == 1 and list((tmp_path / "existing").iterdir()) == []


def test_api_k_below_one_names_the_value_given(arc):
    """`Archive.ask` searches 2k hits: k=-5 used to be reported as "got -10"."""
    from qa import Archive

    with Archive.open(arc) as archive:
        with pytest.raises(ValueError, match="k must be at least 1, got -5"):
            archive.ask("税收", k=-5)


# -- --backend / --uri / --token -------------------------------------------------------------
from conftest import NEWS, milvus_available  # noqa: E402

needs_milvus = pytest.mark.skipif(not milvus_available(), reason="the milvus extra (pymilvus, milvus-lite) is missing")


@needs_milvus
def test_milvus_flags_and_env_drive_every_verb(small_milvus_file, small_archive_dir, tmp_path, capsys, monkeypatch):
    from conftest import copy_to_milvus

    uri = str(tmp_path / "a.db")
    copy_to_milvus(small_archive_dir, uri, [SEED])  # the seed page, vectors reused
    news = small_archive_dir.parent / "news.jsonl"
    assert main(["ingest", str(news), "--backend", "milvus", "--uri", uri]) == 0
    assert capsys.readouterr().out.startswith(f"added {len(NEWS)}, ")
    assert main(["ask", "周庄镇2021年累计完成税收多少？", "--backend", "milvus", "--uri", uri]) == 0
    out = capsys.readouterr().out
    assert out.startswith("答：") and "1334万元" in out.splitlines()[0] and "梁智玲" in out
    monkeypatch.setenv("QA_BACKEND", "milvus")
    monkeypatch.setenv("QA_URI", uri)
    assert main(["search", "国庆大会", "--k", "1", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)[0]["article_id"] == "n2"
    assert main(["remove", "n2"]) == 0
    assert main(["info", "--json"]) == 0
    info = json.loads(capsys.readouterr().out.split("\n", 1)[1])
    assert info["articles"] == 10 + len(NEWS) - 1 and info["path"] == uri
    assert main(["reindex"]) == 0 and "re-chunked 0 articles" in capsys.readouterr().out
    # --backend local wins over $QA_BACKEND, and --archive stays the local spelling
    assert main(["info", "--backend", "local", "--archive", str(small_archive_dir), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["path"] == str(small_archive_dir)


@needs_milvus
def test_eval_on_a_milvus_archive(small_milvus_file, tmp_path, capsys):
    q = tmp_path / "q.jsonl"
    q.write_text(json.dumps({"id": "q1", "question": "周庄镇2021年累计完成税收多少？", "answers": ["1334万元"],
                             "doc_ids": ["焦作日报-nodate-jiaozuo-daily-page-01"]}, ensure_ascii=False) + "\n")
    assert main(["eval", str(q), "--backend", "milvus", "--uri", str(small_milvus_file), "--modes", "hybrid",
                 "--k", "1", "--out", str(tmp_path / "out")]) == 0
    report = json.loads((tmp_path / "out" / "report.json").read_text())
    assert "only 0 of" not in capsys.readouterr().err
    assert report["metrics"]["hybrid"]["src_recall@1"] == 100.0
    assert report["archive"]["path"] == str(small_milvus_file) and report["archive"]["articles"] == 10 + len(NEWS)


@needs_milvus
def test_milvus_mistakes_are_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("QA_URI", raising=False)
    assert main(["ask", "税收", "--backend", "milvus"]) == 2
    assert "needs --uri" in capsys.readouterr().err
    assert main(["ask", "税收", "--backend", "milvus", "--uri", str(tmp_path / "none.db")]) == 2
    assert "no milvus-lite archive" in capsys.readouterr().err
    assert main(["ask", "税收", "--backend", "milvus", "--uri", str(tmp_path / "a.txt")]) == 2
    assert "ending in .db" in capsys.readouterr().err
    # a server that is not there: one line, and the token is never printed
    assert main(["info", "--backend", "milvus", "--uri", "http://127.0.0.1:9", "--token", "s3cret-token"]) == 2
    err = capsys.readouterr().err
    assert "cannot reach the Milvus server" in err and "s3cret" not in err and err.count("\n") == 1


@needs_milvus
def test_a_milvus_lite_file_held_by_another_process_is_one_line(small_milvus_file, tmp_path):
    uri = tmp_path / "held.db"
    holder = subprocess.Popen([sys.executable, "-c", f"from pymilvus import MilvusClient; import sys, time; "
                               f"c = MilvusClient({str(uri)!r}); print('open', flush=True); time.sleep(60)"],
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        assert holder.stdout.readline().strip() == "open"
        p = _qa("ingest", str(SEED), "--backend", "milvus", "--uri", str(uri))
        _, err = p.communicate(timeout=120)
        assert p.returncode == 2, err
        last = err.strip().splitlines()[-1]
        assert last.startswith("qa ingest: ") and "another process may hold it" in last and "Traceback" not in err
    finally:
        holder.kill()
        holder.wait()


def test_milvus_without_pymilvus_names_the_extra(tmp_path):
    code = ("import sys; sys.modules['pymilvus'] = None; from qa.cli import main; "
            f"sys.exit(main(['ingest', {str(SEED)!r}, '--backend', 'milvus', '--uri', {str(tmp_path / 'a.db')!r}]))")
    p = subprocess.run([sys.executable, "-c", code], env={**os.environ, "PYTHONPATH": str(ROOT)},
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and "pip install 'archive-qa[milvus]'" in p.stderr and "Traceback" not in p.stderr


@needs_milvus
def test_the_chat_opens_a_milvus_archive_by_flags(small_milvus_file):
    from qa.web import build_parser, open_archive, upload_dir

    archive, notice = open_archive(build_parser().parse_args(["--backend", "milvus", "--uri", str(small_milvus_file)]))
    try:
        assert archive.backend.kind == "milvus" and notice == "" and archive.info().articles == 10 + len(NEWS)
        assert upload_dir(archive) == Path(f"{small_milvus_file}.files")  # not inside the .db file
        assert archive.ask("周庄镇2021年累计完成税收多少？").short_answer == "1334万元"
    finally:
        archive.close()
