"""From hits to an answer: pick the sentence that answers, decide whether anything does.

Highlighting is lexical: each sentence of a passage is scored by the IDF-weighted share
of the question's terms it contains (after the same normalisation as the keyword index),
plus a small bonus for shared character bigrams (a tie-breaker), which catches words jieba cut
differently. It is cheap enough to run on every passage and, unlike a second embedding
pass, points at the words the reader asked about.

Abstention: retrieval always returns *something*, so `ask` decides whether the best
passage really relates to the question from two absolute signals: the dense cosine of
the best passage and how much of the question's (IDF-weighted) vocabulary it contains.
The threshold was set on answerable questions (a set against its own corpus) versus
unanswerable ones (the same questions against the other set's corpus); see
`AbstainParams` and the README.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, replace

from .chunk import split_sentences
from .language import detect_language
from .records import Answer, Hit, Language, Passage
from .textnorm import normalize, query_terms

# The reply's own words, in the question's language (one table, so a view never mixes them).
NOT_FOUND_MESSAGES: dict[Language, str] = {
    "zh": "没有找到与这个问题相关的内容。可以换个说法，或问得更宽泛一些（例如去掉日期或地名）。",
    "en": "Nothing in the archive answers this question. Try other words, or a broader question "
          "(for example without a date or place).",
}
NOT_FOUND_MESSAGE = NOT_FOUND_MESSAGES["zh"]


@dataclass(frozen=True)
class AbstainParams:
    """A question is answered when `cosine + coverage_weight * coverage >= min_confidence`
    for the best passage (cosine: dense similarity to the question; coverage: IDF-weighted
    share of the question's terms in the passage). Keyword-only searches have no cosine and
    use `keyword_min_coverage` alone.

    Set on 1,200 questions (300 CMRC + 300 DRCD, each against its own corpus = answerable,
    and against the other corpus = unanswerable): 0.91 answers 97.2% of the answerable and
    declines 93.2% of the unanswerable (cosine alone at its best threshold: 93.3% / 92.7%).

    A question in another language than the passage (English over Chinese text) shares no
    words with it, and e5's cosines across languages sit lower (by 0.12 at the median for
    the same question asked in Chinese and in English against the same passage, XQuAD):
    there `cosine + 2 × margin >= cross_lingual_min_confidence` decides, where the margin is
    the best cosine's lead over the query's own 50th best (`Hit.dense_floor`). Neither part
    carries over alone: an absolute cosine set to answer 95% of XQuAD's English questions
    declined 68% of unrelated English questions over CMRC's corpus but 30% over DRCD's; the
    margin alone (77% / 88%) failed in a topically uniform archive (the sample's press
    releases: 50 chunks about President Ma sit close below the best one). The sum answers 96%
    of XQuAD's English questions and declines 75% / 70% of those unrelated ones. README, "Abstention".
    """

    min_confidence: float = 0.91
    coverage_weight: float = 0.15
    keyword_min_coverage: float = 0.45
    cross_lingual_min_confidence: float = 0.815
    cross_lingual_margin_weight: float = 2.0


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


def decide_found(
    best: Hit | None, weights: dict[str, float], params: AbstainParams, language: Language | None = None
) -> tuple[bool, float]:
    """Whether the best hit relates to the question, and the confidence it was decided on.
    `language`: the question's (default: told from its terms, the keys of `weights`)."""
    if best is None:
        return False, 0.0
    cov = coverage(best.citation.title + "\n" + best.text, weights)
    if best.dense_score is None:  # keyword-only search: coverage alone decides
        return cov >= params.keyword_min_coverage, round(cov, 4)
    if (language or detect_language(" ".join(weights))) != detect_language(best.text):
        floor = best.dense_floor if best.dense_floor is not None else best.dense_score
        conf = best.dense_score + params.cross_lingual_margin_weight * (best.dense_score - floor)
        return conf >= params.cross_lingual_min_confidence, round(conf, 4)
    conf = best.dense_score + params.coverage_weight * cov
    return conf >= params.min_confidence, round(conf, 4)


def merge_overlapping(hits: Sequence[Hit]) -> list[Hit]:
    """Merge hits of one article whose spans overlap or touch into one passage, so the
    same sentence is never cited twice (chunks overlap by a sentence by design). The merged
    passage keeps the better rank and score; its text is exactly the article's span."""
    kept: list[Hit] = []
    for h in hits:
        for i, k in enumerate(kept):
            if k.article_id == h.article_id and h.start <= k.end and k.start <= h.end:
                a, b = (k, h) if k.start <= h.start else (h, k)
                text = a.text + b.text[a.end - b.start :] if b.end > a.end else a.text
                kept[i] = replace(k, text=text, start=a.start, end=max(a.end, b.end))
                break
        else:
            kept.append(h)
    return kept


def build_answer(
    question: str,
    hits: Sequence[Hit],
    doc_freq: dict[str, int],
    n_docs: int,
    params: AbstainParams | None = None,
    k: int | None = None,
) -> Answer:
    """Turn ranked hits into an `Answer` with highlights, or a clear 'not found'.
    Overlapping hits of one article are merged first; then at most `k` passages are kept."""
    params = params or AbstainParams()
    weights = idf_weights(query_terms(question), doc_freq, max(n_docs, 1))
    found, conf = decide_found(hits[0] if hits else None, weights, params)
    if not found:
        return Answer(question=question, passages=(), found=False, message=NOT_FOUND_MESSAGES[detect_language(question)], confidence=conf)
    passages = []
    for h in merge_overlapping(hits)[:k]:
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
