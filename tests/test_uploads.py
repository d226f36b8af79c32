"""Uploads are checked and never written outside `<archive>/uploads/`."""

from __future__ import annotations

import os

import pytest

from qa.uploads import safe_name, store_uploads


@pytest.mark.parametrize(
    "name, expected",
    [
        ("page.txt", "page.txt"),
        ("../../etc/passwd.jsonl", "passwd.jsonl"),
        ("..\\..\\windows\\x.JSONL", "x.jsonl"),
        ("/abs/path/焦作日报 第3版.txt", "焦作日报_第3版.txt"),
        ("<img src=x onerror=alert(1)>.jsonl", "img_src_x_onerror_alert_1.jsonl"),
        (".hidden.json", "hidden.json"),
        ("...", "upload"),
        ("a" * 300 + ".pdf", "a" * 116 + ".pdf"),
    ],
)
def test_safe_name(name, expected):
    assert safe_name(name) == expected


def test_store_uploads_keeps_files_inside_the_archive(tmp_path):
    archive = tmp_path / "archive"
    archive.mkdir()
    src = tmp_path / "in"
    src.mkdir()
    good = src / "good.jsonl"
    good.write_text('{"text": "x"}\n', encoding="utf-8")
    exe = src / "tool.exe"
    exe.write_bytes(b"MZ")
    big = src / "big.txt"
    big.write_bytes(b"x" * 2000)
    stored, failed = store_uploads(
        [good, good, exe, big], archive, max_bytes=1000,
        names=["../../escape.jsonl", "good.jsonl", "tool.exe", "big.txt"],
    )
    assert [p.name for p in stored] == ["escape.jsonl", "good.jsonl"]
    assert all(p.parent == (archive / "uploads").resolve() for p in stored)
    assert not (tmp_path / "escape.jsonl").exists()
    reasons = {f.path: f.reason for f in failed}
    assert "unsupported file type .exe" in reasons["tool.exe"]
    assert "limit" in reasons["big.txt"]
    assert sorted(os.listdir(archive / "uploads")) == ["escape.jsonl", "good.jsonl"]  # no temp files left


def test_a_symlink_in_uploads_is_replaced_not_followed(tmp_path):
    archive = tmp_path / "archive"
    (archive / "uploads").mkdir(parents=True)
    outside = tmp_path / "outside.jsonl"
    outside.write_text("original", encoding="utf-8")
    (archive / "uploads" / "page.jsonl").symlink_to(outside)
    src = tmp_path / "page.jsonl"
    src.write_text('{"text": "new"}\n', encoding="utf-8")
    stored, failed = store_uploads([src], archive, max_bytes=10_000)
    assert not failed and len(stored) == 1
    assert outside.read_text(encoding="utf-8") == "original"
    assert not stored[0].is_symlink() and "new" in stored[0].read_text(encoding="utf-8")
