"""Date, page label and newspaper name of a page file, from its path and a `page.json`
sidecar: `焦作日报/2022/03/15/第03版.txt`, `2022-03-15/03.txt`, `20220315-A2.txt`."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from .dates import calendar_date, iso_date
from .errors import BadInputError
from .textio import read_text

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff"


@dataclass(frozen=True)
class PageMeta:
    """Date (ISO), page label ("03", "A2") and newspaper name of one page file."""

    date: str | None = None
    page: str | None = None
    source: str | None = None


_DATE_IN_NAME_RE = re.compile(r"(?<!\d)((?:19|20)\d{2})[-_.年]?(\d{2})[-_.月]?(\d{2})日?(?!\d)")
_DATE_SEP_RE = re.compile(r"(?<!\d)((?:19|20)\d{2})[-_./年](\d{1,2})[-_./月](\d{1,2})日?(?!\d)")
_PAGE_LABEL_RE = re.compile(r"第\s*([A-Za-z]?\d{1,3}|[A-Za-z]\d{0,2})\s*版")
_PAGE_TAIL_RE = re.compile(r"(?:^|[-_.\s])(?:p|page|版)?([A-Za-z]?\d{1,3})$", re.IGNORECASE)
SIDECAR = "page.json"


def _iso(y: str, m: str, d: str) -> str | None:
    try:
        return calendar_date(y, m, d).isoformat()
    except ValueError:
        return None


def normalize_page_label(label: str) -> str:
    """`3` -> `03`, `a2` -> `A2`: page numbers as the paper prints them, zero-padded."""
    s = label.strip().upper()
    m = re.fullmatch(r"([A-Z]?)(\d+)", s)
    if not m:
        return s
    return f"{m.group(1)}{int(m.group(2)):02d}" if not m.group(1) else f"{m.group(1)}{int(m.group(2))}"


def date_from_path(parts: list[str]) -> tuple[str | None, int | None]:
    """ISO date from path components and the index of the component that ends it:
    `2022-03-15/…`, `20220315-03.txt`, or year/month/day directories `2022/03/15/…`."""
    for i, part in enumerate(parts):
        m = _DATE_SEP_RE.search(part) or _DATE_IN_NAME_RE.search(part)
        if m and (iso := _iso(*m.groups())):
            return iso, i
    for i in range(len(parts) - 2):
        y, mo, d = parts[i : i + 3]
        if re.fullmatch(r"(?:19|20)\d{2}", y) and re.fullmatch(r"\d{1,2}", mo) and re.fullmatch(r"\d{1,2}", d):
            if iso := _iso(y, mo, d):
                return iso, i + 2
    return None, None


def page_from_stem(stem: str) -> str | None:
    """Page label from a file name: `第03版`, `03`, `20220315-03`, `page3`, `A2`."""
    m = _PAGE_LABEL_RE.search(stem)
    if m:
        return normalize_page_label(m.group(1))
    rest = _DATE_IN_NAME_RE.sub("", _DATE_SEP_RE.sub("", stem)).strip("-_. ")
    if not rest:
        return None
    m = _PAGE_TAIL_RE.search(rest)
    return normalize_page_label(m.group(1)) if m else None


def source_from_path(parts: list[str], date_index: int | None) -> str | None:
    """Newspaper name: the directory just above the date directories, when it is a
    Chinese name (`焦作日报/2022/03/15/…`); generic folders like `data` are not names."""
    if date_index is None:
        return None
    first = date_index
    if date_index >= 2 and re.fullmatch(r"\d{1,2}", parts[date_index]) and re.fullmatch(r"\d{1,2}", parts[date_index - 1]):
        first = date_index - 2  # year/month/day directories
    if first >= 1 and re.search(rf"[{_CJK}]", parts[first - 1]) and not _PAGE_LABEL_RE.search(parts[first - 1]):
        return parts[first - 1]
    return None


def read_sidecar(directory: Path) -> dict[str, str]:
    """`page.json` beside the page file: {"date", "page", "source"} overrides."""
    p = directory / SIDECAR
    if not p.is_file():
        return {}
    try:
        data = json.loads(read_text(p))
    except json.JSONDecodeError as e:
        raise BadInputError(str(p), f"invalid JSON: {e.msg}", line=e.lineno) from None
    if not isinstance(data, dict):
        raise BadInputError(str(p), "expected a JSON object with keys date, page, source")
    return {k: str(data[k]) for k in ("date", "page", "source") if data.get(k) not in (None, "")}


def page_meta_from_path(path: str | Path) -> PageMeta:
    """Date, page and source from the path layout, overridden by a `page.json` sidecar."""
    p = Path(path)
    parts = list(p.parent.parts) + [p.stem]
    date, idx = date_from_path(parts)
    page = page_from_stem(p.stem)
    source = source_from_path(parts, idx)
    side = read_sidecar(p.parent)
    if "date" in side:
        date = normalize_date(side["date"], p.parent / SIDECAR)
    if "page" in side:
        page = normalize_page_label(side["page"])
    source = side.get("source", source)
    return PageMeta(date=date, page=page, source=source)


def normalize_date(value: str, where: str | Path) -> str:
    m = _DATE_SEP_RE.search(value) or _DATE_IN_NAME_RE.search(value)
    try:
        return calendar_date(*m.groups()).isoformat() if m else str(iso_date(value))
    except ValueError as e:
        raise BadInputError(str(where), str(e)) from None
