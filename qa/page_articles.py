"""Classified lines -> articles: one walk over the page that decides where articles start
and which paragraph continues a sentence cut by a column break.

* `编辑:… | 校对:…` lines become page metadata (`ParsedPage.editors`), never body;
* credits, the caption before them and short lines set off by block gaps become
  `Caption`s of the article they sit in (captions before the first article belong to it);
* a heading stack opens an article when something says so: a byline or dateline
  follows it, it is two or more lines, it interrupts a sentence, or there is no article
  yet; a single line otherwise is scored (`headline_score`: the block gap before it,
  when the page uses block gaps, and how much it shares with the article above);
  a line that loses stays in the body as a sub-head paragraph;
* a heading stack right above its own byline under an earlier stack with no text yet
  (the seed's banner over the photos) makes that earlier stack the `section_title`;
* column breaks: (a) an article's own headline lands inside a sentence of its lead: the
  lead paragraphs since the last block gap move under the headline; (b) another
  article's headline, byline and opening follow a broken sentence: the broken article
  waits, and the next paragraph that starts a layout block without a headline over it
  continues its sentence.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace

from .page_blocks import BLOCK_GAP, Caption, Unit, has_block_gaps
from .page_lines import _DASH_RE, ends_sentence, join_broken, split_heading_stack

_CJK_RUN = re.compile(r"[\u3400-\u9fff]+")
MAX_LEAD_PARAGRAPHS = 3  # paragraphs a column break (a) may carry above a headline


@dataclass(frozen=True)
class PageArticle:
    """One article recovered from a page. `title` is "" when the page printed none.

    `heads` keeps secondary heading lines (a second kicker/title deck) that are neither
    kicker, title nor subtitle; `section_title` is a banner stack printed over the
    article's part of the page (over its photos), not its own headline; `dateline` is
    e.g. `本报讯`; `line` is the 1-based line of the article's first line in the page."""

    title: str
    kicker: str | None
    subtitle: str | None
    byline: str | None
    paragraphs: tuple[str, ...]
    captions: tuple[Caption, ...] = ()
    notes: tuple[str, ...] = ()
    heads: tuple[str, ...] = ()
    dateline: str | None = None
    line: int | None = None
    section_title: str | None = None

    @property
    def body(self) -> str:
        return "\n\n".join(self.paragraphs)


@dataclass(frozen=True)
class ParsedPage:
    """Articles in page order, the editor line as a dict, page-level notes (furniture,
    notes outside any article) and captions that belong to no article."""

    articles: tuple[PageArticle, ...]
    editors: dict[str, str]
    notes: tuple[str, ...] = ()
    captions: tuple[Caption, ...] = ()


def _bigrams(text: str) -> set[str]:
    return {run[k: k + 2] for run in _CJK_RUN.findall(text) for k in range(len(run) - 1)}


def _share(text: str, grams_above: set[str]) -> float | None:
    grams = _bigrams(text)
    return len(grams & grams_above) / len(grams) if grams and grams_above else None


def headline_score(
    line: str,
    *,
    gap_before: int,
    page_has_gaps: bool,
    article_text: str,
    next_has_dateline: bool,
    next_text: str = "",
) -> float:
    """How much a single short line between finished paragraphs looks like the headline of
    a new article (> 0) rather than a sub-head of the article above (<= 0).

    Evidence: a block gap before it (only on pages that use block gaps: elsewhere every
    line has one blank line before it), a dateline opening the paragraph after it, and
    topic: a sub-head and the paragraph under it share words with the article they
    continue, a new story's headline and lead share few. Topic is the share of character
    bigrams already in the article above; measured on the news corpus, a paragraph shares
    a median 0.20 of its bigrams with the paragraphs above it in the same article (5th
    percentile 0.07) and 0.01 with another article's (95th percentile 0.06), hence 0.07
    as the turning point for the paragraph under the line."""
    score = 0.0
    if page_has_gaps:
        score += 2.0 if gap_before >= BLOCK_GAP else -1.5
    if next_has_dateline:
        score += 3.0
    above = _bigrams(article_text)
    line_share = _share(line, above)
    if line_share is not None:
        score += 1.5 * (0.3 - line_share) / 0.3
    next_share = _share(next_text, above) if next_text else None
    if next_share is not None:
        score += 2.0 * max(-1.0, min(1.0, (0.07 - next_share) / 0.07))
    return score


def starts_article(
    *,
    has_article: bool,
    stack_size: int,
    followed_by_byline: bool,
    after_open_sentence: bool,
    score: float = 0.0,
) -> bool:
    """Does a heading stack open a new article (True) or is it a section sub-head inside
    the current one (False)? A single line between finished paragraphs needs a positive
    `headline_score`."""
    return not has_article or followed_by_byline or stack_size >= 2 or after_open_sentence or score > 0


@dataclass
class _Draft:
    title: str = ""
    kicker: str | None = None
    subtitle: str | None = None
    heads: list[str] = field(default_factory=list)
    byline: str | None = None
    dateline: str | None = None
    section_title: str | None = None
    stack: list[str] = field(default_factory=list)  # the heading lines as printed
    paragraphs: list[str] = field(default_factory=list)
    captions: list[Caption] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    line: int | None = None
    open_sentence: bool = False  # last body paragraph was cut by a column break
    lead_from: int | None = None  # first paragraph of a block with no headline over it
    lead_dateline: tuple[str, str | None] | None = None  # dateline read inside that block

    def add_body(self, text: str) -> None:
        if self.open_sentence and self.paragraphs:
            self.paragraphs[-1] = join_broken(self.paragraphs[-1], text)
        else:
            self.paragraphs.append(text)
        self.open_sentence = not ends_sentence(text)

    def take_lead(self) -> list[str]:
        """The paragraphs of the headless block at the end (column break (a))."""
        assert self.lead_from is not None
        lead = self.paragraphs[self.lead_from:]
        del self.paragraphs[self.lead_from:]
        self.lead_from = None
        self.open_sentence = bool(self.paragraphs) and not ends_sentence(self.paragraphs[-1])
        return lead

    def set_heads(self, stack: list[str]) -> None:
        self.kicker, self.title, self.subtitle, extra = split_heading_stack(stack)
        self.heads = list(extra)
        self.stack = list(stack)

    def add_deck(self, stack: list[str]) -> None:
        """A second heading stack right under the title (before any body)."""
        lines = [re.sub(r"\s+", " ", x) for x in stack]
        if self.subtitle is None:
            self.subtitle = _DASH_RE.sub("", lines[-1])
            self.heads.extend(lines[:-1])
        else:
            self.heads.extend(lines)

    def freeze(self) -> PageArticle:
        return PageArticle(
            title=self.title,
            kicker=self.kicker,
            subtitle=self.subtitle,
            byline=self.byline,
            paragraphs=tuple(self.paragraphs),
            captions=tuple(self.captions),
            notes=tuple(self.notes),
            heads=tuple(self.heads),
            dateline=self.dateline,
            line=self.line,
            section_title=self.section_title,
        )


class Walker:
    """One pass over classified lines; keeps the article being built, the one whose
    sentence waits for its continuation, and what came before."""

    def __init__(self, units: list[Unit]) -> None:
        self.units = units
        self.page_has_gaps = has_block_gaps(units)
        self.drafts: list[_Draft] = []
        self.current: _Draft | None = None
        self.waiting: _Draft | None = None
        self.editors: dict[str, str] = {}
        self.page_notes: list[str] = []
        self.pending_captions: list[Caption] = []
        self.pending_byline: str | None = None
        self.prev: Unit | None = None

    def new_draft(self, line: int) -> _Draft:
        d = _Draft(line=line, captions=self.pending_captions, byline=self.pending_byline)
        self.pending_captions, self.pending_byline = [], None
        self.drafts.append(d)
        self.current = d
        return d

    def run(self) -> ParsedPage:
        units, i = self.units, 0
        while i < len(units):
            u = units[i]
            if u.maybe_heading and self._byline_follows(i) and not (self.current and self.current.open_sentence):
                u = units[i] = replace(u, kind="heading")
            if u.kind == "heading":
                j = i + 1
                while j < len(units) and units[j].kind == "heading" and units[j].gap_before < BLOCK_GAP:
                    j += 1
                self.on_headings(units[i:j], j)
                self.prev = units[j - 1]
                i = j
                continue
            getattr(self, f"on_{u.kind}")(u)
            self.prev = u
            i += 1
        return self.finish()

    def _byline_follows(self, i: int) -> bool:
        nxt = self.units[i + 1] if i + 1 < len(self.units) else None
        return nxt is not None and (nxt.kind == "byline" or nxt.dateline is not None)

    # ---------------------------------------------------------------- simple kinds

    def on_editor(self, u: Unit) -> None:
        self.editors.update(u.editors or {})

    def on_furniture(self, u: Unit) -> None:
        self.page_notes.append(u.text)

    def on_note(self, u: Unit) -> None:
        (self.current.notes if self.current else self.page_notes).append(u.text)

    def on_caption(self, u: Unit) -> None:
        assert u.caption is not None
        (self.current.captions if self.current else self.pending_captions).append(u.caption)

    def on_bare_caption(self, u: Unit) -> None:
        cur = self.current
        if cur is not None and cur.open_sentence:  # `…施` / `工。` is a column break, not a photo
            self.on_body(replace(u, kind="body", caption=None))
        else:
            self.on_caption(u)

    def on_byline(self, u: Unit) -> None:
        cur = self.current
        if cur is None:
            self.pending_byline = u.text
        elif cur.byline is None:
            cur.byline = u.text
        elif not cur.paragraphs:
            cur.byline = f"{cur.byline} {u.text}"
        else:
            cur.notes.append(u.text)  # a stray byline mid-body: keep it, not as body

    def on_label(self, u: Unit) -> None:
        """`内容提要`, `一、…`: a sub-head of the article being read, kept in its body."""
        cur = self.current or self.new_draft(u.line)
        cur.paragraphs.append(u.text)
        cur.open_sentence = False
        cur.lead_from = None

    # ---------------------------------------------------------------- body

    def _after_heading(self) -> bool:
        return self.prev is not None and self.prev.kind in ("heading", "byline", "label")

    def on_body(self, u: Unit) -> None:
        cur = self.current
        starts_block = u.gap_before >= BLOCK_GAP and not self._after_heading()
        if (
            self.waiting is not None
            and cur is not None
            and cur is not self.waiting
            and starts_block
            and u.dateline is None
            and cur.paragraphs
            and not cur.open_sentence
        ):
            # column break (b): the article that broke off continues here
            self.current, self.waiting = self.waiting, None
            self.current.add_body(u.text)
            return
        if u.dateline and starts_block and cur is not None and cur.paragraphs:
            # a dateline starts an article, headline or not; it never continues a sentence
            if cur.open_sentence:
                self.waiting = cur
            cur = self.new_draft(u.line)
        if cur is None:
            cur = self.new_draft(u.line)
        if starts_block and cur.paragraphs and not cur.open_sentence:
            cur.lead_from = len(cur.paragraphs)
            cur.lead_dateline = None
        elif self._after_heading():
            cur.lead_from = None
        if u.dateline:
            if cur.lead_from is not None:
                cur.lead_dateline = (u.dateline, u.byline)
            else:
                self._take_dateline(cur, u.dateline, u.byline)
            if not u.text:
                return
        cur.add_body(u.text)

    @staticmethod
    def _take_dateline(d: _Draft, dateline: str, byline: str | None) -> None:
        d.dateline = d.dateline or dateline
        if d.byline is None:
            d.byline = byline
        elif byline and byline not in d.byline:
            d.byline = f"{d.byline} {byline}"

    # ---------------------------------------------------------------- headings

    def _next_body(self, j: int) -> Unit | None:
        """The first unit after the stack that is not a byline or caption."""
        for u in self.units[j:]:
            if u.kind not in ("byline", "caption", "credit"):
                return u
        return None

    def on_headings(self, stack: list[Unit], j: int) -> None:
        cur = self.current
        lines = [h.text for h in stack]
        nxt = self.units[j] if j < len(self.units) else None
        body_after = self._next_body(j)
        followed_by_byline = nxt is not None and (nxt.kind == "byline" or nxt.dateline is not None)
        if cur is not None and cur.title and not cur.paragraphs:
            if followed_by_byline and cur.byline is None:
                # a banner stack over the photos, then the article's own headline stack
                cur.section_title = " ".join(cur.stack)
                cur.set_heads(lines)
            else:
                cur.add_deck(lines)  # second deck of the article whose title we just read
            return
        interrupts = cur is not None and cur.open_sentence
        score = 0.0
        if cur is not None and not (interrupts or followed_by_byline or len(stack) >= 2):
            score = headline_score(
                lines[0],
                gap_before=stack[0].gap_before,
                page_has_gaps=self.page_has_gaps,
                article_text=" ".join(cur.paragraphs[-6:]),
                next_has_dateline=body_after is not None and body_after.dateline is not None,
                next_text=body_after.text if body_after is not None and body_after.kind == "body" else "",
            )
        opens = starts_article(
            has_article=cur is not None,
            stack_size=len(stack),
            followed_by_byline=followed_by_byline,
            after_open_sentence=interrupts,
            score=score,
        )
        if not opens:
            assert cur is not None
            cur.paragraphs.extend(lines)  # section sub-head: body, for retrieval
            cur.open_sentence = False
            cur.lead_from = None
            return
        if interrupts and cur is not None:
            continues = body_after is not None and body_after.kind == "body" and body_after.dateline is None
            if continues and not cur.title:
                cur.set_heads(lines)  # the lead paragraphs above the headline are this article's
                cur.lead_from = None
                if cur.lead_dateline:
                    self._take_dateline(cur, *cur.lead_dateline)
                return
            if continues and cur.lead_from is not None and len(cur.paragraphs) - cur.lead_from <= MAX_LEAD_PARAGRAPHS:
                lead_dateline = cur.lead_dateline
                lead = cur.take_lead()  # column break (a): the lead moves under its headline
                d = self.new_draft(stack[0].line)
                d.set_heads(lines)
                d.paragraphs, d.open_sentence = lead, True
                if lead_dateline:
                    self._take_dateline(d, *lead_dateline)
                return
            self.waiting = cur  # column break (b): its sentence continues after this article
        d = self.new_draft(stack[0].line)
        d.set_heads(lines)

    # ---------------------------------------------------------------- end

    def finish(self) -> ParsedPage:
        articles: list[PageArticle] = []
        leftover_captions: list[Caption] = list(self.pending_captions)
        for d in self.drafts:
            if d.lead_dateline and d.lead_from is not None:
                self._take_dateline(d, *d.lead_dateline)
            if d.paragraphs:
                articles.append(d.freeze())
                continue
            # a heading with no text under it: keep its words as page notes, its photos nearby
            self.page_notes.extend(x for x in (d.section_title, d.kicker, d.title, d.subtitle, *d.heads, d.byline) if x)
            self.page_notes.extend(d.notes)
            if articles:
                prev = articles[-1]
                articles[-1] = replace(prev, captions=prev.captions + tuple(d.captions))
            else:
                leftover_captions.extend(d.captions)
        if articles and leftover_captions:
            articles[0] = replace(articles[0], captions=tuple(leftover_captions) + articles[0].captions)
            leftover_captions = []
        return ParsedPage(tuple(articles), dict(self.editors), tuple(self.page_notes), tuple(leftover_captions))
