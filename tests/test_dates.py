"""Dates written in questions become date filters, relative to the archive's latest date."""

from __future__ import annotations

from datetime import date

import pytest

from qa.chat import parse_filter_date
from qa.dates import DateRange, dates_in_question

LATEST = date(2026, 5, 20)  # the sample archive's newest article is from 2026


def rng(q: str, latest: date = LATEST) -> tuple[str | None, str | None]:
    found, _ = dates_in_question(q, latest)
    assert found is not None, q
    return found.date_from, found.date_to


@pytest.mark.parametrize(
    "question, expected",
    [
        ("周庄镇2021年累计完成税收多少？", ("2021-01-01", "2021-12-31")),
        ("2021年3月总统出访了哪些国家？", ("2021-03-01", "2021-03-31")),
        ("2022年3月15日发生了什么？", ("2022-03-15", "2022-03-15")),
        ("２０２２年３月的新闻", ("2022-03-01", "2022-03-31")),  # full-width digits
        ("二〇二一年的税收", ("2021-01-01", "2021-12-31")),
        ("2021年十二月的投资", ("2021-12-01", "2021-12-31")),
        ("2024年2月的新闻", ("2024-02-01", "2024-02-29")),  # leap year
        ("2022-03-15的报道", ("2022-03-15", "2022-03-15")),
        ("2021年度报告", ("2021-01-01", "2021-12-31")),
    ],
)
def test_absolute_dates(question, expected):
    assert rng(question) == expected


@pytest.mark.parametrize(
    "question, expected",
    [
        ("今年总统说了什么？", ("2026-01-01", "2026-12-31")),
        ("去年的高速公路投资", ("2025-01-01", "2025-12-31")),
        ("前年的税收", ("2024-01-01", "2024-12-31")),
        ("去年三月的新闻", ("2025-03-01", "2025-03-31")),
        ("去年十二月的新闻", ("2025-12-01", "2025-12-31")),
        ("今年3月5日的讲话", ("2026-03-05", "2026-03-05")),
        ("上个月的新闻", ("2026-04-01", "2026-04-30")),
        ("本月的新闻", ("2026-05-01", "2026-05-31")),
    ],
)
def test_relative_dates_use_the_archives_latest_date(question, expected):
    assert rng(question) == expected


def test_last_month_in_january_is_december_of_the_year_before():
    assert rng("上个月的新闻", date(2022, 1, 10)) == ("2021-12-01", "2021-12-31")


def test_relative_dates_follow_the_archive_not_today():
    assert rng("去年的新闻", date(1995, 6, 1)) == ("1994-01-01", "1994-12-31")


def test_ranges_and_open_ends():
    assert rng("2019年至2021年的投资") == ("2019-01-01", "2021-12-31")
    assert rng("2020年和2021年相比") == ("2020-01-01", "2021-12-31")
    assert rng("2021年以来的变化") == ("2021-01-01", None)
    assert rng("2021年以前的报道") == (None, "2020-12-31")


def test_english_dates():
    assert rng("What did the president say in 2021?") == ("2021-01-01", "2021-12-31")
    assert rng("news from March 2021") == ("2021-03-01", "2021-03-31")
    assert rng("What happened last year?") == ("2025-01-01", "2025-12-31")
    assert rng("since 2020, what changed?") == ("2020-01-01", None)


@pytest.mark.parametrize(
    "question",
    [
        "周庄镇累计完成税收多少？",
        "三月的新闻",  # a bare month: which year? not guessed
        "3年来增长了多少",  # a duration, not a date
        "20年来的变化",
        "完成投资57.66亿元",
        "工业增加值增长20.2%",
        "1334万元",
        "2021",  # a bare number
        "第2021号文件",
    ],
)
def test_no_date_is_invented(question):
    found, rest = dates_in_question(question, LATEST)
    assert found is None and rest == question


def test_the_question_without_its_date():
    found, rest = dates_in_question("周庄镇2021年累计完成税收多少？", LATEST)
    assert found == DateRange(date(2021, 1, 1), date(2021, 12, 31), "2021年")
    assert rest == "周庄镇累计完成税收多少？"
    _, rest = dates_in_question("2019年至2021年的投资", LATEST)
    assert rest == "的投资"


def test_labels_are_readable():
    assert dates_in_question("2021年的", LATEST)[0].label() == "2021年"
    assert dates_in_question("去年三月", LATEST)[0].label() == "2025年3月"
    assert dates_in_question("2022年3月15日", LATEST)[0].label() == "2022年3月15日"
    assert dates_in_question("2019年至2021年", LATEST)[0].label() == "2019–2021年"


def test_invalid_calendar_dates_are_not_filters():
    found, _ = dates_in_question("2021年13月", LATEST)
    assert found is not None and found.label() == "2021年"  # the year still counts, the month does not


def test_latest_may_be_an_iso_string_from_facets():
    found, _ = dates_in_question("去年", "2022-06-30")
    assert found.date_from == "2021-01-01"


@pytest.mark.parametrize(
    "typed, start, end",
    [
        ("2021", "2021-01-01", "2021-12-31"),
        ("2021-03", "2021-03-01", "2021-03-31"),
        ("2021-03-15", "2021-03-15", "2021-03-15"),
        ("2021/3/5", "2021-03-05", "2021-03-05"),
        ("2021年3月", "2021-03-01", "2021-03-31"),
        ("", None, None),
    ],
)
def test_filter_boxes_accept_partial_dates(typed, start, end):
    assert parse_filter_date(typed) == start
    assert parse_filter_date(typed, end=True) == end


def test_filter_boxes_reject_text_that_is_not_a_date():
    with pytest.raises(ValueError):
        parse_filter_date("yesterday-ish")


# -- the one date parser (qa.dates.parse_date): ingest, sidecars, filters, CLI flags -----------

from qa.dates import iso_date, parse_date  # noqa: E402


@pytest.mark.parametrize("raw, iso", [("2022-03-15", "2022-03-15"), ("2022/3/5", "2022-03-05"), ("2022.3.5", "2022-03-05"),
                                      ("20220315", "2022-03-15"), ("2022年3月15日", "2022-03-15"),
                                      ("2022-03-15T08:00:00+08:00", "2022-03-15"), ("2024-02-29", "2024-02-29"),
                                      ("", None), (None, None)])
def test_parse_date_spellings(raw, iso):
    assert iso_date(raw) == iso


@pytest.mark.parametrize("raw, message", [
    ("2022-02-31", "2022-02-31 is not a calendar date (February 2022 has 28 days)"),
    ("2023-02-29", "2023-02-29 is not a calendar date (February 2023 has 28 days)"),
    ("2022-04-31", "2022-04-31 is not a calendar date (April 2022 has 30 days)"),
    ("2022-13-01", "2022-13-01 is not a calendar date (month 13 does not exist)"),
    ("garbage", "date 'garbage' not understood (use YYYY-MM-DD)"),
])
def test_parse_date_names_what_is_wrong(raw, message):
    with pytest.raises(ValueError) as e:
        parse_date(raw)
    assert str(e.value) == message


def test_page_dates_from_sidecar_and_path_use_the_same_calendar(tmp_path):
    """The page reader had its own parser that took 2022-02-31 (day <= 31 was all it checked)."""
    from qa.ingest import read_inputs
    from qa.records import ArticleRecord, IngestFailure

    page = "周庄镇党建引领乡村振兴\n\n周庄镇2021年累计完成税收1334万元，超收449万元。\n"
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "page.txt").write_text(page, encoding="utf-8")
    (tmp_path / "a" / "page.json").write_text('{"date": "2022-02-31"}', encoding="utf-8")
    (tmp_path / "b").mkdir()
    (tmp_path / "b" / "2022-02-31-03.txt").write_text(page, encoding="utf-8")
    items = list(read_inputs([tmp_path / "a", tmp_path / "b"]))
    fails = [i for i in items if isinstance(i, IngestFailure)]
    assert [str(f) for f in fails] == [f"{tmp_path / 'a' / 'page.json'}: 2022-02-31 is not a calendar date (February 2022 has 28 days)"]
    recs = [i for i in items if isinstance(i, ArticleRecord)]
    assert recs and all(r.date is None for r in recs)  # a path that names no real day gives no date


def test_date_filters_that_are_not_dates_are_refused(sample_archive_ro):
    """`garbage` used to be compared as a string and match nothing (0 hits, no message)."""
    for bad in ("garbage", "2022-02-31"):
        with pytest.raises(ValueError, match="date from filter"):
            sample_archive_ro.search("税收", mode="keyword", date_from=bad)
        with pytest.raises(ValueError, match="date to filter"):
            sample_archive_ro.ask("税收", date_to=bad)
    # other spellings are normalised, not compared as strings ("1992/1/14" > "1992-01-14")
    slashed = sample_archive_ro.search("僑胞", k=50, mode="keyword", date_from="1992/1/14", date_to="1992/1/14")
    assert slashed and {h.citation.date for h in slashed} == {"1992-01-14"}
