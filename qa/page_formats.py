"""Page text out of HTML and PDF e-paper pages, in the shape `qa.page.parse_page` reads.

HTML: markup, scripts, styles and site boilerplate (navigation, headers, footers, side
bars, forms) are dropped; block elements become paragraphs (one blank line apart) and
h1-h3 become headline lines set off by a block gap, which is what the page parser takes
as "a new article starts here". PDF: the text layer only (pypdf); no OCR.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from dataclasses import dataclass
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
    """The text layer of every page, columns unwrapped, pages separated by a block gap.

    A multi-column e-paper page's text layer holds one text run per printed line (or per
    character); `_page_layout` puts the lines back into columns and paragraphs so the
    page parser sees the same shape as a text page. Scanned pages without a text layer
    raise `BadInputError`: OCR is not supported."""
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    p = Path(path)
    try:
        reader = PdfReader(str(p))
        if reader.is_encrypted:
            reader.decrypt("")
        pages = [_page_text(pg) for pg in reader.pages]
    except (PdfReadError, OSError, ValueError, KeyError, TypeError) as e:
        raise BadInputError(str(p), f"not a readable PDF: {e}") from None
    except Exception as e:  # pypdf raises assorted errors on damaged files
        raise BadInputError(str(p), f"not a readable PDF: {type(e).__name__}: {e}") from None
    text = "\n\n\n".join(t.strip() for t in pages if t.strip())
    if not text.strip():
        raise BadInputError(str(p), "no text layer; OCR is not supported")
    logger.debug("%s: %d PDF pages, %d characters", p, len(pages), len(text))
    return _fold_radicals(text) + "\n"


# simplified forms in the CJK Radicals Supplement have no Unicode decomposition
_RADICAL_SUPPLEMENT = dict(zip(
    "\u2ea0\u2ec4\u2ec5\u2ec6\u2ec9\u2eca\u2ecb\u2ed3\u2ed4\u2ed8\u2eda\u2edb\u2edc\u2edd\u2ee2\u2ee5\u2ee6\u2ee8\u2ee9\u2eec\u2eee\u2ef0",
    "民西见角贝足车长门青页风飞食马鱼鸟麦黄齐齿龙",
))


def _fold_radicals(text: str) -> str:
    """PDF fonts often map CJK characters to their Kangxi-radical or compatibility
    code points (`⼯` U+2F2F for `工`, `⻓` U+2ED3 for `长`); fold those back, leaving
    full-width punctuation alone (NFKC on the whole text would turn `，` into `,`)."""
    def fold(m: re.Match[str]) -> str:
        c = m.group(0)
        return _RADICAL_SUPPLEMENT.get(c) or unicodedata.normalize("NFKC", c)

    return re.sub(r"[\u2e80-\u2fdf\uf900-\ufaff]", fold, text)


@dataclass
class _Line:
    x0: float
    x1: float
    y: float  # baseline, PDF space (up is larger)
    size: float
    text: str


def _page_text(page) -> str:  # type: ignore[no-untyped-def]
    runs: list[tuple[float, float, float, str]] = []

    def visit(text, cm, tm, _font, font_size):  # type: ignore[no-untyped-def]
        if text and text.strip():
            x = tm[4] * cm[0] + tm[5] * cm[2] + cm[4]
            y = tm[4] * cm[1] + tm[5] * cm[3] + cm[5]
            scale = abs(tm[0] * cm[0] + tm[1] * cm[2]) or 1.0
            runs.append((x, y, max(font_size * scale, 1.0), text.replace("\n", " ")))

    plain = page.extract_text(visitor_text=visit) or ""
    try:
        lines = _lines(runs)
        return _layout(lines) if len(lines) >= 2 else plain
    except (ValueError, TypeError, ZeroDivisionError, IndexError) as e:  # odd text matrices
        logger.warning("PDF page layout not recovered (%s); using the text layer as it comes", e)
        return plain


def _lines(runs: list[tuple[float, float, float, str]]) -> list[_Line]:
    """Text runs -> printed lines: runs on one baseline, left to right, one line."""
    out: list[_Line] = []
    for x, y, size, text in runs:
        cur = out[-1] if out else None
        if cur is not None and abs(y - cur.y) <= 0.35 * size and -size < x - cur.x1 < 3 * size:
            gap = x - cur.x1
            # CJK glyphs are set edge to edge, so any visible gap is a space; Latin
            # widths are estimated, so only a wide gap counts there
            cjk = _is_cjk(cur.text[-1:]) and _is_cjk(text[:1])
            sep = " " if gap > (0.12 if cjk else 0.6) * size else ""
            cur.text += sep + text
            cur.x1 = x + _width(text, size)
            continue
        out.append(_Line(x, x + _width(text, size), y, size, text))
    for ln in out:
        ln.text = ln.text.strip()
    return [ln for ln in out if ln.text]


def _is_cjk(ch: str) -> bool:
    return bool(ch) and "\u2e80" <= ch <= "\u9fff" or ch in "，。、；：？！“”（）《》"


def _width(text: str, size: float) -> float:
    return sum(size if _is_cjk(c) or ord(c) > 0x2e80 else 0.5 * size for c in text)


def _layout(lines: list[_Line]) -> str:
    """Columns left to right, each top to bottom; a paragraph ends where the next line is
    indented, further down than the line pitch, in another type size, or where the line
    stops short of the column's right edge. Paragraphs are one blank line apart; a change
    of type size or a wide vertical gap is a block gap (three blank lines)."""
    body = sorted(ln.size for ln in lines)[len(lines) // 2]
    columns: list[list[_Line]] = []
    for ln in sorted(lines, key=lambda l: l.x0):
        for col in columns:
            if abs(ln.x0 - col[0].x0) <= 2.5 * body:
                col.append(ln)
                break
        else:
            columns.append([ln])
    out: list[str] = []
    para = ""
    prev: _Line | None = None
    prev_right = 0.0  # right edge of the column `prev` sits in
    for col in sorted(columns, key=lambda c: min(l.x0 for l in c)):
        col.sort(key=lambda l: -l.y)
        left = min(l.x0 for l in col)
        right = max(l.x1 for l in col)
        pitches = sorted(a.y - b.y for a, b in zip(col, col[1:]) if abs(a.size - body) < 0.5 and abs(b.size - body) < 0.5)
        pitch = pitches[len(pitches) // 4] if pitches else 1.5 * body
        for k, ln in enumerate(col):
            if prev is None:
                para, prev, prev_right = ln.text, ln, right
                continue
            size_change = abs(ln.size - prev.size) > 0.15 * body
            drop = prev.y - ln.y if k else 0.0  # the top of the next column follows the bottom of this one
            indented = ln.x0 - left > 0.8 * body
            short = prev_right - prev.x1 > 1.5 * prev.size
            if ln.size > body * 1.15 and not size_change:
                new_para = drop > 1.6 * ln.size  # a headline wrapped over two lines
            else:
                new_para = size_change or drop > 1.25 * pitch or indented or short
            if new_para:
                out.append(para)
                out.append("\n\n\n\n" if size_change or drop > 2.2 * pitch else "\n\n")
                para = ln.text
            else:
                sep = " " if not (_is_cjk(para[-1:]) or _is_cjk(ln.text[:1])) else ""
                para += sep + ln.text
            prev, prev_right = ln, right
    out.append(para)
    return "".join(out)
