"""From hits to an answer: pick the sentence that answers, decide whether anything does.

Highlighting is lexical: each sentence of a passage is scored by the IDF-weighted share
of the question's terms it contains (after the same normalisation as the keyword index),
plus a small bonus for shared character bigrams (a tie-breaker), which catches words jieba cut
differently. It is cheap enough to run on every passage and, unlike a second embedding
pass, points at the words the reader asked about.

Abstention: retrieval always returns *something*, so `ask` decides whether the best
passage really relates to the question from two absolute signals: the dense cosine of
the best passage and how much of the question's (IDF-weighted) vocabulary it contains.
The thresholds were set on answerable questions (a set against its own corpus) versus
unanswerable ones (the same questions against the other set's corpus); see the README.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from .chunk import split_sentences
from .records import Answer, Hit, Passage
from .textnorm import normalize, query_terms

NOT_FOUND_MESSAGE = "没有找到与这个问题相关的内容。可以换个说法，或问得更宽泛一些（例如去掉日期或地名）。"


@dataclass(frozen=True)
class AbstainParams:
    """A question is answered when the best passage's cosine >= `min_dense`, or its
    weighted term coverage >= `min_coverage` and cosine >= `min_dense_with_terms`."""

    min_dense: float = 0.86
    min_coverage: float = 0.6
    min_dense_with_terms: float = 0.80


def _bigrams(s: str) -> set[str]:
    s = "".join(ch for ch in s if ch.isalnum())
    return {s[i : i + 2] for i in range(len(s) - 1)}


def idf_weights(terms: Sequence[str], doc_freq: dict[str, int], n_docs: int) -> dict[str, float]:
    """BM25-style IDF, floored at a small positive value."""
    return {t: max(0.05, math.log((n_docs - doc_freq.get(t, 0) + 0.5) / (doc_freq.get(t, 0) + 0.5) + 1)) for t in terms}


def coverage(text: str, weights: dict[str, float]) -> float:
    """IDF-weighted share of the terms that occur in `text` (normalised)."""
    total = sum(weights.values())
    if total <= 0:
        return 0.0
    norm = normalize(text)
    matched = [t for t in weights if t in norm]
    # a sub-word found inside a longer matched term (周庄 in 周庄镇) is one match, not two
    longest = [t for t in matched if not any(t != u and t in u for u in matched)]
    return sum(weights[t] for t in longest) / total


def best_sentences(text: str, question: str, weights: dict[str, float], n: int = 1) -> tuple[tuple[int, int], ...]:
    """Spans of the `n` sentences of `text` that best answer `question`."""
    spans = split_sentences(text, max_chars=400)
    if not spans:
        return ()
    qgrams = _bigrams(normalize(question))
    scored = []
    for idx, (s, e) in enumerate(spans):
        sent = text[s:e]
        cov = coverage(sent, weights)
        grams = _bigrams(normalize(sent))
        overlap = len(qgrams & grams) / len(qgrams) if qgrams else 0.0
        # sentences that are only a headline or a credit line answer nothing
        short_penalty = 0.5 if len(sent) < 8 else 0.0
        scored.append((cov + 0.15 * overlap - short_penalty, -idx, (s, e)))
    scored.sort(reverse=True)
    return tuple(sorted(span for _, _, span in scored[:n]))


def decide_found(best: Hit | None, weights: dict[str, float], params: AbstainParams) -> tuple[bool, float]:
    """Whether the best hit relates to the question, and the confidence used."""
    if best is None:
        return False, 0.0
    cos = best.dense_score if best.dense_score is not None else 0.0
    cov = coverage(best.citation.title + "\n" + best.text, weights)
    found = cos >= params.min_dense or (cov >= params.min_coverage and cos >= params.min_dense_with_terms)
    if best.dense_score is None:  # keyword-only search: coverage alone decides
        found = cov >= params.min_coverage
    return found, round(max(cos, cov), 4)


def build_answer(
    question: str,
    hits: Sequence[Hit],
    doc_freq: dict[str, int],
    n_docs: int,
    params: AbstainParams | None = None,
) -> Answer:
    """Turn ranked hits into an `Answer` with highlights, or a clear 'not found'."""
    params = params or AbstainParams()
    weights = idf_weights(query_terms(question), doc_freq, max(n_docs, 1))
    found, conf = decide_found(hits[0] if hits else None, weights, params)
    if not found:
        return Answer(question=question, passages=(), found=False, message=NOT_FOUND_MESSAGE, confidence=conf)
    passages = []
    for h in hits:
        spans = best_sentences(h.text, question, weights)
        passages.append(
            Passage(
                text=h.text,
                score=h.score,
                citation=h.citation,
                highlight=h.text[spans[0][0] : spans[0][1]] if spans else "",
                highlights=spans,
                start=h.start,
                end=h.end,
                chunk_id=h.chunk_id,
            )
        )
    return Answer(question=question, passages=tuple(passages), found=True, confidence=conf)
