"""Search: dense, keyword (BM25) and their fusion, over any index backend.

The backend (`qa.backends`) answers the two searches (dense top-k by cosine, keyword top-k
by BM25, both with the same filters) and the cosines of given chunks; everything below
(fusion, the dense floor, keyword confidence, one hit per stretch of an article) is the
same on every backend.

Hybrid fusion, and why it is not plain reciprocal-rank fusion: RRF throws away how
*sure* each side is, so it loses to its better half whenever the halves differ a lot in
quality (dense wins on news, BM25 on traditional-Chinese Wikipedia). Here both sides
propose candidates (top `depth` each), every candidate gets *both* scores (the cosine
from the stored vectors; BM25 from one keyword query read `KEYWORD_SCORE_DEPTH` deep), each
score is normalised over the candidate set, and the fused score is a weighted sum. See
`FusionParams` for the constants and the README for how they were chosen.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

import numpy as np

from . import crosslingual
from .backends import IndexBackend
from .filters import Filters
from .language import detect_language
from .records import Hit, SearchMode
from .store import ChunkRow
from .textnorm import check_query, query_terms

logger = logging.getLogger(__name__)

MODES: tuple[SearchMode, ...] = ("hybrid", "dense", "keyword")
KEYWORD_SCORE_DEPTH = 1000  # BM25 ranks fetched in hybrid mode to score dense candidates
# Hit.dense_floor is the query's cosine at this rank (or the last, in a smaller archive): how
# close the crowd of unrelated chunks comes, a per-query reference for abstention that does
# not move when cosines shift as a whole (a question in another language than the archive).
FLOOR_RANK = 50


@dataclass(frozen=True)
class FusionParams:
    """Constants of hybrid fusion.

    dense_weight: share of the normalised dense score in the fused score.
    depth: candidates taken from each side before fusing (at least 4x k).
    """

    dense_weight: float = 0.5
    depth: int = 50
    method: Literal["convex", "rrf"] = "convex"  # "rrf": plain reciprocal-rank fusion, for comparison
    rrf_k: int = 60


@dataclass(frozen=True)
class ScoredChunk:
    chunk_id: int
    score: float
    dense: float | None
    keyword: float | None


def _minmax(values: np.ndarray) -> np.ndarray:
    if values.size == 0:
        return values
    lo, hi = float(values.min()), float(values.max())
    if hi - lo < 1e-9:
        return np.ones_like(values) if hi > 0 else np.zeros_like(values)
    return (values - lo) / (hi - lo)


def fuse(
    dense: dict[int, float], keyword: dict[int, float], params: FusionParams, keyword_confidence: float = 1.0
) -> list[ScoredChunk]:
    """Weighted sum of per-query normalised scores over the union of candidates.

    Dense cosines are min-max normalised over the candidates; BM25 is divided by the best
    BM25 (0 stays 0: a chunk with none of the words gets no keyword credit) and then scaled
    by `keyword_confidence` (0..1; 0 for a question in another language than the archive,
    see `Retriever._keyword_confidence`). Dividing by the best BM25 alone gives the top
    keyword hit full marks even when it shares one stray word with the question, and the
    keyword side then outvotes a dense side that understood the question.
    """
    ids = sorted(set(dense) | set(keyword))
    if not ids:
        return []
    if params.method == "rrf":
        return rrf(dense, keyword, params.rrf_k)
    d = np.array([dense.get(i, np.nan) for i in ids], dtype=np.float64)
    if np.isnan(d).all():
        dn = np.zeros_like(d)
    else:
        d = np.where(np.isnan(d), np.nanmin(d), d)
        dn = _minmax(d)
    kw = np.array([keyword.get(i, 0.0) for i in ids], dtype=np.float64)
    kn = kw / kw.max() * min(max(keyword_confidence, 0.0), 1.0) if kw.max() > 0 else np.zeros_like(kw)
    w = params.dense_weight
    fused = w * dn + (1 - w) * kn
    order = np.argsort(-fused, kind="stable")
    return [ScoredChunk(ids[i], float(fused[i]), dense.get(ids[i]), keyword.get(ids[i], 0.0)) for i in order]


def rrf(dense: dict[int, float], keyword: dict[int, float], k: int = 60) -> list[ScoredChunk]:
    """Reciprocal-rank fusion: sum of 1 / (k + rank) over the lists a chunk appears in."""
    score: dict[int, float] = {}
    for scores in (dense, keyword):
        ranked = sorted((i for i, s in scores.items() if s > 0 or scores is dense), key=lambda i: -scores[i])
        for r, i in enumerate(ranked, 1):
            score[i] = score.get(i, 0.0) + 1.0 / (k + r)
    order = sorted(score, key=lambda i: -score[i])
    return [ScoredChunk(i, score[i], dense.get(i), keyword.get(i)) for i in order]


class Retriever:
    """Runs the three search modes over one index backend."""

    def __init__(
        self,
        backend: IndexBackend,
        encode_query: Callable[[str], np.ndarray],
        params: FusionParams | None = None,
    ):
        self.backend = backend
        self._encode_query = encode_query
        self.params = params or FusionParams()

    def search(
        self,
        query: str,
        k: int = 10,
        mode: SearchMode = "hybrid",
        filters: Filters | None = None,
        max_per_article: int | None = 2,
    ) -> list[Hit]:
        """The best `k` chunks for `query`.

        Args:
            query: a question or keywords, simplified or traditional Chinese, or English.
            k: how many hits.
            mode: "hybrid" (default), "dense" or "keyword".
            filters: date range, source, page.
            max_per_article: at most this many chunks of one article (None: no limit).

        Raises:
            BadQueryError: the query is empty, has no letters or digits, is too long or
                is not valid text (`EmptyQueryError` for the first two).
            ValueError: unknown mode.
        """
        if mode not in MODES:
            raise ValueError(f"unknown search mode {mode!r}; choose one of {', '.join(MODES)}")
        check_query(query)
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        filters = filters or Filters()
        depth = max(self.params.depth, 4 * k, k * (max_per_article or 1) * 2)
        scored, floor = self._score(query, mode, depth, filters)
        return self._hits(scored, k, max_per_article, floor)

    def _score(self, query: str, mode: SearchMode, depth: int, filters: Filters) -> tuple[list[ScoredChunk], float | None]:
        """Scored candidates, best first, and the dense floor (see `FLOOR_RANK`)."""
        terms = query_terms(query) if mode != "dense" else []
        dense: dict[int, float] = {}
        qvec = None
        if mode != "keyword":
            qvec = self._encode_query(query)
            dense = dict(self.backend.dense_search(qvec, depth, filters))
        floor = sorted(dense.values(), reverse=True)[: FLOOR_RANK][-1] if dense else None
        if mode == "dense":
            return [ScoredChunk(i, s, s, None) for i, s in sorted(dense.items(), key=lambda x: -x[1])], floor
        if mode == "keyword":
            ranked = self.backend.keyword_search(terms, depth, filters)
            if detect_language(query) == "en" and (not ranked or not self._same_language(query, ranked[0][0])):
                return self._translated(query, {}, depth, filters), None
            return [ScoredChunk(i, s, None, s) for i, s in ranked], None
        # one read of the best dense chunk decides both: an English question over Chinese text
        # is translated; any other question in another language than that text gets no
        # keyword confidence (see `_keyword_confidence`)
        same_language = self._same_language(query, max(dense, key=dense.__getitem__) if dense else None)
        if not same_language and detect_language(query) == "en":
            return self._translated(query, dense, depth, filters, qvec), floor
        # hybrid: give every candidate both scores. One BM25 query, deep enough to score the
        # dense candidates too (beyond KEYWORD_SCORE_DEPTH a chunk's BM25 counts as 0); the
        # keyword candidates are its top `depth`. Cosines of keyword candidates come from
        # the stored vectors.
        ranked = self.backend.keyword_search(terms, max(depth, KEYWORD_SCORE_DEPTH), filters)
        all_kw = dict(ranked)
        keyword = {i: all_kw.get(i, 0.0) for i in dense}
        keyword.update(ranked[:depth])
        missing_d = [i for i in keyword if i not in dense]
        dense.update(self.backend.dense_scores(qvec, missing_d))
        return fuse(dense, keyword, self.params, self._keyword_confidence(same_language)), floor

    @staticmethod
    def _keyword_confidence(same_language: bool) -> float:
        """0 when the question is in another language than the text the dense side found
        (a Chinese question over English text: its keyword matches are stray words), else 1.
        (English questions over Chinese text are translated first: `_translated`.)"""
        return 1.0 if same_language else 0.0

    def _same_language(self, query: str, chunk_id: int | None) -> bool:
        row = self.backend.chunk_rows([chunk_id]).get(chunk_id) if chunk_id is not None else None
        return row is None or detect_language(row.text) == detect_language(query)

    def _translated(
        self, query: str, dense: dict[int, float], depth: int, filters: Filters, qvec: np.ndarray | None = None
    ) -> list[ScoredChunk]:
        """An English question over Chinese text: its words' dictionary translations
        (`qa.crosslingual`) propose keyword candidates and score all candidates; fused with
        dense as for a Chinese question, with the keyword side's weight reduced by how much of
        the question the dictionary could translate. Without `qvec`: keyword mode."""
        groups = crosslingual.translate(query)
        proposed = [i for i, _ in self.backend.keyword_search(crosslingual.search_terms(groups), depth, filters)]
        ids = list(dict.fromkeys([*dense, *proposed]))
        rows = self.backend.chunk_rows(ids)
        texts = {i: crosslingual.normalized(rows[i].citation.title + "\n" + rows[i].text) for i in ids if i in rows}
        keyword = crosslingual.keyword_scores(groups, texts)
        if qvec is None:
            return [ScoredChunk(i, s, None, s) for i, s in sorted(keyword.items(), key=lambda x: -x[1]) if s > 0][:depth]
        dense = {**dense, **self.backend.dense_scores(qvec, [i for i in ids if i not in dense])}
        return fuse(dense, keyword, self.params, crosslingual.keyword_confidence(groups))

    def _hits(self, scored: list[ScoredChunk], k: int, max_per_article: int | None, floor: float | None) -> list[Hit]:
        rows: dict[int, ChunkRow] = self.backend.chunk_rows([s.chunk_id for s in scored])
        hits: list[Hit] = []
        per_article: dict[str, int] = {}
        for s in scored:
            row = rows.get(s.chunk_id)
            if row is None:
                continue
            n = per_article.get(row.article_id, 0)
            if max_per_article is not None and n >= max_per_article:
                continue
            per_article[row.article_id] = n + 1
            hits.append(Hit(row.id, row.article_id, row.text, row.start, row.end, s.score, row.citation, s.dense, s.keyword, floor))
            if len(hits) >= k:
                break
        return hits
