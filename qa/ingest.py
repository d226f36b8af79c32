"""Readers: turn input files into `ArticleRecord`s, reporting bad input instead of failing.

- `.jsonl` / `.json`: article records (`id` or `doc_id`, `title`, `text`, optional `date`,
  `page`, `source`, `byline`; any other field is kept as metadata).
- `.txt`, `.html` / `.htm` / `.xhtml`, `.pdf`: newspaper pages, split into articles by
  `qa.page` (a page with a single article yields one record). `fmt="article"` reads a
  text file as exactly one article instead.
`FILE_TYPES` is the one table of supported suffixes (ingest, uploads and help text use it).
Directories recurse (sorted, hidden files and `page.json` sidecars skipped).

Every problem becomes an `IngestFailure` naming the file and, for JSON Lines, the line;
the rest of the input goes on.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any, Literal

from .dates import iso_date
from .errors import BadInputError
from .records import ArticleRecord, IngestFailure
from .textio import decode_bytes, read_text

logger = logging.getLogger(__name__)

InputFormat = Literal["auto", "page", "article"]

# The one table of supported file types: suffix -> (reader, what it holds). Ingest, the
# upload check and every help text are built from it, so they cannot disagree.
FILE_TYPES: dict[str, tuple[Literal["records", "page"], str]] = {
    ".jsonl": ("records", "JSON Lines, one article record per line"),
    ".json": ("records", "a JSON article record, a list of them, or {\"articles\": [...]}"),
    ".txt": ("page", "newspaper page text (UTF-8, UTF-16, GB18030/GBK/GB2312 or Big5)"),
    ".html": ("page", "newspaper page as HTML"),
    ".htm": ("page", "newspaper page as HTML"),
    ".xhtml": ("page", "newspaper page as XHTML"),
    ".pdf": ("page", "newspaper page as PDF with a text layer (no OCR)"),
}
RECORD_SUFFIXES = frozenset(s for s, (kind, _) in FILE_TYPES.items() if kind == "records")
PAGE_SUFFIXES = frozenset(s for s, (kind, _) in FILE_TYPES.items() if kind == "page")
SUPPORTED_SUFFIXES = frozenset(FILE_TYPES)


def supported_types_text() -> str:
    """`.jsonl .json .txt ...` for help texts and error messages."""
    return " ".join(FILE_TYPES)


ID_FIELDS = ("id", "doc_id")
TEXT_FIELDS = ("text", "content", "body")
TITLE_FIELDS = ("title", "headline")
KNOWN_FIELDS = {*ID_FIELDS, *TEXT_FIELDS, *TITLE_FIELDS, "date", "page", "source", "byline"}


def normalize_date(value: Any) -> str | None:
    """ISO `YYYY-MM-DD` from common spellings, None if empty (see `qa.dates.parse_date`).
    Raises ValueError naming a value that is not a date or not a calendar date."""
    return iso_date(value)


def derived_id(title: str, text: str, date: str | None, page: str | None, source: str | None) -> str:
    """Id for a record that has none: a digest of what it says. The same record gets the
    same id on every re-ingest wherever the file lies or whatever it is called, and two
    different records never share one (file names and line numbers both collide:
    `2019/articles.jsonl` and `2020/articles.jsonl`, or two uploads of one name). An edited
    record is a new article; give records an `id` to update them in place."""
    payload = json.dumps([title, text, date, page, source], ensure_ascii=False)
    return "rec-" + hashlib.sha256(payload.encode("utf-8", "surrogatepass")).hexdigest()[:16]


def check_id(value: Any) -> str:
    """A record id as the archive stores it: a non-blank string (an integer is accepted
    and written in decimal). Raises ValueError naming what is wrong."""
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise ValueError(f"id must be a string, got {type(value).__name__} {value!r:.40}")
    rid = str(value)
    if not rid.strip():
        raise ValueError(f"id {rid!r} is blank")
    if rid != rid.strip():
        raise ValueError(f"id {rid!r} has leading or trailing spaces")
    return rid


_SURROGATE_RE = re.compile("[\ud800-\udfff]")


def _valid_unicode(value: Any) -> Any:
    """Lone surrogates (`"\\ud800"` is legal JSON) replaced by U+FFFD in every string of a
    JSON value: SQLite cannot store them, and one bad escape should not cost the article."""
    if isinstance(value, str):
        return _SURROGATE_RE.sub("\ufffd", value)
    if isinstance(value, list):
        return [_valid_unicode(v) for v in value]
    if isinstance(value, dict):
        return {_valid_unicode(k): _valid_unicode(v) for k, v in value.items()}
    return value


def check_record(rec: ArticleRecord) -> ArticleRecord:
    """Validate a record before it is stored: `Archive.ingest_records` takes records from
    any caller, not only from the readers here. Raises BadInputError naming the record."""
    where = rec.source_file or "record"
    try:
        check_id(rec.id)
    except ValueError as e:
        raise BadInputError(where, str(e), rec.source_line) from None
    if not isinstance(rec.text, str):
        raise BadInputError(where, f"record {rec.id!r}: text must be a string, got {type(rec.text).__name__}", rec.source_line)
    if not any(ch.isalnum() for ch in rec.text):
        raise BadInputError(where, f"record {rec.id!r}: text is empty (nothing to search)", rec.source_line)
    if rec.title is not None and not isinstance(rec.title, str):
        raise BadInputError(where, f"record {rec.id!r}: title must be a string, got {type(rec.title).__name__}", rec.source_line)
    for name in ("date", "page", "source", "byline"):
        v = getattr(rec, name)
        if v is not None and not isinstance(v, str):
            raise BadInputError(where, f"record {rec.id!r}: {name} must be a string, got {type(v).__name__}", rec.source_line)
    try:
        date = iso_date(rec.date)
    except ValueError as e:
        raise BadInputError(where, f"record {rec.id!r}: {e}", rec.source_line) from None
    if _SURROGATE_RE.search(rec.id):
        raise BadInputError(where, f"id {rec.id!r} is not valid Unicode (a lone surrogate)", rec.source_line)
    fields = (rec.title, rec.text, rec.page, rec.source, rec.byline, json.dumps(rec.metadata, ensure_ascii=False, default=str))
    if any(f and _SURROGATE_RE.search(f) for f in fields):
        rec = replace(rec, title=_valid_unicode(rec.title), text=_valid_unicode(rec.text), page=_valid_unicode(rec.page),
                      source=_valid_unicode(rec.source), byline=_valid_unicode(rec.byline), metadata=_valid_unicode(rec.metadata))
    if not rec.title or not rec.title.strip():
        rec = replace(rec, title=derive_title(rec.text))
    return replace(rec, date=date) if date != rec.date else rec


def check_records(records: Iterable[ArticleRecord]) -> tuple[list[ArticleRecord], list[IngestFailure]]:
    """(valid records, one failure per invalid record); see `check_record`."""
    good: list[ArticleRecord] = []
    bad: list[IngestFailure] = []
    for r in records:
        try:
            good.append(check_record(r))
        except BadInputError as e:
            bad.append(IngestFailure(e.path, e.reason, e.line))
    return good, bad


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


def record_from_dict(obj: Any, path: Path, line: int | None) -> ArticleRecord:
    """Validate one JSON record; raises BadInputError naming file and line."""
    if not isinstance(obj, dict):
        raise BadInputError(str(path), f"expected a JSON object, got {type(obj).__name__}", line)
    text = next((obj[f] for f in TEXT_FIELDS if isinstance(obj.get(f), str)), None)
    if text is None or not text.strip():
        raise BadInputError(str(path), "record has no text (expected a non-empty 'text' field)", line)
    title = next((obj[f] for f in TITLE_FIELDS if isinstance(obj.get(f), str) and obj[f].strip()), None)
    title = title.strip() if title else derive_title(text)
    try:
        date = normalize_date(obj.get("date"))
    except ValueError as e:
        raise BadInputError(str(path), str(e), line) from None
    page = obj.get("page")
    page = str(page).strip() or None if page not in (None, "") else None
    source = (str(obj["source"]).strip() or None) if obj.get("source") else None
    raw_id = next((obj[f] for f in ID_FIELDS if obj.get(f) not in (None, "")), None)
    try:
        rid = check_id(raw_id) if raw_id is not None else derived_id(title, text.strip(), date, page, source)
    except ValueError as e:
        raise BadInputError(str(path), str(e), line) from None
    meta = {k: v for k, v in obj.items() if k not in KNOWN_FIELDS}
    return ArticleRecord(
        id=rid,
        title=title,
        text=text.strip(),
        date=date,
        page=page,
        source=source,
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
        except RecursionError:  # `[[[[…` thousands deep: one bad line, not a lost file
            yield IngestFailure(str(path), "invalid JSON: nested too deeply", n)
            continue
        try:
            yield record_from_dict(obj, path, n)
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
    except RecursionError:
        yield IngestFailure(str(path), "invalid JSON: nested too deeply")
        return
    if isinstance(obj, dict) and isinstance(obj.get("articles"), list):
        obj = obj["articles"]
    items = obj if isinstance(obj, list) else [obj]
    for i, item in enumerate(items):
        try:
            yield record_from_dict(item, path, None)
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
        yield IngestFailure(str(path), f"unsupported file type {suffix or '(none)'}; supported: {supported_types_text()}")
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
