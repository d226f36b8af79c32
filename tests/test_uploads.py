"""Uploads are checked and never written outside `<archive>/uploads/`."""

from __future__ import annotations

import pytest

from qa.ingest import read_inputs
from qa.records import ArticleRecord
from qa.uploads import UPLOAD_SUFFIXES, safe_name, store_uploads


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
    uploads = (archive / "uploads").resolve()
    assert all(p.parent.parent == uploads for p in stored)  # uploads/<content key>/<name>
    assert not (tmp_path / "escape.jsonl").exists()
    reasons = {f.path: f.reason for f in failed}
    assert "unsupported file type .exe" in reasons["tool.exe"]
    assert "limit" in reasons["big.txt"]
    files = sorted(str(p.relative_to(uploads)) for p in uploads.rglob("*") if p.is_file())
    key = stored[0].parent.name
    assert files == [f"{key}/escape.jsonl", f"{key}/good.jsonl"]  # no temp files left


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


def test_two_uploads_of_one_name_keep_both_files_and_all_articles(tmp_path):
    """Two different `articles.jsonl` (records without ids) used to land on one path, the
    second overwriting the first and taking over its article ids."""
    archive = tmp_path / "archive"
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text('{"title": "周庄镇税收", "text": "周庄镇2021年累计完成税收1334万元。"}\n', encoding="utf-8")
    b.write_text('{"title": "高速公路", "text": "今年计划完成投资57.66亿元。"}\n', encoding="utf-8")
    stored, failed = store_uploads([a, b], archive, 10_000, names=["articles.jsonl", "articles.jsonl"])
    assert not failed and len(set(stored)) == 2
    assert {p.read_text(encoding="utf-8") for p in stored} == {a.read_text(encoding="utf-8"), b.read_text(encoding="utf-8")}
    recs = [r for r in read_inputs(stored) if isinstance(r, ArticleRecord)]
    assert sorted(r.title for r in recs) == ["周庄镇税收", "高速公路"] and len({r.id for r in recs}) == 2
    again, _ = store_uploads([a], archive, 10_000, names=["articles.jsonl"])
    assert again == stored[:1]  # the same file again: the same path, so its articles come out unchanged
    alike, _ = store_uploads([a, b], tmp_path / "other", 10_000, names=["a\x00b.jsonl", "a\nb.jsonl"])  # both sanitise to a_b
    assert len(set(alike)) == 2 and {p.name for p in alike} == {"a_b.jsonl"}


def test_an_upload_keeps_the_date_page_and_source_its_path_carried(tmp_path):
    src = tmp_path / "03.txt"
    src.write_text("周庄镇党建引领乡村振兴\n\n本报记者 梁智玲\n\n周庄镇2021年累计完成税收1334万元，超收449万元。\n", encoding="utf-8")
    stored, failed = store_uploads([src], tmp_path / "archive", 10_000, names=["../焦作日报/2022/03/15/03.txt"])
    assert not failed
    recs = [r for r in read_inputs(stored) if isinstance(r, ArticleRecord)]
    assert recs and {(r.date, r.page, r.source) for r in recs} == {("2022-03-15", "03", "焦作日报")}


def test_upload_size_message_does_not_round_the_excess_away(tmp_path):
    src = tmp_path / "page.txt"
    src.write_bytes("税".encode() * 333_333 + b"xx")  # 1,000,001 bytes
    _, failed = store_uploads([src], tmp_path / "archive", max_bytes=1_000_000)
    assert failed[0].reason == "file is 1.000001 MB; the limit is 1 MB"


def test_uploads_accept_exactly_the_ingest_file_types():
    from qa.ingest import FILE_TYPES

    assert set(UPLOAD_SUFFIXES) == set(FILE_TYPES) and ".xhtml" in UPLOAD_SUFFIXES


def test_two_different_undated_pages_of_one_name_keep_their_own_articles(tmp_path):
    """Undated page ids come from the file name: the second `page.txt` used to take over
    the first one's articles."""
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("周庄镇党建引领乡村振兴\n\n周庄镇2021年累计完成税收1334万元，超收449万元。\n", encoding="utf-8")
    b.write_text("高速公路项目加快建设\n\n今年计划完成投资57.66亿元，年底前建成通车。\n", encoding="utf-8")
    archive = tmp_path / "archive"
    first, _ = store_uploads([a], archive, 10_000, names=["page3.txt"])
    second, _ = store_uploads([b], archive, 10_000, names=["page3.txt"])
    ids = [{r.id for r in read_inputs(s) if isinstance(r, ArticleRecord)} for s in (first, second)]
    assert ids[0] and ids[1] and not ids[0] & ids[1]
    pages = {r.page for s in (first, second) for r in read_inputs(s) if isinstance(r, ArticleRecord)}
    assert pages == {"03"}  # the page number in the name still counts
    assert store_uploads([b], archive, 10_000, names=["page3.txt"])[0] == second  # same file: same place
    assert store_uploads([a], archive, 10_000, names=["page3.txt"])[0] == first
