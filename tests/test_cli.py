"""The `qa` command, driven through its entry point: exit codes and messages."""

from __future__ import annotations

import json
import shutil

import pytest

from qa.cli import main

from conftest import SEED


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
    assert err.count("\n") == 1 and "empty" in err
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
