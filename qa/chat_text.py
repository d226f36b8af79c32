"""The words the chat adds around archive text, one table per language.

A reply is in the question's language (`Answer.language`): the archive's passages stay as
they are, but the chat's own words (the answer prefix, notes, button labels, relevance
labels, date notes) follow the reader. Every key exists in every table (a test checks),
so a missing translation fails in CI, not in front of a reader.
"""

from __future__ import annotations

from calendar import monthrange
from datetime import date, datetime
from typing import Literal

from .dates import DateRange, parse_iso
from .language import detect_language

Lang = Literal["zh", "en"]

TEXT: dict[str, dict[str, str]] = {
    "zh": {
        "answer": "答：",
        "passages_found": "找到以下相关段落：",
        "searched": "检索：",
        "qdate_applied": "问题中的日期：{label}（已作为筛选条件）",
        "qdate_dropped": "「{label}」内没有找到相关内容，以下结果不限该日期",
        "qdate_undated": "「{label}」：以下文章的日期不详，未按该日期筛选",
        "date_unknown": "此文日期不详",
        "filters": "筛选：{filters}",
        "hint": "建议：换个说法、去掉过细的条件，或问一个更宽泛的问题。",
        "hint_filters": "当前筛选（{filters}）可能太窄：可以放宽或清除筛选后再问。",
        "expand": "展开全文 ▾",
        "collapse": "收起全文 ▴",
        "article_gone": "（全文已不在档案库中）",
        "related": "其他可能相关（{n}）",
        "rel_high": "高度相关",
        "rel_medium": "相关",
        "rel_low": "可能相关",
        "relevance": "相关度：{label}",
        "page": "第{page}版",
        "remove_qdate": "✕ 移除问题中的日期：{label}",
        "empty_range": "日期范围为空：开始日期晚于结束日期。",
        "empty_archive": "档案库还是空的：请先在「档案库」页上传版面或 JSONL 文件。",
        "filter_date": "日期 {lo} – {hi}",
        "filter_source": "来源 {source}",
        "list_sep": "，",
    },
    "en": {
        "answer": "Answer: ",
        "passages_found": "These passages look relevant:",
        "searched": "Searched: ",
        "qdate_applied": "Date in the question: {label} (used as a filter)",
        "qdate_dropped": "Nothing relevant within {label}; the results below are from any date",
        "qdate_undated": "{label}: the date of the articles below is unknown, so they were not filtered by it",
        "date_unknown": "the date of this article is unknown",
        "filters": "Filters: {filters}",
        "hint": "Try other words, drop a detail, or ask a broader question.",
        "hint_filters": "The filters ({filters}) may be too narrow: widen or clear them and ask again.",
        "expand": "Show the whole article ▾",
        "collapse": "Hide the article ▴",
        "article_gone": "(the article is no longer in the archive)",
        "related": "Possibly related ({n})",
        "rel_high": "highly relevant",
        "rel_medium": "relevant",
        "rel_low": "possibly relevant",
        "relevance": "relevance: {label}",
        "page": "page {page}",
        "remove_qdate": "✕ Remove the date from the question: {label}",
        "empty_range": "The date range is empty: the start date is after the end date.",
        "empty_archive": "The archive is empty: upload pages or JSONL files in the Archive tab first.",
        "filter_date": "dates {lo} – {hi}",
        "filter_source": "source {source}",
        "list_sep": "; ",
    },
}

_MONTHS_EN = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def t(lang: str, key: str, **values: object) -> str:
    """The chat's words for `key` in `lang` (Chinese when the language has no table)."""
    table = TEXT.get(lang, TEXT["zh"])
    return table[key].format(**values) if values else table[key]


def question_language(question: str) -> Lang:
    """The question's language (`qa.language.detect_language`, the rule `Archive.ask` uses
    for `Answer.language`), for replies built before the archive answered (an empty archive,
    a bad filter), so a view never mixes the two."""
    return detect_language(question or "")


def human_date(iso: str | None, lang: str) -> str:
    """2022-03-15 as people write it: 2022年3月15日 / 15 Mar 2022 (2022-03 and 2022 too)."""
    if not iso:
        return ""
    parts = iso[:10].split("-")
    if not all(p.isdigit() for p in parts):
        return iso
    y, m, d = ([int(p) for p in parts] + [0, 0])[:3]
    if lang == "en":
        return " ".join(x for x in (str(d) if d else "", _MONTHS_EN[m - 1] if 1 <= m <= 12 else "", str(y)) if x)
    return f"{y}年" + (f"{m}月" if m else "") + (f"{d}日" if d else "")


def human_time(stamp: str | None, lang: str) -> str:
    """An ISO timestamp as a date and a minute: 2026年11月29日 14:03 (UTC when it says so)."""
    if not stamp:
        return ""
    try:
        when = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return stamp
    zone = " UTC" if when.utcoffset() is not None and not when.utcoffset() else ""
    return f"{human_date(when.date().isoformat(), lang)} {when:%H:%M}{zone}"


def range_label(rng: DateRange, lang: str) -> str:
    """A date range from a question, as the reply names it (2021年 / 2021)."""
    if lang != "en":
        return rng.label()
    s, e = rng.start, rng.end
    if s and e:
        if s == e:
            return human_date(s.isoformat(), "en")
        if (s.month, s.day, e.month, e.day) == (1, 1, 12, 31):
            return str(s.year) if s.year == e.year else f"{s.year}–{e.year}"
        if s.day == 1 and (s.year, s.month) == (e.year, e.month) and e.day == monthrange(e.year, e.month)[1]:
            return human_date(s.isoformat()[:7], "en")
        return f"{human_date(s.isoformat(), 'en')} – {human_date(e.isoformat(), 'en')}"
    if s:
        return f"from {human_date(s.isoformat(), 'en')}"
    if e:
        return f"until {human_date(e.isoformat(), 'en')}"
    return "any date"


def in_range(iso: str | None, rng: DateRange) -> bool | None:
    """Whether an article dated `iso` falls in `rng`; None when its date is unknown."""
    d: date | None = parse_iso(iso) if iso else None
    if d is None:
        return None
    return (rng.start is None or d >= rng.start) and (rng.end is None or d <= rng.end)
