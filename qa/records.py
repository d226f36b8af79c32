"""The typed records that flow through the pipeline and out of the public API.

Readers produce `ArticleRecord`s; the store keeps `Article`s and `Chunk`s; search returns
`Hit`s; `ask` returns an `Answer` of `Passage`s, each with a `Citation`. All are frozen
dataclasses so callers can hash, compare and pass them around safely.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

SearchMode = Literal["hybrid", "dense", "keyword"]
Relevance = Literal["high", "medium", "low"]  # a cue for the reader, not a raw score
AnswerType = Literal["number", "date", "person", "place", "organisation"]
Language = Literal["zh", "en"]


@dataclass(frozen=True)
class ArticleRecord:
    """One article as a reader produced it, before chunking and storage.

    `id` is stable across re-ingests of the same input (from the record, or derived from
    the file path / page position), so a changed article replaces its old version.
    """

    id: str
    title: str
    text: str
    date: str | None = None  # ISO "YYYY-MM-DD"
    page: str | None = None  # page label as printed ("03", "A2")
    source: str | None = None  # newspaper / publisher
    byline: str | None = None
    source_file: str | None = None  # path the record was read from
    source_line: int | None = None  # 1-based line in source_file (JSONL), if any
    metadata: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Article:
    """A stored article, with everything needed to cite it."""

    id: str
    title: str
    text: str
    date: str | None
    page: str | None
    source: str | None
    byline: str | None
    source_file: str | None
    metadata: dict[str, Any]
    ingested_at: str  # ISO timestamp of the ingest that last wrote it


@dataclass(frozen=True)
class Citation:
    """Where a passage comes from: enough for a reader to find the printed article."""

    article_id: str
    title: str
    date: str | None
    page: str | None
    byline: str | None
    source: str | None
    source_file: str | None
    section_title: str | None = None  # banner over the article's part of the page (page metadata)

    def label(self) -> str:
        """One line: headline, date, page, byline, e.g. `周庄镇… · 2022-03-15 · 第03版 · 本报记者 梁智玲`;
        a page banner over the article follows its headline in brackets."""
        parts = [self.title or self.article_id]
        if self.section_title:
            parts[0] += f"（{self.section_title}）"
        if self.date:
            parts.append(self.date)
        if self.page:
            parts.append(f"第{self.page}版")
        if self.byline:
            parts.append(self.byline)
        if self.source:
            parts.append(self.source)
        return " · ".join(parts)


@dataclass(frozen=True)
class Hit:
    """One retrieved chunk. `start`/`end` are its character span in the article text."""

    chunk_id: int
    article_id: str
    text: str
    start: int
    end: int
    score: float
    citation: Citation
    dense_score: float | None = None  # cosine similarity, when computed
    keyword_score: float | None = None  # BM25, when computed
    # the query's 50th best cosine over the archive (the crowd a relevant hit stands out from)
    dense_floor: float | None = None


@dataclass(frozen=True)
class Passage:
    """A hit as an answer shows it: with the sentence(s) that best answer the question.

    `highlights` are (start, end) offsets into `text`; `highlight` is the first of them as text.
    """

    text: str
    score: float
    citation: Citation
    highlight: str
    highlights: tuple[tuple[int, int], ...]
    start: int  # span of `text` in the article
    end: int
    chunk_id: int
    relevance: Relevance = "high"  # how close this passage is to the best one


@dataclass(frozen=True)
class Answer:
    """What `Archive.ask` returns. When `found` is False, `passages` is empty and
    `message` says why (nothing relevant, or the question was empty).

    `passages` are the sources worth showing (close to the best one); weaker candidates
    are in `related` ("possibly related"). The first (`best`) is the passage of the best
    article that holds the highlighted answer, usually the best-ranked one. `short_answer`
    is the answer span (a number, date, name...) inside the best passage's highlighted
    sentence, when one could be found without guessing; `short_answer_span` is its (start,
    end) in that `highlight`.
    `language` is the question's language, for the words a view adds around the answer.
    """

    question: str
    passages: tuple[Passage, ...]
    found: bool
    message: str = ""
    confidence: float = 0.0  # the score `found` was decided on
    short_answer: str | None = None
    short_answer_span: tuple[int, int] | None = None  # offsets inside `best.highlight`
    answer_type: AnswerType | None = None  # what the question asks for, when recognised
    related: tuple[Passage, ...] = ()
    language: Language = "zh"

    @property
    def best(self) -> Passage | None:
        return self.passages[0] if self.passages else None


@dataclass(frozen=True)
class IngestFailure:
    """An input that was skipped, with the file, line (when known) and the reason."""

    path: str
    reason: str
    line: int | None = None

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        return f"{where}: {self.reason}"


@dataclass
class IngestReport:
    """Counts from one ingest. `failed` lists every skipped input with its reason."""

    added: int = 0
    updated: int = 0
    unchanged: int = 0
    chunks: int = 0  # chunks written (added + updated articles)
    failed: list[IngestFailure] = field(default_factory=list)
    seconds: float = 0.0
    removed: int = 0  # articles a re-read page no longer has

    def summary(self) -> str:
        removed = f", removed {self.removed}" if self.removed else ""
        return (
            f"added {self.added}, updated {self.updated}, unchanged {self.unchanged}{removed}, "
            f"failed {len(self.failed)}; {self.chunks} chunks in {self.seconds:.1f}s"
        )
