"""Readers: records in, bad input reported with file and line, never a traceback."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from qa.errors import BadInputError
from qa.ingest import normalize_date, read_inputs
from qa.records import ArticleRecord, IngestFailure
from qa.textio import read_text


def split(items):
    recs = [i for i in items if isinstance(i, ArticleRecord)]
    fails = [i for i in items if isinstance(i, IngestFailure)]
    return recs, fails


def write_jsonl(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_jsonl_records_with_metadata_and_aliases(tmp_path):
    p = write_jsonl(tmp_path / "a.jsonl", [
        json.dumps({"id": "a1", "title": "周庄镇", "text": "周庄镇完成税收1334万元。", "date": "2022/3/15",
                    "page": 3, "source": "焦作日报", "byline": "本报记者 梁智玲", "section": "要闻"}, ensure_ascii=False),
        json.dumps({"doc_id": "d2", "text": "没有标题的文章。第二句。"}, ensure_ascii=False),
    ])
    recs, fails = split(list(read_inputs([p])))
    assert not fails
    a, b = recs
    assert (a.id, a.date, a.page, a.source, a.byline) == ("a1", "2022-03-15", "3", "焦作日报", "本报记者 梁智玲")
    assert a.metadata == {"section": "要闻"} and a.source_line == 1 and a.source_file == str(p)
    assert b.id == "d2" and b.title == "没有标题的文章。"


def test_bad_jsonl_lines_are_reported_with_line_numbers_and_the_rest_goes_on(tmp_path):
    p = write_jsonl(tmp_path / "bad.jsonl", [
        json.dumps({"id": "ok1", "title": "好", "text": "第一篇。"}, ensure_ascii=False),
        "{not json",
        json.dumps({"id": "notext", "title": "空"}, ensure_ascii=False),
        json.dumps(["a list"]),
        json.dumps({"id": "baddate", "text": "日期坏了。", "date": "yesterday"}),
        json.dumps({"id": "ok2", "title": "好", "text": "第二篇。"}, ensure_ascii=False),
    ])
    recs, fails = split(list(read_inputs([p])))
    assert [r.id for r in recs] == ["ok1", "ok2"]
    by_line = {f.line: f.reason for f in fails}
    assert set(by_line) == {2, 3, 4, 5}
    assert "invalid JSON" in by_line[2]
    assert "no text" in by_line[3]
    assert "JSON object" in by_line[4]
    assert "date" in by_line[5]
    assert all(f.path == str(p) for f in fails)
    assert str(fails[0]).startswith(f"{p}:2: ")


def test_empty_binary_missing_and_unsupported_files(tmp_path):
    (tmp_path / "empty.jsonl").write_text("")
    (tmp_path / "blob.jsonl").write_bytes(b"\x00\x01\x02binary\x00" * 50)
    (tmp_path / "scan.docx").write_bytes(b"PK\x03\x04")
    recs, fails = split(list(read_inputs([tmp_path / "empty.jsonl", tmp_path / "blob.jsonl", tmp_path / "nope.jsonl", tmp_path / "scan.docx"])))
    assert not recs
    reasons = " | ".join(str(f) for f in fails)
    assert "empty.jsonl: empty file" in reasons
    assert "blob.jsonl: binary file" in reasons
    assert "nope.jsonl: no such file" in reasons
    assert "scan.docx: unsupported file type .docx" in reasons


def test_json_array_and_directory_recursion(tmp_path):
    sub = tmp_path / "d" / "e"
    sub.mkdir(parents=True)
    (sub / "x.json").write_text(json.dumps([{"id": "j1", "title": "一", "text": "甲。"}, {"id": "j2", "title": "二", "text": "乙。"}], ensure_ascii=False), encoding="utf-8")
    (tmp_path / "d" / ".hidden.jsonl").write_text("garbage")
    recs, fails = split(list(read_inputs([tmp_path / "d"])))
    assert [r.id for r in recs] == ["j1", "j2"] and not fails


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk"])
def test_text_encodings_never_mojibake(tmp_path, encoding):
    text = "焦作日报：周庄镇累计完成税收1334万元，超收449万元。"
    p = tmp_path / "t.txt"
    p.write_bytes(text.encode(encoding))
    assert read_text(p) == text


def test_article_format_reads_one_file_as_one_article(tmp_path):
    p = tmp_path / "稿件.txt"
    p.write_text("周庄镇 党建引领\n\n第一段。\n\n第二段。", encoding="gbk")
    recs, fails = split(list(read_inputs([p], "article")))
    assert not fails and len(recs) == 1
    assert recs[0].title == "周庄镇 党建引领" and recs[0].text == "第一段。\n\n第二段。"


@pytest.mark.parametrize("raw,iso", [("2022-03-15", "2022-03-15"), ("2022/3/5", "2022-03-05"), ("20220315", "2022-03-15"),
                                     ("2022年3月15日", "2022-03-15"), ("2022-03-15T08:00:00+08:00", "2022-03-15"), ("", None)])
def test_dates(raw, iso):
    assert normalize_date(raw) == iso


def test_bad_date_is_an_error():
    with pytest.raises(ValueError):
        normalize_date("2022-13-40")


def test_bad_input_error_names_file_and_line():
    e = BadInputError("x.jsonl", "invalid JSON", 7)
    assert str(e) == "x.jsonl:7: invalid JSON"


def test_a_deeply_nested_line_is_one_failure_and_later_lines_are_kept(tmp_path):
    """json.loads raises RecursionError (not JSONDecodeError) on `[[[[…`: it used to escape
    the per-line handling and silently drop every later line of the file."""
    p = write_jsonl(tmp_path / "deep.jsonl", [
        json.dumps({"id": "ok1", "text": "第一篇。"}, ensure_ascii=False),
        "[" * 10_000 + "]" * 10_000,
        json.dumps({"id": "ok2", "text": "第二篇。"}, ensure_ascii=False),
    ])
    recs, fails = split(list(read_inputs([p])))
    assert [r.id for r in recs] == ["ok1", "ok2"]
    assert [(f.line, f.reason) for f in fails] == [(2, "invalid JSON: nested too deeply")]


def test_records_without_ids_in_files_of_one_name_do_not_collide(tmp_path):
    """Ids used to be `<file stem>-<line>`: `2019/articles.jsonl` line 1 and
    `2020/articles.jsonl` line 1 replaced each other's article."""
    y19, y20 = tmp_path / "2019", tmp_path / "2020"
    y19.mkdir()
    y20.mkdir()
    write_jsonl(y19 / "articles.jsonl", [json.dumps({"title": "周庄镇税收", "text": "2019年完成税收900万元。"}, ensure_ascii=False)])
    write_jsonl(y20 / "articles.jsonl", [json.dumps({"title": "周庄镇税收", "text": "2020年完成税收1100万元。"}, ensure_ascii=False)])
    first, _ = split(list(read_inputs([y19, y20])))
    assert len({r.id for r in first}) == 2
    # stable: the same file read again (from another path, or after a move) gets the same id
    moved = tmp_path / "moved.jsonl"
    moved.write_bytes((y19 / "articles.jsonl").read_bytes())
    again, _ = split(list(read_inputs([y19, moved])))
    assert again[0].id == again[1].id == first[0].id


def test_ids_must_be_non_blank_strings(tmp_path):
    p = write_jsonl(tmp_path / "ids.jsonl", [
        json.dumps({"id": ["a", "b"], "text": "列表做编号。"}, ensure_ascii=False),
        json.dumps({"id": "   ", "text": "空格做编号。"}, ensure_ascii=False),
        json.dumps({"id": 7, "text": "数字编号可以。"}, ensure_ascii=False),
    ])
    recs, fails = split(list(read_inputs([p])))
    assert [r.id for r in recs] == ["7"]
    by_line = {f.line: f.reason for f in fails}
    assert "id must be a string, got list" in by_line[1]
    assert "blank" in by_line[2]


def test_an_invalid_calendar_date_is_named_and_the_record_skipped(tmp_path):
    p = write_jsonl(tmp_path / "d.jsonl", [
        json.dumps({"id": "feb31", "text": "二月没有三十一日。", "date": "2022-02-31"}, ensure_ascii=False),
        json.dumps({"id": "ok", "text": "二月有二十八日。", "date": "2022-02-28"}, ensure_ascii=False),
    ])
    recs, fails = split(list(read_inputs([p])))
    assert [r.id for r in recs] == ["ok"]
    assert str(fails[0]) == f"{p}:1: 2022-02-31 is not a calendar date (February 2022 has 28 days)"


def test_xhtml_pages_are_read_from_directories_like_html(tmp_path):
    (tmp_path / "pages").mkdir()
    (tmp_path / "pages" / "2022-03-15-03.xhtml").write_text(
        "<html><body><h1>周庄镇党建引领乡村振兴</h1><p>周庄镇2021年累计完成税收1334万元，超收449万元。</p></body></html>",
        encoding="utf-8")
    recs, fails = split(list(read_inputs([tmp_path / "pages"])))
    assert not fails and [(r.title, r.date) for r in recs] == [("周庄镇党建引领乡村振兴", "2022-03-15")]


def test_ingest_records_validates_records_from_any_caller(tmp_path):
    """`Archive.ingest_records` used to raise TypeError (text=None), sqlite's
    IntegrityError (id=None), store `repr()` of a list id and an unfindable empty text."""
    from qa import Archive

    bad = [
        ArticleRecord(id="none-text", title="t", text=None),  # type: ignore[arg-type]
        ArticleRecord(id=None, title="t", text="有内容。"),  # type: ignore[arg-type]
        ArticleRecord(id="empty", title="t", text=""),
        ArticleRecord(id=["x"], title="t", text="有内容。"),  # type: ignore[arg-type]
        ArticleRecord(id="  ", title="t", text="有内容。"),
        ArticleRecord(id="feb31", title="t", text="有内容。", date="2022-02-31"),
    ]
    with Archive.open(tmp_path / "archive") as archive:
        report = archive.ingest_records(bad)
        assert (report.added, report.updated, len(report.failed)) == (0, 0, len(bad))
        assert archive.info().articles == 0
    reasons = [f.reason for f in report.failed]
    assert "text must be a string, got NoneType" in reasons[0]
    assert "id must be a string, got NoneType" in reasons[1]
    assert "text is empty" in reasons[2]
    assert "id must be a string, got list" in reasons[3]
    assert "blank" in reasons[4]
    assert "2022-02-31 is not a calendar date" in reasons[5]


def test_a_lone_surrogate_escape_in_a_record_does_not_stop_the_ingest(tmp_path, encoder):
    """`"\\ud800"` is legal JSON but SQLite cannot store it: the write used to fail with
    UnicodeEncodeError and take the whole batch with it."""
    from qa import Archive

    p = tmp_path / "s.jsonl"
    p.write_text('{"id": "s1", "title": "坏字符\\ud800", "text": "周庄镇完成税收\\udcff1334万元。"}\n'
                 '{"id": "s2", "text": "高速公路今年计划完成投资57.66亿元。"}\n', encoding="utf-8")
    with Archive.open(tmp_path / "archive") as archive:
        report = archive.ingest([p])
        assert (report.added, report.failed) == (2, [])
        assert archive.get("s1").text == "周庄镇完成税收\ufffd1334万元。"
