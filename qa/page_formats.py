"""Page text out of HTML and PDF e-paper pages, in the shape `qa.page.parse_page` reads.

HTML: markup, scripts, styles and site boilerplate (navigation, headers, footers, side
bars, forms) are dropped; block elements become paragraphs (one blank line apart) and
h1-h3 become headline lines set off by a block gap, which is what the page parser takes
as "a new article starts here". PDF: the text layer only (pypdf); no OCR.
"""

from __future__ import annotations

import logging
import re
from pathlib import Path

from .errors import BadInputError

logger = logging.getLogger(__name__)

_DROP_TAGS = ("script", "style", "noscript", "template", "iframe", "svg", "canvas", "nav", "header", "footer", "aside", "form", "button", "select", "head")
_BOILERPLATE_RE = re.compile(r"(?:^|[-_\s])(nav|navbar|menu|footer|sidebar|breadcrumbs?|share|social|comments?|copyright|advert|ads|banner|toolbar)(?:[-_\s]|$)", re.I)
_HEADINGS = ("h1", "h2", "h3")
_BLOCKS = (
    "p", "div", "section", "article", "main", "li", "ul", "ol", "dl", "dt", "dd", "tr", "table",
    "blockquote", "pre", "figure", "figcaption", "h4", "h5", "h6", "td", "th", "center", "address",
)
_GAP = "\x00GAP\x00"
_PARA = "\x00PARA\x00"


def _is_boilerplate(tag) -> bool:  # type: ignore[no-untyped-def]
    """Containers whose class or id says they are site furniture (`class="nav-bar"`)."""
    attrs = getattr(tag, "attrs", None) or {}
    names = " ".join(attrs.get("class", []) or []) + " " + str(attrs.get("id", "") or "")
    return bool(_BOILERPLATE_RE.search(names))


def html_to_text(html: str) -> str:
    """Visible article text of an HTML page, one paragraph per block, entities decoded."""
    from bs4 import BeautifulSoup, Comment

    soup = BeautifulSoup(html, "html.parser")
    for c in soup.find_all(string=lambda s: isinstance(s, Comment)):
        c.extract()
    for tag in soup.find_all(_DROP_TAGS):
        tag.decompose()
    for tag in soup.find_all(True):
        if not getattr(tag, "decomposed", False) and tag.attrs is not None and _is_boilerplate(tag):
            tag.decompose()
    root = soup.body or soup
    for br in root.find_all("br"):
        br.replace_with("\n")
    for tag in root.find_all(_HEADINGS):
        prev = tag.find_previous_sibling(True)
        stacked = prev is not None and prev.name in _HEADINGS  # kicker h2 + title h1: one stack
        tag.insert_before(_PARA if stacked else _GAP)
        tag.insert_after(_PARA)
    for tag in root.find_all(_BLOCKS):
        tag.insert_before(_PARA)
        tag.insert_after(_PARA)
    return _tidy(root.get_text(""))


def _tidy(raw: str) -> str:
    """Collapse whitespace inside lines; markers become one blank line (paragraph) or
    three (block gap before a headline)."""
    text = raw.replace("\r\n", "\n").replace("\r", "\n")
    text = re.sub(r"[ \t\u3000\xa0]+", " ", text)
    text = re.sub(r" *\n *", "\n", text)
    text = text.replace(_GAP, "\n\x01\n").replace(_PARA, "\n\x02\n")
    lines = [ln.strip() for ln in text.split("\n")]
    out: list[str] = []
    pending = 0  # 0 none, 1 paragraph break, 2 block gap
    for ln in lines:
        if ln == "\x01":
            pending = 2
        elif ln in ("\x02", ""):
            pending = max(pending, 1)
        else:
            if out:
                out.extend([""] * (3 if pending == 2 else 1 if pending == 1 else 0))
            out.append(ln)
            pending = 0
    return "\n".join(out).strip() + "\n" if out else ""


def pdf_to_text(path: str | Path) -> str:
    """The text layer of every page, pages separated by a block gap.

    Scanned pages without a text layer raise `BadInputError`: OCR is not supported."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    p = Path(path)
    try:
        reader = PdfReader(str(p))
        if reader.is_encrypted:
            reader.decrypt("")
        pages = [(pg.extract_text() or "") for pg in reader.pages]
    except (PdfReadError, OSError, ValueError, KeyError, TypeError) as e:
        raise BadInputError(str(p), f"not a readable PDF: {e}") from None
    except Exception as e:  # pypdf raises assorted errors on damaged files
        raise BadInputError(str(p), f"not a readable PDF: {type(e).__name__}: {e}") from None
    text = "\n\n\n".join(t.strip() for t in pages if t.strip())
    if not text.strip():
        raise BadInputError(str(p), "no text layer; OCR is not supported")
    logger.debug("%s: %d PDF pages, %d characters", p, len(pages), len(text))
    return text + "\n"
