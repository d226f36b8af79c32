"""Readers: turn input files into `ArticleRecord`s, reporting bad input instead of failing.

- `.jsonl` / `.json`: article records (`id` or `doc_id`, `title`, `text`, optional `date`,
  `page`, `source`, `byline`; any other field is kept as metadata).
- `.txt`, `.html` / `.htm`, `.pdf`: newspaper pages, split into articles by
  `qa.page` (a page with a single article yields one record). `fmt="article"` reads a
  text file as exactly one article instead.
Directories recurse (sorted, hidden files and `page.json` sidecars skipped).

Every problem becomes an `IngestFailure` naming the file and, for JSON Lines, the line;
the rest of the input goes on.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

from .errors import BadInputError
from .records import ArticleRecord, IngestFailure
from .textio import decode_bytes, read_text

logger = logging.getLogger(__name__)

InputFormat = Literal["auto", "page", "article"]

RECORD_SUFFIXES = {".jsonl", ".json"}
PAGE_SUFFIXES = {".txt", ".html", ".htm", ".pdf"}
SUPPORTED_SUFFIXES = RECORD_SUFFIXES | PAGE_SUFFIXES

ID_FIELDS = ("id", "doc_id")
TEXT_FIELDS = ("text", "content", "body")
TITLE_FIELDS = ("title", "headline")
KNOWN_FIELDS = {*ID_FIELDS, *TEXT_FIELDS, *TITLE_FIELDS, "date", "page", "source", "byline"}

_DATE_RE = re.compile(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?(?:[T\s].*)?$")
_COMPACT_DATE_RE = re.compile(r"^\s*(\d{4})(\d{2})(\d{2})\s*$")


def normalize_date(value: Any) -> str | None:
    """ISO `YYYY-MM-DD` from common spellings (2022-03-15, 2022/3/15, 20220315, 2022年3月15日,
    with or without a time); None if empty. Raises ValueError when not understood."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    s = str(value)
    m = _DATE_RE.match(s) or _COMPACT_DATE_RE.match(s)
    if not m:
        raise ValueError(f"date {s!r} not understood (use YYYY-MM-DD)")
    y, mo, d = (int(g) for g in m.groups())
    if not (1 <= mo <= 12 and 1 <= d <= 31):
        raise ValueError(f"date {s!r} is not a calendar date")
    return f"{y:04d}-{mo:02d}-{d:02d}"


def iter_files(paths: Iterable[str | Path]) -> Iterator[Path | IngestFailure]:
    """Files to read, in a stable order; missing paths become failures."""
    for p in paths:
        path = Path(p)
        if path.is_dir():
            for f in sorted(path.rglob("*")):
                rel = f.relative_to(path)
                if f.is_file() and not any(part.startswith(".") for part in rel.parts) and f.name != "page.json":
                    if f.suffix.lower() in SUPPORTED_SUFFIXES:
                        yield f
                    else:
                        logger.info("skipping %s: not a supported file type", f)
        elif path.is_file():
            yield path
        else:
            yield IngestFailure(str(path), "no such file or directory")


def record_from_dict(obj: Any, path: Path, line: int | None, fallback_id: str) -> ArticleRecord:
    """Validate one JSON record; raises BadInputError naming file and line."""
    if not isinstance(obj, dict):
        raise BadInputError(str(path), f"expected a JSON object, got {type(obj).__name__}", line)
    text = next((obj[f] for f in TEXT_FIELDS if isinstance(obj.get(f), str)), None)
    if text is None or not text.strip():
        raise BadInputError(str(path), "record has no text (expected a non-empty 'text' field)", line)
    rid = next((obj[f] for f in ID_FIELDS if obj.get(f) not in (None, "")), None)
    rid = str(rid) if rid is not None else fallback_id
    title = next((obj[f] for f in TITLE_FIELDS if isinstance(obj.get(f), str) and obj[f].strip()), None)
    title = title.strip() if title else derive_title(text)
    try:
        date = normalize_date(obj.get("date"))
    except ValueError as e:
        raise BadInputError(str(path), str(e), line) from None
    page = obj.get("page")
    meta = {k: v for k, v in obj.items() if k not in KNOWN_FIELDS}
    return ArticleRecord(
        id=rid,
        title=title,
        text=text.strip(),
        date=date,
        page=str(page) if page not in (None, "") else None,
        source=(str(obj["source"]).strip() or None) if obj.get("source") else None,
        byline=(str(obj["byline"]).strip() or None) if obj.get("byline") else None,
        source_file=str(path),
        source_line=line,
        metadata=meta,
    )


def derive_title(text: str, limit: int = 30) -> str:
    """A title for untitled text: its first line or sentence, shortened."""
    first = text.strip().split("\n", 1)[0]
    first = re.split(r"(?<=[。！？!?])", first, maxsplit=1)[0].strip()
    return first if len(first) <= limit else first[:limit] + "…"


def read_jsonl(path: Path) -> Iterator[ArticleRecord | IngestFailure]:
    try:
        text = decode_bytes(path.read_bytes(), path)
    except BadInputError as e:
        yield IngestFailure(e.path, e.reason)
        return
    except OSError as e:
        yield IngestFailure(str(path), f"cannot read: {e.strerror or e}")
        return
    if not text.strip():
        yield IngestFailure(str(path), "empty file")
        return
    for n, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            yield IngestFailure(str(path), f"invalid JSON: {e.msg} at column {e.colno}", n)
            continue
        try:
            yield record_from_dict(obj, path, n, f"{path.stem}-{n}")
        except BadInputError as e:
            yield IngestFailure(e.path, e.reason, e.line)


def read_json(path: Path) -> Iterator[ArticleRecord | IngestFailure]:
    try:
        text = read_text(path)
    except BadInputError as e:
        yield IngestFailure(e.path, e.reason)
        return
    if not text.strip():
        yield IngestFailure(str(path), "empty file")
        return
    try:
        obj = json.loads(text)
    except json.JSONDecodeError as e:
        yield IngestFailure(str(path), f"invalid JSON: {e.msg} at column {e.colno}", e.lineno)
        return
    if isinstance(obj, dict) and isinstance(obj.get("articles"), list):
        obj = obj["articles"]
    items = obj if isinstance(obj, list) else [obj]
    for i, item in enumerate(items):
        try:
            yield record_from_dict(item, path, None, f"{path.stem}-{i + 1}")
        except BadInputError as e:
            yield IngestFailure(e.path, f"record {i + 1}: {e.reason}")


def read_article_text(path: Path) -> ArticleRecord:
    """One text file = one article: a short first line is the title, else the file name."""
    text = read_text(path).strip()
    if not text:
        raise BadInputError(str(path), "empty file")
    first, _, rest = text.partition("\n")
    if rest.strip() and len(first.strip()) <= 40 and not re.search(r"[。！？!?]$", first.strip()):
        title, body = first.strip(), rest.strip()
    else:
        title, body = path.stem, text
    return ArticleRecord(id=path.stem, title=title, text=body, source_file=str(path))


def read_file(path: Path, fmt: InputFormat = "auto", **page_meta: Any) -> Iterator[ArticleRecord | IngestFailure]:
    """Records (or failures) from one file, choosing the reader by suffix unless `fmt` says."""
    suffix = path.suffix.lower()
    if suffix == ".jsonl" and fmt != "page":
        yield from read_jsonl(path)
        return
    if suffix == ".json" and fmt != "page":
        yield from read_json(path)
        return
    if suffix not in PAGE_SUFFIXES and fmt == "auto":
        yield IngestFailure(str(path), f"unsupported file type {suffix or '(none)'}; supported: {', '.join(sorted(SUPPORTED_SUFFIXES))}")
        return
    try:
        if fmt == "article":
            yield read_article_text(path)
        else:
            from .page import read_page

            meta = {k: v for k, v in page_meta.items() if v is not None}
            yield from read_page(path, **meta)
    except BadInputError as e:
        yield IngestFailure(e.path, e.reason, e.line)


def read_inputs(
    paths: Iterable[str | Path], fmt: InputFormat = "auto", **page_meta: Any
) -> Iterator[ArticleRecord | IngestFailure]:
    """Every record from every file under `paths` (files or directories)."""
    for item in iter_files(paths):
        if isinstance(item, IngestFailure):
            yield item
            continue
        try:
            yield from read_file(item, fmt, **page_meta)
        except Exception as e:  # a reader bug must not lose the rest of the ingest
            logger.exception("reader failed on %s", item)
            yield IngestFailure(str(item), f"could not be read: {type(e).__name__}: {e}")


def with_defaults(rec: ArticleRecord, source: str | None = None) -> ArticleRecord:
    """Fill a missing source from the ingest call (e.g. the newspaper name)."""
    return replace(rec, source=rec.source or source) if source and not rec.source else rec
