"""One chat turn, from a typed question to the reply the web chat shows.

`run_turn` is what happens between the user pressing Enter and the reply: rewrite a
follow-up with the conversation's subject (`qa.conversation`), turn dates written in
the question into a date filter (`qa.dates`), combine it with the filters beside the
chat, and ask the archive. `render_turn` builds the reply's HTML.

Archive text is data, never markup: every string that comes from the archive (or from
the user) goes through `html.escape`, and the app's Chatbot renders the reply as HTML
with Markdown and LaTeX off, so `<script>`, `<img onerror>` or `[x](javascript:…)`
inside an article is shown as text. Only the tags built here reach the browser.

Dates in a question narrow the search, but a year in a question is often the year the
*numbers* are about ("2021年累计完成税收") while the article reporting them came out
later, or has no date at all. So when the question's dates leave nothing relevant, the
search is repeated without them and the reply says so; the dates the user set in the
filter panel are never dropped silently.
"""

from __future__ import annotations

import html
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date

from .archive import Archive
from .chat_text import human_date, in_range, question_language, range_label, t
from .conversation import rewrite_followup
from .dates import DateRange, dates_in_question, parse_iso
from .errors import NotFoundError
from .records import Answer, Article, Passage
from .store import Filters

__all__ = ["ChatFilters", "Turn", "run_turn", "render_turn", "render_question", "render_message", "parse_filter_date"]



@dataclass(frozen=True)
class ChatFilters(Filters):
    """The filters beside the chat (all optional; ISO dates, inclusive), as the user reads them."""

    def describe(self, lang: str = "zh") -> str:
        parts = []
        if self.date_from or self.date_to:
            lo, hi = (human_date(d, lang) or "…" for d in (self.date_from, self.date_to))
            parts.append(t(lang, "filter_date", lo=lo, hi=hi))
        if self.source:
            parts.append(t(lang, "filter_source", source=self.source))
        if self.page:
            parts.append(t(lang, "page", page=self.page))
        return t(lang, "list_sep").join(parts)


@dataclass(frozen=True)
class Turn:
    """Everything about one answered question that the reply shows."""

    question: str
    query: str  # what was searched (the question, or its follow-up rewrite)
    rewrite_reason: str  # "" when the question was searched as asked
    filters: ChatFilters  # the filters actually applied
    question_dates: DateRange | None  # dates found in the question
    dates_applied: bool  # whether those dates narrowed the final search
    dates_dropped: bool  # they found nothing relevant, so the search was repeated without them
    answer: Answer
    articles: dict[str, Article] = field(default_factory=dict)  # full text of cited articles


def parse_filter_date(value: str | None, *, end: bool = False) -> str | None:
    """An ISO date from what a user types in a date box: 2021, 2021-03, 2021-03-15,
    2021年3月…; a year or month means its first day (`end=False`) or last day (`end=True`).
    Raises ValueError for text that is not a date."""
    if not value or not str(value).strip():
        return None
    s = str(value).strip()
    iso = parse_iso(s)
    if iso and len(s) == 10:
        return iso.isoformat()
    parts = s.replace("/", "-").replace(".", "-").split("-")
    if all(p.isdigit() for p in parts) and len(parts[0]) == 4 and len(parts) <= 3:
        s = "年".join(parts[:2]) + ("年" if len(parts) == 1 else "月") + (f"{parts[2]}日" if len(parts) == 3 else "")
    found, rest = dates_in_question(s)
    if found is None or rest.strip():
        raise ValueError(f"日期 {value!r} 无法识别（请用 YYYY-MM-DD、YYYY-MM 或 YYYY）")
    d = found.end if end else found.start
    return d.isoformat() if d else None


def _intersect(filters: ChatFilters, rng: DateRange) -> ChatFilters:
    """The panel's filters narrowed by the question's dates."""
    lo = max(filter(None, [filters.date_from, rng.date_from]), default=None)
    hi = min(filter(None, [filters.date_to, rng.date_to]), default=None)
    return ChatFilters(lo, hi, filters.source, filters.page)


def latest_date(archive: Archive) -> date | None:
    """The archive's newest article date: what 今年 / 去年 in a question are relative to."""
    return parse_iso(archive.facets().get("date_max"))


def run_turn(
    archive: Archive,
    question: str,
    history: Sequence[str],
    filters: ChatFilters | None = None,
    *,
    k: int = 5,
    use_question_dates: bool = True,
    latest: date | None = None,
) -> Turn:
    """Answer `question` in a conversation whose earlier searched queries are `history`.

    Args:
        archive: the archive to ask.
        question: what the user typed.
        history: the queries searched in earlier turns, oldest first (`Turn.query`).
        filters: the filter panel's values.
        k: passages to cite.
        use_question_dates: False when the user removed the question's date filter.
        latest: the archive's newest date (looked up when None).
    """
    filters = filters or ChatFilters()
    query, reason = rewrite_followup(question, history)
    rng = None
    if use_question_dates:
        rng, _ = dates_in_question(query, latest or latest_date(archive) or date.today())
    applied = _intersect(filters, rng) if rng else filters
    answer = _ask(archive, query, applied, k)
    dropped = False
    if rng and not answer.found:
        retry = _ask(archive, query, filters, k)
        if retry.found:
            answer, applied, dropped = retry, filters, True
    articles: dict[str, Article] = {}
    for p in answer.passages:
        aid = p.citation.article_id
        if aid not in articles:
            try:
                articles[aid] = archive.get(aid)
            except NotFoundError:  # removed between search and display
                pass
    return Turn(question, query, reason, applied, rng, bool(rng) and not dropped, dropped, answer, articles)


def _ask(archive: Archive, query: str, f: ChatFilters, k: int) -> Answer:
    if f.date_from and f.date_to and f.date_from > f.date_to:
        lang = question_language(query)
        return Answer(question=query, passages=(), found=False, message=t(lang, "empty_range"), language=lang)
    return archive.ask(query, k=k, date_from=f.date_from, date_to=f.date_to, source=f.source, page=f.page)


# -- rendering --------------------------------------------------------------------------
def esc(text: object) -> str:
    """Escape archive or user text for HTML (quotes too: it may end up in attributes)."""
    return html.escape("" if text is None else str(text), quote=True)


def marked(text: str, spans: Sequence[tuple[int, int]], tag: str = "mark") -> str:
    """`text` escaped, with each span wrapped in <tag> (spans are sorted, non-overlapping)."""
    out, pos = [], 0
    for s, e in sorted(spans):
        s, e = max(s, pos), min(e, len(text))
        if s >= e:
            continue
        out += [esc(text[pos:s]), f"<{tag}>", esc(text[s:e]), f"</{tag}>"]
        pos = e
    out.append(esc(text[pos:]))
    return "".join(out)


def _compact(markup: str) -> str:
    """Blank lines between paragraphs would make a cited passage twice as tall."""
    return re.sub(r"\n\s*\n+", "\n", markup.strip())


def _paragraphs(markup: str) -> str:
    """One line break between paragraphs, as in the cited passages (the ends are kept)."""
    return re.sub(r"\n\s*\n+", "\n", markup)


def render_question(question: str) -> str:
    """The user's message, as text."""
    return f'<span class="qa-question">{esc(question)}</span>'


def render_message(text: str, lang: str = "zh") -> str:
    """A reply that is only a message (an empty archive, a filter that is not a date)."""
    return f'<div class="qa-reply qa-notfound"><p>{esc(text)}</p></div>'


def turn_language(turn: Turn) -> str:
    """The language of the chat's words in this reply: the answer's (every `Answer` from
    `Archive.ask` carries the question's language)."""
    return turn.answer.language


def _relevance(p: Passage, lang: str) -> str:
    """A dot and a word: seen at a glance, read out by a screen reader (no raw score)."""
    label = t(lang, f"rel_{p.relevance}")
    return (f'<span class="qa-rel qa-rel-{p.relevance}" title="{esc(t(lang, "relevance", label=label))}">'
            f'<span class="qa-dot" aria-hidden="true"></span>{esc(label)}</span>')


def _date_cell(turn: Turn, p: Passage, lang: str) -> str:
    """The article's date as people write it; when the question named dates and the
    article has none, say its date is unknown (not that it lies outside them)."""
    if p.citation.date:
        iso = esc(p.citation.date)
        return f'<time class="qa-date" datetime="{iso}" title="{iso}">{esc(human_date(p.citation.date, lang))}</time>'
    if turn.question_dates:
        return f'<span class="qa-date-unknown">{esc(t(lang, "date_unknown"))}</span>'
    return ""


def _citation_line(turn: Turn, n: int | None, p: Passage, lang: str) -> str:
    c = p.citation
    parts = [f'<b class="qa-headline">{esc(c.title or c.article_id)}</b>', _date_cell(turn, p, lang)]
    parts += [f'<span class="qa-{cls}">{esc(v)}</span>' for cls, v in (
        ("page", t(lang, "page", page=c.page) if c.page else None), ("byline", c.byline), ("src", c.source)) if v]
    number = f'<span class="qa-cite-no">[{n}]</span> ' if n else ""
    return number + " · ".join(x for x in parts if x)


def _full_article(article: Article | None, p: Passage, lang: str) -> str:
    """The whole article around the cited passage. The passage itself is already shown
    in the summary above, so while the article is open the summary hides it and it
    appears here, in place and marked, once."""
    collapse = f'<button type="button" class="qa-collapse">{esc(t(lang, "collapse"))}</button>'
    if article is None:
        return f'<div class="qa-fulltext">{esc(t(lang, "article_gone"))}</div>{collapse}'
    text = article.text
    if text[p.start : p.end] != p.text:  # changed since it was indexed: no offsets to trust
        return f'<div class="qa-fulltext">{_paragraphs(esc(text))}</div>{collapse}'
    passage = _compact(marked(p.text, p.highlights))
    before, after = _paragraphs(esc(text[: p.start])), _paragraphs(esc(text[p.end :]))
    return f'<div class="qa-fulltext">{before}<span class="qa-inplace">{passage}</span>{after}</div>{collapse}'


def _date_note(turn: Turn, lang: str) -> str:
    rng = turn.question_dates
    if not rng:
        return ""
    label = esc(range_label(rng, lang))
    if turn.dates_applied:
        return f'<span class="qa-qdate">{t(lang, "qdate_applied", label=label)}</span>'
    if not turn.dates_dropped:
        return ""
    known = [in_range(p.citation.date, rng) for p in turn.answer.passages]
    if known and all(k is None for k in known):  # nothing says these articles are outside the dates
        return f'<span class="qa-qdate-dropped">{t(lang, "qdate_undated", label=label)}</span>'
    return f'<span class="qa-qdate-dropped">{t(lang, "qdate_dropped", label=label)}</span>'


def _meta_line(turn: Turn, lang: str) -> str:
    bits = [f'{esc(t(lang, "searched"))}<span class="qa-query">{esc(turn.query)}</span>']
    if turn.rewrite_reason:
        bits.append(f'<span class="qa-rewrite">{esc(turn.rewrite_reason)}</span>')
    note = _date_note(turn, lang)
    if note:
        bits.append(note)
    only_question_dates = turn.dates_applied and turn.question_dates and turn.filters == ChatFilters(
        turn.question_dates.date_from, turn.question_dates.date_to)
    if not turn.filters.is_empty() and not only_question_dates:
        bits.append(f'<span class="qa-filters">{esc(t(lang, "filters", filters=turn.filters.describe(lang)))}</span>')
    return f'<div class="qa-meta"><small>{" · ".join(bits)}</small></div>'


def _lead(ans: Answer, lang: str) -> str:
    """The answer line: the short answer when there is one, then the sentence holding it
    (with the short answer in bold inside the highlight)."""
    best = ans.best
    if not best or not best.highlight:
        return f'<p class="qa-lead">{esc(t(lang, "passages_found"))}</p>'
    span = ans.short_answer_span
    short = ans.short_answer
    if short and span and best.highlight[span[0] : span[1]] == short:
        sentence = marked(best.highlight, [span], tag="strong")
        return (f'<p class="qa-lead"><span class="qa-short">{esc(t(lang, "answer"))}<strong>{esc(short)}</strong></span>'
                f'<span class="qa-sentence"><mark>{sentence}</mark> <sup>[1]</sup></span></p>')
    return (f'<p class="qa-lead"><span class="qa-sentence">{esc(t(lang, "answer"))}'
            f'<mark>{esc(best.highlight)}</mark> <sup>[1]</sup></span></p>')


def _source(turn: Turn, n: int, p: Passage, lang: str) -> str:
    article = turn.articles.get(p.citation.article_id)
    return (
        f'<details class="qa-source qa-rel-{p.relevance}" data-n="{n}"><summary>'
        f'<span class="qa-cite">{_citation_line(turn, n, p, lang)} {_relevance(p, lang)}</span>'
        f'<span class="qa-passage">{_compact(marked(p.text, p.highlights))}</span>'
        f'<span class="qa-expand">{esc(t(lang, "expand"))}</span>'
        f'<span class="qa-expanded">{esc(t(lang, "collapse"))}</span></summary>'
        f"{_full_article(article, p, lang)}</details>"
    )


def _related(turn: Turn, lang: str) -> str:
    """Weaker candidates, collapsed: there if the reader wants them, never cited as sources."""
    rel = turn.answer.related
    if not rel:
        return ""
    items = "".join(
        f'<li class="qa-related-item"><span class="qa-cite">{_citation_line(turn, None, p, lang)}</span>'
        f'<span class="qa-passage">{esc(" ".join(p.text.split()))}</span></li>' for p in rel)
    return (f'<details class="qa-related"><summary>{esc(t(lang, "related", n=len(rel)))}</summary>'
            f"<ul>{items}</ul></details>")


def render_turn(turn: Turn) -> str:
    """The reply: the answer line (short answer, then its sentence), then numbered sources,
    each with a relevance cue and expanding to its article, then a collapsed list of
    possibly related passages; or, when nothing relevant was found, a plain message and a
    suggestion (no passages). The chat's own words are in the question's language."""
    ans = turn.answer
    lang = turn_language(turn)
    if not ans.found:
        hint = esc(t(lang, "hint"))
        if not turn.filters.is_empty():
            hint = esc(t(lang, "hint_filters", filters=turn.filters.describe(lang)))
        return (f'<div class="qa-reply qa-notfound"><p>{esc(ans.message)}</p>'
                f'<p class="qa-hint">{hint}</p>{_meta_line(turn, lang)}</div>')
    items = "".join(_source(turn, n, p, lang) for n, p in enumerate(ans.passages, 1))
    return (f'<div class="qa-reply">{_lead(ans, lang)}{_meta_line(turn, lang)}'
            f'<div class="qa-sources">{items}</div>{_related(turn, lang)}</div>')
