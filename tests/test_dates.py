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
