"""Which sentence of a passage answers the question.

Each sentence gets a score from up to five signals (measured one by one on CMRC 2018 trial
and DRCD dev, see the README's ablation table):

- lexical: the IDF-weighted share of the question's terms the sentence holds, plus a small
  bonus for shared character bigrams (catches words jieba cut differently) and one for the
  longest run of the question's own characters (outside the headline) that the sentence
  repeats: 义务教育 said as one phrase beats 教育 and 需要 scattered over a sentence;
- local weighting: a question term found in many sentences of the passage (or in its
  headline) names the topic, not the answer, so it counts less than a term found in one
  sentence: Wikipedia's lead sentence repeats the subject and used to win every question
  about it;
- answer type: a sentence holding what the question asks for (a number for 多少, a date for
  哪一年...), not already said by the question and within a few characters of one of its
  terms (税收1334万元 for 税收多少), gets a bonus;
- the article's first sentence, for a question about who or what the subject is, its other
  names or where it is (`short_answer.asks_identity`): an encyclopedia's lead sentence and a
  news story's lede say exactly that, in the words of the headline, which local weighting
  discounts;
- meaning: the embedding model's cosine between the question and each sentence (embedded
  under the passage's headline, so that every sentence names the topic and the cosine
  differs on the rest), rescaled within the passage, so a sentence that answers in other
  words than the question's can win.

The unit is a whole sentence (clauses cut at ；joined again); a sentence that opens with a
connective or a back-reference (因此, 随后, 它们, 这本书, 该...) does not stand alone and is
shown together with the one before it (up to `HighlightParams.join_dependent` characters):
"它们所使用的传输科技仍旧是建立于电磁波原理。" alone does not say what 它们 are. This
lengthens the highlight by about 8 characters on average, and most of its gain in highlight-hit
comes from that length (README, "The answer stage").

Dense scoring needs the encoder; callers pass the cosines (one per sentence) or None.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from .chunk import split_sentences
from .records import AnswerType
from .short_answer import NEAR_CHARS, asks_identity, has_type
from .textnorm import normalize

SENTENCE_MAX_CHARS = 400
# (question, headline, sentences) -> cosine of each sentence (under its headline) to the question
SentenceScorer = Callable[[str, str, Sequence[str]], Sequence[float]]


@dataclass(frozen=True)
class HighlightParams:
    """Weights of the signals; zero turns one off (the ablation does). Chosen to hold on
    both CMRC 2018 trial (simplified) and DRCD dev (traditional), not tuned to either."""

    join_clauses: bool = True
    local_weighting: bool = True
    title_factor: float = 0.3
    type_bonus: float = 0.2  # the sentence holds a value of the asked type next to a question term
    type_near: int | None = NEAR_CHARS  # None: anywhere in the sentence (cost DRCD a point: off)
    dense_weight: float = 0.8
    dense_scale: float = 0.1  # cosine gap below the passage's best sentence that counts 0; 0: min-max
    bigram_weight: float = 0.15
    dense_candidates: int = 4  # only the lexically best few sentences are embedded (latency)
    next_sentence: float = 0.0  # share of the previous sentence's score added ("the one after the match"): measured, off
    phrase_weight: float = 0.2  # bonus for the longest run of question characters (outside the headline) repeated
    phrase_min: int = 3  # shorter runs are a word or two, already counted by terms and bigrams
    phrase_cap: int = 8  # runs this long or longer get the full bonus
    # a sentence opening with a connective or back-reference joins the one before, up to this
    # many chars (0: off); which openers: `DEPENDENT_OPENERS` "connective", "+anaphor"
    # (它/这/该/此/其 too, the default), "+person" (他/她 too: measured, not kept)
    join_dependent: int = 150
    dependent_openers: str = "+anaphor"
    # added to the article's first sentence when the question asks who/what/where its subject is
    lead_bonus: float = 0.2
    # the best article's other shown passages (chunks that do not touch the first) are scored
    # with it, and the passage holding the best sentence is shown first
    across_passages: bool = True


def _bigrams(s: str) -> set[str]:
    s = "".join(ch for ch in s if ch.isalnum())
    return {s[i : i + 2] for i in range(len(s) - 1)}


def longest_common_run(a: str, b: str) -> int:
    """Length of the longest substring of `a` that occurs in `b`."""
    best = 0
    for i in range(len(a)):
        j = i + best + 1
        while j <= len(a) and a[i:j] in b:
            best = j - i
            j += 1
    return best


def question_runs(question: str, title: str) -> list[str]:
    """The question's runs of letters and digits outside the headline's characters: the
    pieces a sentence can repeat as a phrase (the headline's own characters name the topic)."""
    ntitle = normalize(title) if title else ""
    kept = "".join(ch if ch.isalnum() and ch not in ntitle else " " for ch in normalize(question))
    return kept.split()


def phrase_score(norm: str, runs: Sequence[str], params: HighlightParams) -> float:
    """0..1: how long a piece of the question `norm` repeats verbatim (0 below `phrase_min`)."""
    run = max((longest_common_run(r, norm) for r in runs), default=0)
    return min(run, params.phrase_cap) / params.phrase_cap if run >= params.phrase_min else 0.0


def matched_terms(norm: str, terms: Sequence[str]) -> list[str]:
    """Terms found in `norm`; a sub-word inside a longer found term (周庄 in 周庄镇) is dropped."""
    found = [t for t in terms if t in norm]
    return [t for t in found if not any(t != u and t in u for u in found)]


def local_weights(norm_sentences: Sequence[str], title: str, weights: dict[str, float],
                  title_factor: float = 1.0) -> dict[str, float]:
    """Scale each term's IDF by how few of the passage's sentences (and headline) hold it;
    a term of the headline names the topic and is scaled by `title_factor` too."""
    ntitle = normalize(title) if title else ""
    units = [*norm_sentences, ntitle] if title else list(norm_sentences)
    n = len(units)
    out = {}
    for t, w in weights.items():
        sf = sum(1 for u in units if t in u)
        out[t] = w * math.log(1 + n / max(sf, 1)) * (title_factor if ntitle and t in ntitle else 1.0)
    return out


# openers of a sentence that leans on the one before, on normalised (simplified) text; 但丁
# (Dante) and 也门 (Yemen) are names
DEPENDENT_OPENERS = {
    "connective": r"因此|因而|所以|于是|但(?!丁)|然而|不过|而|并|且|更|也(?!门)|又|随后|之后|后来|此后|其后|"
                  r"同时|另外|此外|即|故此|故而",
}
DEPENDENT_OPENERS["+anaphor"] = DEPENDENT_OPENERS["connective"] + r"|它|这|该|此|其|上述"
DEPENDENT_OPENERS["+person"] = DEPENDENT_OPENERS["+anaphor"] + r"|他|她"


def sentence_spans(text: str, join_clauses: bool = True, join_dependent: int = 0,
                   openers: str = "connective") -> list[tuple[int, int]]:
    """Whole sentences: the chunker also cuts at semicolons (；), which end a clause, not
    a sentence; for a highlight the clauses of one sentence are joined again. With
    `join_dependent` > 0, a sentence opening with one of `DEPENDENT_OPENERS[openers]` joins
    the one before it in the same paragraph while the two stay within that many characters."""
    out: list[tuple[int, int]] = []
    dep = re.compile(f"(?:{DEPENDENT_OPENERS[openers]})") if join_dependent else None
    for s, e in split_sentences(text, max_chars=SENTENCE_MAX_CHARS):
        same_par = bool(out) and "\n" not in text[out[-1][1] : s]
        if join_clauses and same_par and text[out[-1][1] - 1] in "；;" and e - out[-1][0] <= SENTENCE_MAX_CHARS:
            out[-1] = (out[-1][0], e)
        elif dep is not None and same_par and e - out[-1][0] <= join_dependent \
                and dep.match(normalize(text[s : s + 4])):
            out[-1] = (out[-1][0], e)
        else:
            out.append((s, e))
    return out


def score_sentences(
    text: str,
    question: str,
    weights: dict[str, float],
    spans: Sequence[tuple[int, int]],
    *,
    title: str = "",
    kind: AnswerType | None = None,
    cosines: Sequence[float] | None = None,
    params: HighlightParams = HighlightParams(),
    all_spans: Sequence[tuple[int, int]] | None = None,
    lead: int | None = None,
) -> list[float]:
    """One score per sentence span of `text`; higher answers `question` better. Local term
    weights count over `all_spans` (default: `spans`), all the passage's sentences. `lead`:
    the start of the sentence that gets `params.lead_bonus` (the article's first)."""
    if not spans:
        return []
    norms = [normalize(text[s:e]) for s, e in spans]
    every = norms if all_spans is None else [normalize(text[s:e]) for s, e in all_spans]
    w = local_weights(every, title, weights, params.title_factor) if params.local_weighting else weights
    total = sum(w.values())
    qgrams = _bigrams(normalize(question))
    if title and params.local_weighting and params.title_factor < 1:
        qgrams -= _bigrams(normalize(title))  # the headline's words are the topic, not the answer
    dense = None
    if cosines is not None and params.dense_weight and len(cosines) == len(spans):
        c = np.asarray(cosines, dtype=np.float64)
        if params.dense_scale > 0:
            dense = np.clip(1.0 - (c.max() - c) / params.dense_scale, 0.0, 1.0)
        else:
            spread = float(c.max() - c.min())
            dense = (c - c.min()) / spread if spread > 1e-6 else np.zeros_like(c)
    runs = question_runs(question, title) if params.phrase_weight else []
    terms = list(weights)
    scores = []
    for i, ((s, e), norm) in enumerate(zip(spans, norms)):
        sent = text[s:e]
        lex = sum(w[t] for t in matched_terms(norm, list(w))) / total if total > 0 else 0.0
        overlap = len(qgrams & _bigrams(norm)) / len(qgrams) if qgrams else 0.0
        score = lex + params.bigram_weight * overlap
        if runs:
            score += params.phrase_weight * phrase_score(norm, runs, params)
        if len(sent) < 8:  # a headline fragment or a credit line answers nothing
            score -= 0.5
        if params.type_bonus and kind is not None and has_type(sent, kind, question, terms, params.type_near):
            score += params.type_bonus
        if dense is not None:
            score += params.dense_weight * float(dense[i])
        if s == lead:
            score += params.lead_bonus
        scores.append(score)
    return scores


def best_sentences(
    text: str,
    question: str,
    weights: dict[str, float],
    n: int = 1,
    *,
    title: str = "",
    kind: AnswerType | None = None,
    scorer: SentenceScorer | None = None,
    params: HighlightParams = HighlightParams(),
    opens_article: bool = False,
) -> tuple[tuple[int, int], ...]:
    """Spans of the `n` sentences of `text` that best answer `question`, in text order.
    `scorer` (the embedding model) is called once with the lexically best few sentences.
    `opens_article`: `text` starts at the article's start (its first sentence is the lead)."""
    spans = sentence_spans(text, params.join_clauses, params.join_dependent, params.dependent_openers)
    if not spans:
        return ()
    lead = spans[0][0] if opens_article and params.lead_bonus and asks_identity(question) else None
    scores = score_sentences(text, question, weights, spans, title=title, kind=kind, params=params, lead=lead)
    if scorer is not None and params.dense_weight and len(spans) > 1:
        # embed the lexically best few only; the others keep their lexical score and no dense credit
        top = sorted(range(len(spans)), key=lambda i: (-scores[i], i))[: max(params.dense_candidates, 2)]
        top.sort()
        cos = scorer(question, title, [text[spans[i][0] : spans[i][1]] for i in top])
        sub = score_sentences(text, question, weights, [spans[i] for i in top], title=title, kind=kind,
                              cosines=cos, params=params, all_spans=spans, lead=lead)
        for j, i in enumerate(top):
            scores[i] = sub[j]
    if params.next_sentence:  # credit the sentence right after a good match
        scores = [sc + (params.next_sentence * scores[i - 1] if i else 0.0) for i, sc in enumerate(scores)]
    order = sorted(range(len(spans)), key=lambda i: (-scores[i], i))
    return tuple(sorted(spans[i] for i in order[:n]))
