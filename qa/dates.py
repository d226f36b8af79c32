"""Dates written in a question ("2021年…", "去年三月…") -> a date filter for the search.

People put the time they mean into the question itself rather than into a filter
widget. This module finds those expressions and turns them into an inclusive
`DateRange`, resolving relative ones (今年, 去年, 上个月) against the archive's *latest
date* rather than today: an archive of old papers has no "now", and "去年" in a
question about it means the year before its newest issue.

It is deliberately conservative: only expressions that name a year (four digits, or
Chinese numerals like 二〇二一年), a year and month, a full date, or a relative
year / month are recognised. A bare month ("三月") or a duration ("3年", "20年来")
is not a date filter. The app shows the range found as a removable filter, so a wrong
guess costs the user one click.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass
from datetime import date

__all__ = ["DateRange", "calendar_date", "dates_in_question", "iso_date", "parse_date", "parse_iso"]

_CN_DIGITS = {"〇": 0, "零": 0, "○": 0, "Ｏ": 0, "一": 1, "二": 2, "两": 2, "三": 3, "四": 4,
              "五": 5, "六": 6, "七": 7, "八": 8, "九": 9}
_CN_NUM = "〇零○Ｏ一二两三四五六七八九十"
MIN_YEAR, MAX_YEAR = 1800, 2199

_MONTHS_EN = {m.lower(): i for i, m in enumerate(calendar.month_name) if m}
_MONTHS_EN.update({m.lower(): i for i, m in enumerate(calendar.month_abbr) if m})


@dataclass(frozen=True)
class DateRange:
    """An inclusive range of publication dates; either end may be open.

    `text` is the expression as written in the question (shown in the UI), `label` a
    normalised description such as "2021年" or "2021-03-01 – 2021-03-31".
    """

    start: date | None
    end: date | None
    text: str = ""

    @property
    def date_from(self) -> str | None:
        return self.start.isoformat() if self.start else None

    @property
    def date_to(self) -> str | None:
        return self.end.isoformat() if self.end else None

    def label(self) -> str:
        s, e = self.start, self.end
        if s and e:
            if s == e:
                return f"{s.year}年{s.month}月{s.day}日"
            if s.month == 1 and s.day == 1 and e.month == 12 and e.day == 31:
                return f"{s.year}年" if s.year == e.year else f"{s.year}–{e.year}年"
            if s.day == 1 and e.day == calendar.monthrange(e.year, e.month)[1] and (s.year, s.month) == (e.year, e.month):
                return f"{s.year}年{s.month}月"
            return f"{s.isoformat()} – {e.isoformat()}"
        if s:
            return f"{s.isoformat()} 起"
        if e:
            return f"至 {e.isoformat()}"
        return "全部日期"


_DATE_RE = re.compile(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*[日号號]?(?:[T\s].*)?$")
_COMPACT_DATE_RE = re.compile(r"^\s*(\d{4})(\d{2})(\d{2})\s*$")


def calendar_date(year: int | str, month: int | str, day: int | str) -> date:
    """`date(year, month, day)`, or ValueError naming why it is not a calendar date
    (2022-02-31: "February 2022 has 28 days"). The one place dates are validated."""
    y, m, d = int(year), int(month), int(day)
    shown = f"{y:04d}-{m:02d}-{d:02d}"
    if not 1 <= m <= 12:
        raise ValueError(f"{shown} is not a calendar date (month {m} does not exist)")
    last = calendar.monthrange(y, m)[1] if 1 <= y <= 9999 else 31
    if not 1 <= d <= last:
        raise ValueError(f"{shown} is not a calendar date ({calendar.month_name[m]} {y} has {last} days)")
    try:
        return date(y, m, d)
    except ValueError:
        raise ValueError(f"{shown} is not a calendar date") from None


def parse_date(value: object) -> date | None:
    """The one date parser for ingest, filters, CLI flags and sidecars: `2022-03-15`,
    `2022/3/15`, `2022.3.15`, `20220315`, `2022年3月15日`, with or without a time of day.

    Returns None for None or blank. Raises ValueError saying what is wrong with anything
    else: text that is not a date (`garbage`) or a date the calendar lacks (`2022-02-31`).
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, date):
        return value
    s = str(value)
    m = _DATE_RE.match(s) or _COMPACT_DATE_RE.match(s)
    if not m:
        raise ValueError(f"date {s!r} not understood (use YYYY-MM-DD)")
    return calendar_date(*m.groups())


def iso_date(value: object) -> str | None:
    """`parse_date` as the ISO string the archive stores (`YYYY-MM-DD`), or None."""
    d = parse_date(value)
    return d.isoformat() if d else None


def parse_iso(value: str | None) -> date | None:
    """`date` from a stored `YYYY-MM-DD` (or any `parse_date` spelling); None for empty or
    invalid (for reading values already in the archive, where None means "unknown")."""
    try:
        return parse_date(value)
    except ValueError:
        return None


def _cn_int(s: str) -> int | None:
    """Small Chinese or Arabic numerals: 3, 十二, 二十一, 三十一; None if not a number."""
    s = s.strip()
    if s.isdigit():
        return int(s)
    if not s or any(ch not in _CN_NUM for ch in s):
        return None
    if "十" in s:
        tens, _, ones = s.partition("十")
        t = _CN_DIGITS.get(tens, None) if tens else 1
        o = _CN_DIGITS.get(ones, None) if ones else 0
        return None if t is None or o is None else t * 10 + o
    if len(s) == 1:
        return _CN_DIGITS.get(s)
    return None


def _cn_year(s: str) -> int | None:
    """A four-digit year written in Arabic or Chinese digits (二〇二一)."""
    if s.isdigit():
        return int(s)
    if len(s) == 4 and all(ch in _CN_DIGITS for ch in s):
        return int("".join(str(_CN_DIGITS[ch]) for ch in s))
    return None


def _month_range(y: int, m: int) -> tuple[date, date]:
    return date(y, m, 1), date(y, m, calendar.monthrange(y, m)[1])


def _year_range(y: int) -> tuple[date, date]:
    return date(y, 1, 1), date(y, 12, 31)


_NUM = r"[0-9０-９]{1,2}|[" + _CN_NUM + r"]{1,3}"
_YEAR = r"(?<![0-9０-９])([0-9０-９]{4}|[〇零○Ｏ一二三四五六七八九]{4})\s*年(?:度)?"
_MONTH = r"\s*(" + _NUM + r")\s*月(?:份)?"
_DAY = r"\s*(" + _NUM + r")\s*[日号號]"
_REL_YEAR = r"(今年|本年|去年|上一年|前年|明年)"
_REL_MONTH = r"(上个月|上個月|上月|本月|这个月|這個月|这月|下个月|下個月)"
_EN_MONTH = r"(" + "|".join(sorted(_MONTHS_EN, key=len, reverse=True)) + r")\.?"

# Order matters: longer forms first, so "2022年3月15日" is one match, not three.
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("ymd", re.compile(_YEAR + _MONTH + _DAY)),
    ("iso", re.compile(r"(?<![0-9])((?:18|19|20|21)[0-9]{2})[-/.]([01]?[0-9])[-/.]([0-3]?[0-9])(?![0-9])")),
    ("ym", re.compile(_YEAR + _MONTH)),
    ("y", re.compile(_YEAR)),
    ("rel_ymd", re.compile(_REL_YEAR + _MONTH + _DAY)),
    ("rel_ym", re.compile(_REL_YEAR + _MONTH)),
    ("rel_y", re.compile(_REL_YEAR)),
    ("rel_m", re.compile(_REL_MONTH)),
    ("en_my", re.compile(r"\b" + _EN_MONTH + r"\s+((?:18|19|20|21)[0-9]{2})\b", re.I)),
    ("en_y", re.compile(r"\b(?:in|during|of|since|before|after|until|from|to|and)\s+((?:18|19|20|21)[0-9]{2})\b(?!\s*[-–/])", re.I)),
    ("en_rel", re.compile(r"\b(this year|last year|last month|this month)\b", re.I)),
]

# "2021年以来" = from 2021 on, "2021年以前" = before 2021 (Chinese and English).
_AFTER_RE = re.compile(r"^\s*(以来|以後|以后|之后|之後|起|开始|開始)")
_BEFORE_RE = re.compile(r"^\s*(以前|之前)")
_JOIN_RE = re.compile(r"^\s*(?:至|到|-|–|—|~|～|和|与|與|及|、|,|，|and|to)?\s*$", re.I)
_YEAR_WORDS = {"今年": 0, "本年": 0, "去年": -1, "上一年": -1, "前年": -2, "明年": 1}


def _resolve(kind: str, g: tuple[str, ...], latest: date) -> tuple[date, date] | None:
    """The (start, end) a single matched expression stands for, or None if invalid."""
    try:
        if kind in ("ymd", "iso"):
            y = _cn_year(_fold(g[0])) if kind == "ymd" else int(g[0])
            m, d = _cn_int(_fold(g[1])), _cn_int(_fold(g[2]))
            if y is None or m is None or d is None:
                return None
            day = calendar_date(y, m, d)
            return day, day
        if kind == "ym":
            y, m = _cn_year(_fold(g[0])), _cn_int(_fold(g[1]))
            return _month_range(y, m) if y is not None and m is not None else None
        if kind == "y":
            y = _cn_year(_fold(g[0]))
            return _year_range(y) if y is not None else None
        if kind.startswith("rel_") and kind != "rel_m":
            y = latest.year + _YEAR_WORDS[g[0]]
            if kind == "rel_y":
                return _year_range(y)
            m = _cn_int(_fold(g[1]))
            if m is None:
                return None
            if kind == "rel_ym":
                return _month_range(y, m)
            d = _cn_int(_fold(g[2]))
            day = calendar_date(y, m, d) if d is not None else None
            return (day, day) if day else None
        if kind == "rel_m":
            offset = -1 if g[0].startswith("上") else (1 if g[0].startswith("下") else 0)
            y, m = latest.year, latest.month + offset
            if m < 1:
                y, m = y - 1, 12
            elif m > 12:
                y, m = y + 1, 1
            return _month_range(y, m)
        if kind == "en_my":
            return _month_range(int(g[1]), _MONTHS_EN[g[0].lower().rstrip(".")])
        if kind == "en_y":
            return _year_range(int(g[0]))
        if kind == "en_rel":
            w = g[0].lower()
            if w.endswith("year"):
                return _year_range(latest.year - (1 if w.startswith("last") else 0))
            y, m = latest.year, latest.month - (1 if w.startswith("last") else 0)
            if m < 1:
                y, m = y - 1, 12
            return _month_range(y, m)
    except (ValueError, KeyError):
        return None
    return None


def _fold(s: str) -> str:
    """Full-width digits -> ASCII."""
    return s.translate({0xFF10 + i: 0x30 + i for i in range(10)})


def dates_in_question(question: str, latest: date | str | None = None) -> tuple[DateRange | None, str]:
    """The date range written in `question`, and the question with it removed (may be "").

    Relative expressions are resolved against `latest` (the archive's newest date,
    `Archive.facets()["date_max"]`); without it, against today. Several expressions
    ("2020年和2021年", "2019年至2021年") give the range spanning them all; "2021年以来"
    opens the end, "2021年以前" the start. Returns `(None, question)` when there is none.

    Example:
        >>> r, rest = dates_in_question("去年三月高速公路完成投资多少？", date(2026, 5, 20))
        >>> r.label(), rest
        ('2025年3月', '高速公路完成投资多少？')
    """
    if isinstance(latest, str) or latest is None:
        latest = parse_iso(latest) if latest else None
    latest = latest or date.today()
    taken: list[tuple[int, int, date, date]] = []
    for kind, pat in _PATTERNS:
        for m in pat.finditer(question):
            if any(s < m.end() and m.start() < e for s, e, _, _ in taken):
                continue
            span = _resolve(kind, m.groups(), latest)
            if span is None or not (MIN_YEAR <= span[0].year <= MAX_YEAR):
                continue
            taken.append((m.start(), m.end(), *span))
    if not taken:
        return None, question
    taken.sort()
    start: date | None = min(t[2] for t in taken)
    end: date | None = max(t[3] for t in taken)
    text = question[taken[0][0] : taken[-1][1]]
    if len(taken) == 1:
        tail = question[taken[0][1] :]
        word = text.split()[0].lower() if text.split() else ""
        after, before = _AFTER_RE.match(tail), _BEFORE_RE.match(tail)
        if after or word in ("since", "after"):
            if word == "after":  # "after 2020" excludes 2020; "2020年以后" does not
                start = date.fromordinal(taken[0][3].toordinal() + 1)
            end = None
        elif before or word in ("before", "until"):
            start = None
            if word != "until":
                end = date.fromordinal(taken[0][2].toordinal() - 1)
        if after or before:
            text += (after or before).group(0).strip()
    # drop the expressions, the words joining them (至, 和, 、) and a trailing 以来 / 以前
    cut = [[s, e] for s, e, _, _ in taken]
    for a, b in zip(cut, cut[1:]):
        if _JOIN_RE.match(question[a[1] : b[0]]):
            a[1] = b[0]
    m = _AFTER_RE.match(question[cut[-1][1] :]) or _BEFORE_RE.match(question[cut[-1][1] :])
    if m:
        cut[-1][1] += m.end()
    rest = question
    for s, e in sorted(cut, reverse=True):
        rest = rest[:s] + rest[e:]
    rest = re.sub(r"\s+([?？.,，。!！])", r"\1", re.sub(r"\s{2,}", " ", rest)).strip()
    return DateRange(start, end, text), rest
