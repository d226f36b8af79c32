"""Turn one newspaper page, as extracted from its layout, into article records.

The page parser runs in stages, one module each:

* `qa.page_blocks`: page text -> lines with the blank lines around them -> classified
  lines (editor line, furniture, caption, credit, note, byline, label, heading, body),
  using the one-line rules of `qa.page_lines`;
* `qa.page_articles`: classified lines -> articles (where articles start, column breaks,
  banners, captions and notes);
* `qa.page_meta`: date, page label and newspaper from the path and a `page.json` sidecar;
* `qa.page_formats`: HTML and PDF pages to the same text shape.

This module joins them (`parse_page`, `read_page`) and turns articles into records; the
names other modules and tests use are re-exported here.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import Any

from .errors import BadInputError
from .page_articles import PageArticle, ParsedPage, Walker, headline_score, starts_article
from .page_blocks import BLOCK_GAP, Caption, classify_lines
from .page_lines import (
    _CJK,
    MAX_BARE_CAPTION_CHARS,
    MAX_CAPTION_CHARS,
    MAX_HEADING_CHARS,
    ends_sentence,
    is_heading_shaped,
    is_note,
    is_page_furniture,
    is_photo_caption_lead,
    is_section_label,
    join_broken,
    looks_like_bare_caption,
    looks_like_name,
    parse_byline,
    parse_editor_line,
    split_credit,
    split_dateline,
    split_heading_stack,
    split_place_kicker,
)
from .page_meta import (
    _DATE_IN_NAME_RE,
    _DATE_SEP_RE,
    _PAGE_LABEL_RE,
    SIDECAR,
    PageMeta,
    date_from_path,
    normalize_date,
    normalize_page_label,
    page_from_stem,
    page_meta_from_path,
    read_sidecar,
    source_from_path,
)
from .records import ArticleRecord
from .textio import read_text

__all__ = [
    "BLOCK_GAP", "MAX_BARE_CAPTION_CHARS", "MAX_CAPTION_CHARS", "MAX_HEADING_CHARS", "SIDECAR",
    "Caption", "PageArticle", "PageMeta", "ParsedPage", "article_id", "classify_lines", "date_from_path",
    "ends_sentence", "fallback_title", "headline_score", "is_heading_shaped", "is_note", "is_page_furniture",
    "is_photo_caption_lead", "is_section_label", "join_broken", "looks_like_bare_caption", "looks_like_name",
    "normalize_page_label", "page_from_stem", "page_meta_from_path", "parse_byline", "parse_editor_line",
    "parse_page", "read_page", "read_sidecar", "slug", "source_from_path", "split_credit", "split_dateline",
    "split_heading_stack", "split_place_kicker", "starts_article",
]

logger = logging.getLogger(__name__)


def parse_page(text: str) -> ParsedPage:
    """Articles, editors and notes of one page of layout-extracted text.

    Articles without a printed headline get title "" (`read_page` supplies a fallback)."""
    page = Walker(classify_lines(text)).run()
    logger.debug("parsed page: %d articles, editors %s", len(page.articles), page.editors)
    return page


# --------------------------------------------------------------------------- records


def slug(text: str) -> str:
    """Stable id fragment: letters, digits and CJK kept, everything else becomes `-`."""
    s = re.sub(rf"[^0-9A-Za-z{_CJK}]+", "-", text).strip("-").lower()
    return s or "page"


def fallback_title(stem: str, body: str) -> str:
    """Title for a page without a headline: the file name when it reads like a title
    (has Chinese and is not a date/page label), else the first sentence, shortened."""
    bare = _PAGE_LABEL_RE.sub("", _DATE_IN_NAME_RE.sub("", _DATE_SEP_RE.sub("", stem)))
    if len(re.findall(rf"[{_CJK}]", bare)) >= 2:
        return stem.strip()
    first = re.split(r"(?<=[。！？!?；;])", body.strip(), maxsplit=1)[0].strip()
    return first if len(first) <= 30 else first[:30] + "…"


def _load_text(p: Path) -> str:
    suffix = p.suffix.lower()
    if suffix in (".html", ".htm", ".xhtml"):
        from .page_formats import html_to_text

        return html_to_text(read_text(p))
    if suffix == ".pdf":
        from .page_formats import pdf_to_text

        return pdf_to_text(p)
    return read_text(p)


def article_id(meta: PageMeta, stem: str, ordinal: int) -> str:
    """`2022-03-15-03-01`: date-page-ordinal, stable across re-ingests of the same page.
    The file stem stands in for a missing date or page; a known source prefixes the id so
    two papers' page 3 of one day do not collide."""
    if meta.date and meta.page:
        base = f"{meta.date}-{meta.page}"
    elif meta.date:
        base = f"{meta.date}-{slug(stem)}"
    else:
        base = f"nodate-{slug(stem)}" + (f"-{meta.page}" if meta.page and meta.page != slug(stem) else "")
    if meta.source:
        base = f"{slug(meta.source)}-{base}"
    return f"{base}-{ordinal:02d}"


def read_page(
    path: str | Path,
    *,
    date: str | None = None,
    page: str | None = None,
    source: str | None = None,
    text: str | None = None,
) -> list[ArticleRecord]:
    """One page file -> one ArticleRecord per article plus one per photo caption.

    Metadata comes from the path, then `page.json`, then the explicit arguments. Raises
    `BadInputError` naming the file for empty, binary or unreadable pages and for pages
    that hold only photo captions."""
    p = Path(path)
    base = page_meta_from_path(p)
    meta = PageMeta(
        date=normalize_date(date, p) if date else base.date,
        page=normalize_page_label(page) if page else base.page,
        source=source or base.source,
    )
    raw = _load_text(p) if text is None else text
    if not raw.strip():
        raise BadInputError(str(p), "empty page: no text")
    parsed = parse_page(raw)
    if not parsed.articles:
        if parsed.captions:
            raise BadInputError(str(p), "only photo captions, no article text")
        raise BadInputError(str(p), "no article text on the page (only headings, editor line or notes)")
    line_numbers = text is None and p.suffix.lower() not in (".html", ".htm", ".xhtml", ".pdf")
    records: list[ArticleRecord] = []
    for n, art in enumerate(parsed.articles, start=1):
        records.extend(_records_for(art, n, parsed, meta, p, line_numbers))
    return records


def _records_for(
    art: PageArticle, ordinal: int, parsed: ParsedPage, meta: PageMeta, p: Path, line_numbers: bool
) -> list[ArticleRecord]:
    aid = article_id(meta, p.stem, ordinal)
    title = art.title
    if not title:
        title = fallback_title(p.stem, art.body)
        logger.warning("%s: article %d has no headline; titled %r", p, ordinal, title)
    md: dict[str, Any] = {
        "kind": "article",
        "ordinal": ordinal,
        "section_title": art.section_title,
        "kicker": art.kicker,
        "subtitle": art.subtitle,
        "heads": list(art.heads),
        "dateline": art.dateline,
        "editors": dict(parsed.editors),
        "notes": list(art.notes),
        "page_notes": list(parsed.notes),
        "captions": [{"text": c.text, "credit": c.credit} for c in art.captions],
        "untitled": not art.title or None,
    }
    md = {k: v for k, v in md.items() if v not in (None, "", [], {})}
    common = dict(date=meta.date, page=meta.page, source=meta.source, source_file=str(p))
    line = art.line if line_numbers else None
    # the banner over the article's part of the page is searchable with it: its first line
    text = f"{art.section_title}\n\n{art.body}" if art.section_title else art.body
    out = [ArticleRecord(id=aid, title=title, text=text, byline=art.byline, source_line=line, metadata=md, **common)]
    for k, cap in enumerate(art.captions, start=1):
        cap_title = cap.text.strip() or (f"图片 {cap.credit}" if cap.credit else "图片")
        cap_text = (cap.text.strip() + (" " + cap.credit if cap.credit else "")).strip()
        out.append(
            ArticleRecord(
                id=f"{aid}-photo-{k}",
                title=cap_title,
                text=cap_text,
                byline=cap.credit,
                metadata={"kind": "caption", "article_id": aid, "article_title": title},
                **common,
            )
        )
    return out
