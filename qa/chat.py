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
from .conversation import rewrite_followup
from .dates import DateRange, dates_in_question, parse_iso
from .errors import NotFoundError
from .records import Answer, Article, Passage
from .store import Filters

__all__ = ["ChatFilters", "Turn", "run_turn", "render_turn", "render_question", "parse_filter_date"]

NO_RESULT_HINT = "建议：换个说法、去掉过细的条件，或问一个更宽泛的问题。"


@dataclass(frozen=True)
class ChatFilters(Filters):
    """The filters beside the chat (all optional; ISO dates, inclusive), as the user reads them."""

    def describe(self) -> str:
        parts = []
        if self.date_from or self.date_to:
            parts.append(f"日期 {self.date_from or '…'} – {self.date_to or '…'}")
        if self.source:
            parts.append(f"来源 {self.source}")
        if self.page:
            parts.append(f"第{self.page}版")
        return "，".join(parts)


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
        return Answer(question=query, passages=(), found=False, message="日期范围为空：开始日期晚于结束日期。")
    return archive.ask(query, k=k, date_from=f.date_from, date_to=f.date_to, source=f.source, page=f.page)


# -- rendering --------------------------------------------------------------------------
def esc(text: object) -> str:
    """Escape archive or user text for HTML (quotes too: it may end up in attributes)."""
    return html.escape("" if text is None else str(text), quote=True)


def marked(text: str, spans: Sequence[tuple[int, int]]) -> str:
    """`text` escaped, with each span wrapped in <mark> (spans are sorted, non-overlapping)."""
    out, pos = [], 0
    for s, e in sorted(spans):
        s, e = max(s, pos), min(e, len(text))
        if s >= e:
            continue
        out += [esc(text[pos:s]), "<mark>", esc(text[s:e]), "</mark>"]
        pos = e
    out.append(esc(text[pos:]))
    return "".join(out)


def _compact(markup: str) -> str:
    """Blank lines between paragraphs would make a cited passage twice as tall."""
    return re.sub(r"\n\s*\n+", "\n", markup.strip())


def render_question(question: str) -> str:
    """The user's message, as text."""
    return f'<span class="qa-question">{esc(question)}</span>'


def _citation_line(n: int, p: Passage) -> str:
    c = p.citation
    parts = [f'<b class="qa-headline">{esc(c.title or c.article_id)}</b>']
    parts += [f'<span class="qa-{cls}">{esc(v)}</span>' for cls, v in (
        ("date", c.date), ("page", f"第{c.page}版" if c.page else None), ("byline", c.byline), ("src", c.source)) if v]
    return f'<span class="qa-cite-no">[{n}]</span> ' + " · ".join(parts)


def _full_article(article: Article | None, p: Passage) -> str:
    """The whole article, with the cited passage's answering sentence(s) marked."""
    if article is None:
        return '<div class="qa-fulltext">（全文已不在档案库中）</div>'
    spans = [(p.start + s, p.start + e) for s, e in p.highlights]
    if article.text[p.start : p.end] != p.text:  # changed since it was indexed: no offsets
        spans = []
    return f'<div class="qa-fulltext">{marked(article.text, spans)}</div>'


def _meta_line(turn: Turn) -> str:
    bits = [f'检索：<span class="qa-query">{esc(turn.query)}</span>']
    if turn.rewrite_reason:
        bits.append(f'<span class="qa-rewrite">{esc(turn.rewrite_reason)}</span>')
    if turn.question_dates and turn.dates_applied:
        bits.append(f'<span class="qa-qdate">问题中的日期：{esc(turn.question_dates.label())}（已作为筛选条件）</span>')
    elif turn.question_dates and turn.dates_dropped:
        bits.append(f'<span class="qa-qdate-dropped">「{esc(turn.question_dates.label())}」内没有找到相关内容，'
                    "以下结果不限该日期</span>")
    only_question_dates = turn.dates_applied and turn.question_dates and turn.filters == ChatFilters(
        turn.question_dates.date_from, turn.question_dates.date_to)
    if not turn.filters.is_empty() and not only_question_dates:
        bits.append(f'<span class="qa-filters">筛选：{esc(turn.filters.describe())}</span>')
    return f'<div class="qa-meta"><small>{" · ".join(bits)}</small></div>'


def render_turn(turn: Turn) -> str:
    """The reply: a one-line answer, then numbered sources, each expanding to its article;
    or, when nothing relevant was found, a plain message and a suggestion (no passages)."""
    ans = turn.answer
    if not ans.found:
        hint = NO_RESULT_HINT
        if not turn.filters.is_empty():
            hint = f"当前筛选（{esc(turn.filters.describe())}）可能太窄：可以放宽或清除筛选后再问。"
        return (f'<div class="qa-reply qa-notfound"><p>{esc(ans.message)}</p>'
                f'<p class="qa-hint">{hint}</p>{_meta_line(turn)}</div>')
    best = ans.best
    lead = (f'<p class="qa-lead">答：<mark>{esc(best.highlight)}</mark> <sup>[1]</sup></p>'
            if best and best.highlight else '<p class="qa-lead">找到以下相关段落：</p>')
    items = []
    for n, p in enumerate(ans.passages, 1):
        article = turn.articles.get(p.citation.article_id)
        items.append(
            f'<details class="qa-source" data-n="{n}"><summary>'
            f'<span class="qa-cite">{_citation_line(n, p)}</span>'
            f'<span class="qa-passage">{_compact(marked(p.text, p.highlights))}</span>'
            f'<span class="qa-expand">展开全文 ▾</span></summary>'
            f"{_full_article(article, p)}</details>"
        )
    return (f'<div class="qa-reply">{lead}{_meta_line(turn)}'
            f'<div class="qa-sources">{"".join(items)}</div></div>')
