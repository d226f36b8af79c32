"""From hits to an answer: decide whether anything answers, which passages are worth
showing, which sentence answers, and the short answer inside it.

Highlighting is in `qa.highlight` (lexical with topic terms discounted, answer type, the
article's first sentence for who/what questions, and the embedding model on the best
passage's sentences); short answers in `qa.short_answer`. The passages of the best article
compete for the highlight, and the one holding it is shown first (`_answer_passage`).

Sources: a passage is shown only when its score is close to the best one's (`SourceCut`);
weaker ones go to `Answer.related`. Each shown passage carries a relevance cue.

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
from itertools import accumulate
from typing import Any

from . import crosslingual
from .highlight import HighlightParams, SentenceScorer, best_sentences, matched_terms, sentence_spans
from .language import detect_language
from .records import Answer, AnswerType, Hit, Language, Passage, Relevance
from .short_answer import expected_type, pick_short_answer
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


def question_terms(question: str) -> list[str]:
    """The question's search terms; for an English question also the Chinese translations of
    its words (`qa.crosslingual`), so highlighting can find them in Chinese text (in English
    text they match nothing)."""
    terms = query_terms(question)
    if detect_language(question) == "en":
        terms += [t for t in crosslingual.highlight_terms(question) if t not in terms]
    return terms


def idf_weights(terms: Sequence[str], doc_freq: dict[str, int], n_docs: int) -> dict[str, float]:
    """BM25-style IDF, floored at a small positive value."""
    return {t: max(0.05, math.log((n_docs - doc_freq.get(t, 0) + 0.5) / (doc_freq.get(t, 0) + 0.5) + 1)) for t in terms}


def coverage(text: str, weights: dict[str, float]) -> float:
    """IDF-weighted share of the terms that occur in `text` (normalised)."""
    total = sum(weights.values())
    if total <= 0:
        return 0.0
    # a sub-word found inside a longer matched term (周庄 in 周庄镇) is one match, not two
    return sum(weights[t] for t in matched_terms(normalize(text), list(weights))) / total


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


def _judged_hit(hits: Sequence[Hit], language: Language) -> Hit | None:
    """The hit abstention judges: the first one; for a question in another language than
    the first hit, the one with the best cosine among the hits. The cross-language rule is
    a cosine rule, and the translated keyword side (`qa.crosslingual`) may rank first a
    passage with a lower cosine than the best one: judging that one declined 6.8% of XQuAD's
    English questions instead of 3.0%."""
    if not hits or detect_language(hits[0].text) == language:
        return hits[0] if hits else None
    with_cosine = [h for h in hits if h.dense_score is not None]
    return max(with_cosine, key=lambda h: h.dense_score, default=hits[0])


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


@dataclass(frozen=True)
class SourceCut:
    """Which passages are shown as sources. A passage's closeness to the best one is its
    fused score over the best's (hybrid, keyword); with dense scores alone, 1 minus the
    cosine gap over `dense_gap_scale` (a gap of 0.03 is 0.75). Shown: closeness >=
    `min_shown` ("high" from `min_high`, else "medium"); the rest are "possibly related".

    Set on the score distributions of CMRC 2018 trial and DRCD dev (hybrid, top 5): 0.75
    keeps the gold article in 99.6% / 99.4% of questions (all five: 99.6% / 99.7%) while
    92% / 67% of the shown passages come from it (all five: 22% / 21%).
    """

    min_shown: float = 0.75
    min_high: float = 0.9
    dense_gap_scale: float = 0.12


def closeness(hit: Hit, best: Hit, cut: SourceCut) -> float:
    """How close `hit` is to `best`, 1.0 for the best itself (see `SourceCut`)."""
    if hit.keyword_score is None and hit.dense_score is not None and best.dense_score is not None:
        return 1.0 - (best.dense_score - hit.dense_score) / cut.dense_gap_scale
    return hit.score / best.score if best.score > 0 else 1.0


def _passage(h: Hit, question: str, weights: dict[str, float], relevance: Relevance,
             spans: tuple[tuple[int, int], ...] | None = None, **kw: Any) -> Passage:
    if spans is None:
        spans = best_sentences(h.text, question, weights, title=h.citation.title, opens_article=h.start == 0, **kw)
    return Passage(text=h.text, score=h.score, citation=h.citation,
                   highlight=h.text[spans[0][0] : spans[0][1]] if spans else "", highlights=spans,
                   start=h.start, end=h.end, chunk_id=h.chunk_id, relevance=relevance)


def build_answer(
    question: str,
    hits: Sequence[Hit],
    doc_freq: dict[str, int],
    n_docs: int,
    params: AbstainParams | None = None,
    k: int | None = None,
    *,
    scorer: SentenceScorer | None = None,
    highlight: HighlightParams | None = None,
    cut: SourceCut | None = None,
) -> Answer:
    """Turn ranked hits into an `Answer`, or a clear 'not found'.

    Overlapping hits of one article are merged first; of the first `k` passages, those
    close to the best are shown (`passages`), the others are `related`. The best passage's
    sentences are also scored by `scorer` (the embedding model) when given; the short
    answer is looked for in its highlighted sentence only.
    """
    params = params or AbstainParams()
    highlight = highlight or HighlightParams()
    cut = cut or SourceCut()
    weights = idf_weights(query_terms(question), doc_freq, max(n_docs, 1))
    language = detect_language(question)
    found, conf = decide_found(_judged_hit(hits, language), weights, params, language)
    if not found:
        return Answer(question=question, passages=(), found=False, message=NOT_FOUND_MESSAGES[language],
                      confidence=conf, language=language)
    kind = expected_type(question)
    merged = merge_overlapping(hits)[:k]
    # highlighting also looks for an English question's words in Chinese (abstention above does not)
    weights = idf_weights(question_terms(question), doc_freq, max(n_docs, 1))
    near = [closeness(h, merged[0], cut) for h in merged]
    shown_at = [i for i in range(len(merged)) if i == 0 or near[i] >= cut.min_shown]
    first, first_spans = _answer_passage(merged, shown_at, question, weights, kind, scorer, highlight)
    shown = [_passage(merged[first], question, weights, "high", first_spans)]
    related: list[Passage] = []
    for i, h in enumerate(merged):
        if i == first:
            continue
        if i in shown_at:
            rel: Relevance = "high" if i == 0 or near[i] >= cut.min_high else "medium"
            shown.append(_passage(h, question, weights, rel, kind=kind, params=highlight))
        else:
            related.append(_passage(h, question, weights, "low", kind=kind, params=highlight))
    best = shown[0].highlight
    span = _short_answer_span(best, question, kind, weights, highlight)
    return Answer(question=question, passages=tuple(shown), found=True, confidence=conf,
                  short_answer=best[span[0] : span[1]] if span else None, short_answer_span=span,
                  answer_type=kind, related=tuple(related), language=language)


def _answer_passage(merged: Sequence[Hit], shown_at: Sequence[int], question: str, weights: dict[str, float],
                    kind: AnswerType | None, scorer: SentenceScorer | None,
                    params: HighlightParams) -> tuple[int, tuple[tuple[int, int], ...]]:
    """Which shown passage the answer sentence is in (an index into `merged`) and its span.

    The best article's shown passages (its chunks that do not touch, so were not merged) are
    scored as one text, in article order, so they compete for the highlight: the first hit may
    be a later chunk while the article's opening chunk holds the lead sentence that answers
    (松平康忠是什么时期的武将？). Sentences never join across two passages."""
    same = [i for i in shown_at if merged[i].article_id == merged[0].article_id] if params.across_passages else [0]
    same.sort(key=lambda i: merged[i].start)
    texts = [merged[i].text for i in same]
    offsets = list(accumulate((len(t) + 2 for t in texts[:-1]), initial=0))
    spans = best_sentences("\n\n".join(texts), question, weights, title=merged[0].citation.title, kind=kind,
                           scorer=scorer, params=params, opens_article=merged[same[0]].start == 0)
    if not spans:
        return 0, ()
    s, e = spans[0]
    j = max(n for n, o in enumerate(offsets) if o <= s)
    return same[j], ((s - offsets[j], e - offsets[j]),)


def _short_answer_span(highlight: str, question: str, kind: AnswerType | None, weights: dict[str, float],
                       params: HighlightParams) -> tuple[int, int] | None:
    """The short answer's offsets in the highlight. When a highlight of joined sentences (a
    sentence opening with 其中/它们... and the one before) holds no one clear answer, its
    sentence that holds most of the question is read alone: 小微贷款利率 asked, 3.88% of the
    其中 sentence, where 3.60% of the sentence before it competed."""
    span = pick_short_answer(highlight, question, kind, list(weights))
    units = sentence_spans(highlight, params.join_clauses) if params.join_dependent and span is None else []
    if len(units) < 2:
        return span
    s, e = max(units, key=lambda u: coverage(highlight[u[0] : u[1]], weights))
    got = pick_short_answer(highlight[s:e], question, kind, list(weights))
    return (s + got[0], s + got[1]) if got else None
