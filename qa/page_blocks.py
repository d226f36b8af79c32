"""Page text -> classified lines: every non-blank line with its kind and the blank lines
around it, photo credits merged with the caption line above them.

A "block gap" is two or more blank lines, which is how layout extraction separates
blocks (the seed page uses three) while paragraphs are separated by one blank line. Some
extractions separate everything by one blank line; `Units.has_block_gaps` says which
convention a page follows, so the assembly knows whether gaps carry evidence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .page_lines import (
    _BULLETS,
    _PHOTO_NOTE_RE,
    MAX_CAPTION_CHARS,
    could_be_headline,
    is_heading_shaped,
    is_note,
    is_page_furniture,
    is_photo_caption_lead,
    is_section_label,
    looks_like_bare_caption,
    parse_byline,
    parse_editor_line,
    split_credit,
    split_dateline,
)

BLOCK_GAP = 2  # blank lines that separate layout blocks rather than paragraphs


@dataclass(frozen=True)
class Caption:
    """A photo caption and its credit (`本报记者 吉亚南 摄`); either may stand alone."""

    text: str
    credit: str | None = None


@dataclass(frozen=True)
class Unit:
    """One classified line. `kind` is one of: editor, furniture, caption, bare_caption,
    credit, note, byline, label (box label or numbered sub-head), heading, body."""

    kind: str
    text: str
    line: int
    gap_before: int
    gap_after: int
    caption: Caption | None = None
    editors: dict[str, str] | None = None
    dateline: str | None = None
    byline: str | None = None
    maybe_heading: bool = False  # body-shaped, but a headline when a byline follows


def split_lines(text: str) -> list[tuple[int, str, int, int]]:
    """Non-blank lines as (line number, text, blank lines before, blank lines after)."""
    raw = text.replace("\r\n", "\n").replace("\r", "\n").replace("\ufeff", "").split("\n")
    found: list[tuple[int, str]] = [(i + 1, ln.strip(" \t\u3000\xa0")) for i, ln in enumerate(raw)]
    found = [(n, s) for n, s in found if s]
    out: list[tuple[int, str, int, int]] = []
    for k, (n, s) in enumerate(found):
        before = n - found[k - 1][0] - 1 if k else BLOCK_GAP  # page start counts as a gap
        after = found[k + 1][0] - n - 1 if k + 1 < len(found) else BLOCK_GAP
        out.append((n, s, before, after))
    return out


_LONG = MAX_CAPTION_CHARS + 40  # longer lines can only be body (maybe with a dateline)


def classify_line(n: int, s: str, before: int, after: int) -> Unit:
    if len(s) > _LONG:
        return _body(n, s, before, after)
    editors = parse_editor_line(s)
    if editors:
        return Unit("editor", s, n, before, after, editors=editors)
    if is_page_furniture(s):
        return Unit("furniture", s, n, before, after)
    credit = split_credit(s)
    if credit is not None:
        cap, who = credit
        if cap:
            return Unit("caption", s, n, before, after, caption=Caption(cap, who))
        return Unit("credit", who, n, before, after)
    if _PHOTO_NOTE_RE.fullmatch(s):  # `（图片由受访者提供）` credits the photo above it
        return Unit("credit", s, n, before, after)
    if is_note(s):
        return Unit("note", s, n, before, after)
    byline = parse_byline(s)
    if byline:
        return Unit("byline", byline, n, before, after)
    if is_photo_caption_lead(s):
        return Unit("caption", s, n, before, after, caption=Caption(s, None))
    dl = split_dateline(s)
    if dl:
        return Unit("body", dl[2], n, before, after, dateline=dl[0], byline=dl[1] or None)
    if is_section_label(s) and len(s) <= 40 and not re.search(r"[。！？!?；;]", s):
        return Unit("label", s, n, before, after)
    if is_heading_shaped(s):
        return Unit("heading", re.sub(r"\s+", " ", s), n, before, after)
    if looks_like_bare_caption(s) and before >= BLOCK_GAP and after >= BLOCK_GAP:
        return Unit("bare_caption", s, n, before, after, caption=Caption(s, None))
    return Unit("body", s.lstrip(_BULLETS).strip() or s, n, before, after, maybe_heading=could_be_headline(s))


def _body(n: int, s: str, before: int, after: int) -> Unit:
    dl = split_dateline(s)
    if dl:
        return Unit("body", dl[2], n, before, after, dateline=dl[0], byline=dl[1] or None)
    return Unit("body", s.lstrip(_BULLETS).strip() or s, n, before, after)


def attach_credits(units: list[Unit]) -> list[Unit]:
    """A credit line on its own names the photo whose caption is the short line just
    above it (`周庄镇农村党组织书记…考核会。` / `本报记者 吉亚南 摄`)."""
    out: list[Unit] = []
    for u in units:
        if u.kind != "credit":
            out.append(u)
            continue
        prev = out[-1] if out else None
        if (
            prev is not None
            and prev.kind in ("body", "heading", "bare_caption", "caption")
            and prev.dateline is None
            and len(prev.text) <= MAX_CAPTION_CHARS + 20
            and prev.gap_after <= 1
            and (prev.kind != "caption" or (prev.caption is not None and prev.caption.credit is None))
            and (prev.kind != "body" or prev.text.rstrip()[-1:] in "。！!")
        ):
            out[-1] = Unit("caption", prev.text, prev.line, prev.gap_before, u.gap_after, caption=Caption(prev.text, u.text))
        else:
            out.append(Unit("caption", u.text, u.line, u.gap_before, u.gap_after, caption=Caption("", u.text)))
    return out


def classify_lines(text: str) -> list[Unit]:
    """Every non-blank line with its kind (see `Unit.kind`), credits merged into captions."""
    return attach_credits([classify_line(*row) for row in split_lines(text)])


def has_block_gaps(units: list[Unit]) -> bool:
    """Does the page separate layout blocks by two or more blank lines anywhere?"""
    return any(u.gap_before >= BLOCK_GAP for u in units[1:])
