"""Evaluation of an archive over a question set: does it find the source, and the answer?

Question sets are JSON Lines, one question per line (the shared CMRC 2018 / DRCD sets
work as they are; see `data/questions/README.md`):

    {"id": "q1", "question": "周庄镇2021年累计完成税收多少？", "answers": ["1334万元"],
     "gold_title_contains": ["乡村振兴"], "filters": {"source": "焦作日报"}}

- `question` (required); `answers`: any-of gold strings (a string is one answer);
- gold source: `doc_id` / `doc_ids` (article ids, or values of the metadata field named by
  `gold_field`), and/or `gold_title_contains` (a string or list: a hit is gold when its
  headline contains one of them; robust where ids are generated, e.g. parsed pages);
- `filters`: `date_from`, `date_to`, `source`, `page`, passed to search and ask;
- `id` (default: line number); other fields are ignored.

Per question and mode, `evaluate` runs `Archive.search` once (retrieval metrics: source-
and answer-recall@k, MRR@10, nDCG@10) and `Archive.ask` once (highlight-hit, abstention,
short-answer exact match and character F1, and the sources it shows: the share of them from
a gold article (shown precision, over answered questions) and whether one is (shown recall)).
Figures are percentages of questions, with bootstrap 95% confidence intervals; modes are
compared question by question on reciprocal rank. Plain functions on rank lists, so each
metric is testable on hand-made input (cf. sentence-transformers'
InformationRetrievalEvaluator).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

import numpy as np

from .records import Hit, SearchMode

if TYPE_CHECKING:
    from .archive import Archive

logger = logging.getLogger(__name__)

MODES: tuple[SearchMode, ...] = ("hybrid", "dense", "keyword")
DEFAULT_KS: tuple[int, ...] = (1, 3, 5, 10)
FILTER_KEYS = ("date_from", "date_to", "source", "page")
CITATION_FIELDS = ("title", "date", "page", "source", "byline", "source_file")
SNIPPET_CHARS = 120


@dataclass(frozen=True)
class Question:
    """One evaluation question. `gold` holds ids (or `gold_field` values); `gold_titles`
    are headline substrings, an alternative way to name the gold article."""

    id: str
    question: str
    answers: tuple[str, ...]
    gold: frozenset[str]
    filters: dict[str, Any] = field(default_factory=dict)
    gold_titles: tuple[str, ...] = ()

    @property
    def n_gold(self) -> int:
        """Distinct gold targets (each id once; all title patterns together count once)."""
        return len(self.gold) + (1 if self.gold_titles else 0)


def _strings(value: Any, what: str, where: str) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, (str, int)):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, (str, int)) for v in value):
        raise ValueError(f"{where}: `{what}` must be a string or a list of strings")
    return tuple(str(v) for v in value if str(v))


def parse_question(r: Any, where: str, default_id: str) -> Question:
    """One question record (a dict from JSON) -> `Question`; ValueError says what is wrong."""
    if not isinstance(r, dict):
        raise ValueError(f"{where}: expected a JSON object")
    q = r.get("question")
    if not isinstance(q, str) or not q.strip():
        raise ValueError(f"{where}: `question` is missing or empty")
    gold = _strings(r.get("doc_ids"), "doc_ids", where) or _strings(r.get("doc_id"), "doc_id", where)
    filters = r.get("filters") or {}
    if not isinstance(filters, dict) or set(filters) - set(FILTER_KEYS):
        raise ValueError(f"{where}: `filters` keys must be among {', '.join(FILTER_KEYS)}")
    return Question(str(r.get("id", default_id)), q, _strings(r.get("answers"), "answers", where),
                    frozenset(gold), dict(filters), _strings(r.get("gold_title_contains"), "gold_title_contains", where))


@dataclass(frozen=True)
class QuestionSet:
    """Questions read from a file, and the records skipped (blank `question`) as file:line."""

    questions: tuple[Question, ...]
    skipped: tuple[str, ...] = ()


def read_question_set(path: str | Path, limit: int | None = None) -> QuestionSet:
    """Read a question set; `limit` keeps the first N (a deterministic slice). Records whose
    `question` is blank are skipped and listed (the shared CMRC trial set has two).

    Raises:
        ValueError: a line is not valid JSON or not a valid question (with file:line).
    """
    out, skipped = [], []
    with open(path, encoding="utf-8-sig") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            where = f"{path}:{n}"
            try:
                r = json.loads(line)
            except json.JSONDecodeError as e:
                raise ValueError(f"{where}: invalid JSON ({e.msg})") from None
            if isinstance(r, dict) and isinstance(r.get("question"), str) and not r["question"].strip():
                skipped.append(where)
                continue
            out.append(parse_question(r, where, str(n)))
            if limit and len(out) >= limit:
                break
    if skipped:
        logger.warning("%s: skipped %d question(s) with a blank `question` (%s)", path, len(skipped), ", ".join(skipped))
    return QuestionSet(tuple(out), tuple(skipped))


def load_questions(path: str | Path, limit: int | None = None) -> list[Question]:
    """The questions of `read_question_set` as a list (blank ones skipped)."""
    return list(read_question_set(path, limit).questions)


def file_sha256(path: str | Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


# -- matching hits against the gold ------------------------------------------------------
def first_gold_rank(hits: Sequence[Hit], gold: frozenset[str]) -> int | None:
    """1-based rank of the first hit from a gold article, or None."""
    for i, h in enumerate(hits, 1):
        if h.article_id in gold:
            return i
    return None


class AnswerMatcher:
    """Is a gold answer inside a text? Exact substring first, then after the index's own
    normalisation (width, traditional->simplified, case), so an answer written in
    simplified still matches a traditional passage. Normalised texts are cached."""

    def __init__(self) -> None:
        self._norm: dict[str, str] = {}

    def norm(self, text: str) -> str:
        from .textnorm import normalize

        got = self._norm.get(text)
        if got is None:
            if len(self._norm) > 50_000:
                self._norm.clear()
            got = self._norm[text] = normalize(text)
        return got

    def contains(self, text: str, answers: Sequence[str]) -> bool:
        if not text or not answers:
            return False
        if any(a in text for a in answers):
            return True
        t = self.norm(text)
        return any(self.norm(a) in t for a in answers)


def first_answer_rank(hits: Sequence[Hit], answers: Sequence[str], matcher: AnswerMatcher | None = None) -> int | None:
    """1-based rank of the first hit whose text contains a gold answer, or None."""
    m = matcher or AnswerMatcher()
    for i, h in enumerate(hits, 1):
        if m.contains(h.text, answers):
            return i
    return None


class GoldField:
    """The value a hit is matched on: its article id, a citation field (title, date, ...)
    or a metadata field of its article (looked up once per article)."""

    def __init__(self, archive: Archive | None, name: str | None):
        self.archive, self.name = archive, name
        self._cache: dict[str, str | None] = {}

    def value(self, hit: Hit) -> str | None:
        if not self.name or self.name == "id":
            return hit.article_id
        if self.name in CITATION_FIELDS:
            v = getattr(hit.citation, self.name)
            return None if v is None else str(v)
        if hit.article_id not in self._cache:
            meta = self.archive.get(hit.article_id).metadata if self.archive is not None else {}
            v = meta.get(self.name)
            self._cache[hit.article_id] = None if v is None else str(v)
        return self._cache[hit.article_id]


def gold_targets(hits: Sequence[Hit], q: Question, field_of: Callable[[Hit], str | None]) -> list[str | None]:
    """Per hit, the gold target it satisfies (`id:<value>` or `title`), or None."""
    out: list[str | None] = []
    for h in hits:
        v = field_of(h)
        if v is not None and v in q.gold:
            out.append("id:" + v)
        elif q.gold_titles and any(t in h.citation.title for t in q.gold_titles):
            out.append("title")
        else:
            out.append(None)
    return out


# -- short answers (SQuAD-style, on characters) ---------------------------------------------
def _answer_chars(text: str) -> str:
    """Characters compared: normalised (width, script, case), punctuation and spaces dropped."""
    from .textnorm import normalize

    return "".join(ch for ch in normalize(text) if ch.isalnum())


def exact_match(prediction: str | None, answers: Sequence[str]) -> float:
    """1.0 when the prediction equals a gold answer after `_answer_chars`; None scores 0."""
    if not prediction or not answers:
        return 0.0
    p = _answer_chars(prediction)
    return 1.0 if any(p == _answer_chars(a) for a in answers) else 0.0


def char_f1(prediction: str | None, answers: Sequence[str]) -> float:
    """Best character-level F1 against the gold answers (CMRC 2018's metric uses characters
    too: Chinese has no word boundaries to count on); None scores 0."""
    if not prediction or not answers:
        return 0.0
    from collections import Counter

    p = Counter(_answer_chars(prediction))
    best = 0.0
    for a in answers:
        g = Counter(_answer_chars(a))
        common = sum((p & g).values())
        if common:
            prec, rec = common / sum(p.values()), common / sum(g.values())
            best = max(best, 2 * prec * rec / (prec + rec))
    return best


# -- metrics on rank lists -----------------------------------------------------------------
def first_rank(targets: Sequence[str | None]) -> int | None:
    """1-based rank of the first relevant position, or None."""
    return next((i for i, t in enumerate(targets, 1) if t is not None), None)


def reciprocal_rank(rank: int | None, cutoff: int = 10) -> float:
    return 1.0 / rank if rank is not None and rank <= cutoff else 0.0


def ndcg_at_k(targets: Sequence[str | None], n_relevant: int, k: int = 10) -> float:
    """nDCG@k with binary relevance at article level: each gold target counts once (a
    second chunk of the same gold article gains nothing), ideal = all targets on top."""
    if n_relevant <= 0:
        return 0.0
    seen: set[str] = set()
    dcg = 0.0
    for i, t in enumerate(targets[:k], 1):
        if t is not None and t not in seen:
            seen.add(t)
            dcg += 1.0 / math.log2(i + 1)
    ideal = sum(1.0 / math.log2(i + 1) for i in range(1, min(n_relevant, k) + 1))
    return dcg / ideal


def hit_at(ranks: Sequence[int | None], k: int) -> np.ndarray:
    """Per question 1.0 if the first relevant rank is <= k."""
    return np.array([1.0 if r is not None and r <= k else 0.0 for r in ranks])


def percentile(values: Sequence[float], q: float) -> float:
    """Nearest-rank percentile (no interpolation: a real observed latency)."""
    if not len(values):
        return 0.0
    s = sorted(values)
    return float(s[min(len(s) - 1, max(0, math.ceil(q / 100 * len(s)) - 1))])


def bootstrap_weights(n: int, n_boot: int = 1000, seed: int = 0) -> np.ndarray:
    """(n_boot, n) resampling counts; sharing them across metrics keeps CIs consistent."""
    rng = np.random.default_rng(seed)
    return rng.multinomial(n, np.full(n, 1.0 / n), size=n_boot).astype(np.float64)


def bootstrap_cis(
    columns: np.ndarray, n_boot: int = 1000, seed: int = 0, alpha: float = 0.05
) -> list[tuple[float, float]]:
    """Percentile-bootstrap (1 - alpha) CIs of the mean of each column of (n, m) values."""
    columns = np.asarray(columns, dtype=np.float64)
    if columns.ndim == 1:
        columns = columns[:, None]
    n = len(columns)
    if n == 0:
        return [(0.0, 0.0)] * columns.shape[1]
    means = bootstrap_weights(n, n_boot, seed) @ columns / n
    lo, hi = np.percentile(means, [100 * alpha / 2, 100 * (1 - alpha / 2)], axis=0)
    return [(float(a), float(b)) for a, b in zip(lo, hi)]


def bootstrap_ci(values: Sequence[float], n_boot: int = 1000, seed: int = 0, alpha: float = 0.05) -> tuple[float, float]:
    """95% CI (by default) of the mean of `values`: 1000 resamples, seed 0."""
    return bootstrap_cis(np.asarray(values, dtype=np.float64), n_boot, seed, alpha)[0]


@dataclass(frozen=True)
class Paired:
    """Mode `a` against mode `b`, question by question, on reciprocal rank@10."""

    a: str
    b: str
    wins: int  # questions where a ranks the gold higher
    ties: int
    losses: int
    mrr_delta: float  # MRR@10(a) - MRR@10(b), percent points
    ci95: tuple[float, float]  # bootstrap CI of that delta
    p_sign: float  # two-sided sign test over wins vs losses


def sign_test(wins: int, losses: int) -> float:
    """Two-sided exact binomial sign test p-value (ties dropped)."""
    n = wins + losses
    if n == 0:
        return 1.0
    k = min(wins, losses)
    logs = [math.lgamma(n + 1) - math.lgamma(i + 1) - math.lgamma(n - i + 1) - n * math.log(2) for i in range(k + 1)]
    return min(1.0, 2 * sum(math.exp(v) for v in logs))


def paired_comparison(a: str, b: str, rr_a: Sequence[float], rr_b: Sequence[float], seed: int = 0) -> Paired:
    """Wins/ties/losses of `a` over `b` per question, and the MRR difference with its CI."""
    x, y = np.asarray(rr_a, dtype=np.float64), np.asarray(rr_b, dtype=np.float64)
    wins, losses = int(np.sum(x > y + 1e-12)), int(np.sum(y > x + 1e-12))
    d = 100.0 * (x - y)
    lo, hi = bootstrap_ci(d, seed=seed) if len(d) else (0.0, 0.0)
    return Paired(a, b, wins, len(x) - wins - losses, losses, float(d.mean()) if len(d) else 0.0, (lo, hi),
                  sign_test(wins, losses))


# -- running the archive over the questions ------------------------------------------------
@dataclass(frozen=True)
class HitSummary:
    """A returned passage as the per-question report shows it."""

    rank: int
    article_id: str
    title: str
    score: float
    snippet: str
    gold: bool
    has_answer: bool


@dataclass(frozen=True)
class QuestionResult:
    """One question in one mode."""

    question_id: str
    mode: str
    src_rank: int | None  # first hit from a gold article
    ans_rank: int | None  # first hit containing a gold answer
    highlight_rank: int | None  # first answer passage whose highlight contains a gold answer
    ndcg10: float
    found: bool  # False: ask abstained
    confidence: float
    latency_ms: float  # search, including query encoding for dense/hybrid
    highlight: str  # highlighted sentence of the best passage ('' when abstained)
    hits: tuple[HitSummary, ...]
    short_answer: str | None = None
    short_em: float = 0.0
    short_f1: float = 0.0
    n_shown: int = 0  # passages shown as sources (Answer.passages)
    n_shown_gold: int = 0  # of which from a gold article


def evaluate_question(
    archive: Archive,
    q: Question,
    mode: SearchMode,
    k_search: int,
    k_ask: int,
    field_of: Callable[[Hit], str | None],
    matcher: AnswerMatcher,
    encode_ms: float = 0.0,
) -> QuestionResult:
    """Search once (ranks) and ask once (highlight, abstention) for one question."""
    from .errors import BadQueryError

    t = time.perf_counter()
    try:
        hits = archive.search(q.question, k_search, mode, **q.filters)
    except BadQueryError:  # punctuation only, too long: nothing searched, counts as a miss
        hits = []
    latency = (time.perf_counter() - t) * 1000 + (encode_ms if mode != "keyword" else 0.0)
    answer = archive.ask(q.question, k_ask, mode=mode, **q.filters)
    targets = gold_targets(hits, q, field_of)
    has_ans = [matcher.contains(h.text, q.answers) for h in hits]
    hl_rank = next((i for i, p in enumerate(answer.passages, 1) if matcher.contains(p.highlight, q.answers)), None)
    shown = gold_targets([SimpleNamespace(article_id=p.citation.article_id, citation=p.citation)
                          for p in answer.passages], q, field_of)  # type: ignore[misc]
    summaries = tuple(
        HitSummary(i, h.article_id, h.citation.title, round(h.score, 4), h.text[:SNIPPET_CHARS].replace("\n", " "),
                   targets[i - 1] is not None, has_ans[i - 1])
        for i, h in enumerate(hits[:k_ask], 1)
    )
    return QuestionResult(
        q.id, mode, first_rank(targets), next((i for i, a in enumerate(has_ans, 1) if a), None), hl_rank,
        ndcg_at_k(targets, q.n_gold, 10), answer.found, float(answer.confidence), round(latency, 2),
        answer.best.highlight if answer.best else "", summaries, answer.short_answer,
        exact_match(answer.short_answer, q.answers), round(char_f1(answer.short_answer, q.answers), 4),
        len(answer.passages), sum(t is not None for t in shown),
    )


def _warm_query(archive: Archive, text: str) -> float:
    """Encode the query once (the archive caches query vectors) and return the ms it took,
    so every dense mode is charged the encoding once, whatever order modes run in."""
    encode = getattr(archive, "_encode_query", None)
    if encode is None:
        return 0.0
    t = time.perf_counter()
    encode(text)
    return (time.perf_counter() - t) * 1000


def warm_up(archive: Archive, modes: Sequence[SearchMode]) -> None:
    """Load the model, the vector index and the segmenter before anything is timed, so
    the first question's latency is not the archive's start-up time."""
    for m in modes:
        archive.search("warm-up 预热 查询", 1, m)


@dataclass(frozen=True)
class ModeSummary:
    """The figures of one mode: `metrics` (percent, latency in ms) and their 95% CIs."""

    mode: str
    metrics: dict[str, float]
    ci95: dict[str, tuple[float, float]]


@dataclass(frozen=True)
class EvalRun:
    """Everything one `evaluate` call measured."""

    questions: tuple[Question, ...]
    modes: tuple[str, ...]
    ks: tuple[int, ...]
    results: dict[str, tuple[QuestionResult, ...]]  # mode -> one per question, in order
    summaries: dict[str, ModeSummary]
    paired: tuple[Paired, ...]
    seconds: float


def per_question_columns(results: Sequence[QuestionResult], ks: Sequence[int]) -> dict[str, np.ndarray]:
    """Per-question values (0/1 or fractions) whose mean is each headline figure."""
    src = [r.src_rank for r in results]
    ans = [r.ans_rank for r in results]
    hl = [r.highlight_rank for r in results]
    cols: dict[str, np.ndarray] = {}
    for k in ks:
        cols[f"src_recall@{k}"] = hit_at(src, k)
    for k in ks:
        cols[f"ans_recall@{k}"] = hit_at(ans, k)
    cols["mrr@10"] = np.array([reciprocal_rank(r, 10) for r in src])
    cols["ndcg@10"] = np.array([r.ndcg10 for r in results])
    cols["highlight_hit"] = hit_at(hl, 1)
    if max(ks) > 1:
        cols[f"highlight_hit@{max(ks)}"] = hit_at(hl, max(ks))
    cols["shown_recall"] = np.array([1.0 if r.n_shown_gold else 0.0 for r in results])
    # share of shown passages from a gold article, per answered question (NaN: abstained)
    cols["shown_precision"] = np.array([r.n_shown_gold / r.n_shown if r.n_shown else np.nan for r in results])
    cols["shown_count"] = np.array([r.n_shown / 100.0 for r in results])  # /100: the report shows percent, this is a count
    cols["short_answered"] = np.array([1.0 if r.short_answer else 0.0 for r in results])
    cols["short_em"] = np.array([r.short_em for r in results])
    cols["short_f1"] = np.array([r.short_f1 for r in results])
    cols["abstention"] = np.array([0.0 if r.found else 1.0 for r in results])
    return cols


def summarize_mode(mode: str, results: Sequence[QuestionResult], ks: Sequence[int], seed: int = 0) -> ModeSummary:
    """Means (percent) with bootstrap CIs, plus latency percentiles."""
    cols = per_question_columns(results, ks)
    full = [n for n in cols if not np.isnan(cols[n]).any()]
    mat = np.column_stack([cols[n] for n in full]) if results else np.zeros((0, len(full)))
    cis = dict(zip(full, bootstrap_cis(mat, seed=seed)))
    metrics = {n: round(100.0 * float(mat[:, i].mean()), 2) if len(mat) else 0.0 for i, n in enumerate(full)}
    for n in cols:  # a column defined on some questions only (NaN elsewhere): over those
        if n not in full:
            v = cols[n][~np.isnan(cols[n])]
            metrics[n] = round(100.0 * float(v.mean()), 2) if len(v) else 0.0
            cis[n] = bootstrap_ci(v, seed=seed) if len(v) else (0.0, 0.0)
    metrics = {n: metrics[n] for n in cols}
    ci95 = {n: (round(100.0 * cis[n][0], 2), round(100.0 * cis[n][1], 2)) for n in cols}
    lat = [r.latency_ms for r in results]
    metrics["latency_p50_ms"] = round(percentile(lat, 50), 1)
    metrics["latency_p95_ms"] = round(percentile(lat, 95), 1)
    return ModeSummary(mode, metrics, ci95)


def evaluate(
    archive: Archive,
    questions: Sequence[Question],
    modes: Sequence[SearchMode] = MODES,
    ks: Sequence[int] = DEFAULT_KS,
    gold_field: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> EvalRun:
    """Run every question through every mode of `archive` and summarise.

    Args:
        archive: an open archive holding the questions' corpus.
        questions: from `load_questions`.
        modes: search modes to compare.
        ks: cut-offs for recall@k; search fetches max(ks, 10) for MRR@10 and nDCG@10,
            ask returns max(ks) passages.
        gold_field: match `doc_id(s)` against this metadata (or citation) field instead
            of the article id.
        progress: called with (questions done, total).

    Returns:
        An `EvalRun`; write it with `qa.eval_report.write_outputs`.

    Example:
        >>> run = evaluate(Archive.open("a"), load_questions("q.jsonl", 100))  # doctest: +SKIP
        >>> run.summaries["hybrid"].metrics["src_recall@1"]                   # doctest: +SKIP
    """
    if not modes:
        raise ValueError("no search modes to evaluate")
    ks = tuple(sorted(set(ks)))
    if not ks or ks[0] < 1:
        raise ValueError(f"k values must be positive integers, got {ks}")
    k_search, k_ask = max(max(ks), 10), max(ks)
    field_of = GoldField(archive, gold_field).value
    matcher = AnswerMatcher()
    results: dict[str, list[QuestionResult]] = {m: [] for m in modes}
    warm_up(archive, modes)
    t0 = time.perf_counter()
    for n, q in enumerate(questions, 1):
        enc = _warm_query(archive, q.question) if any(m != "keyword" for m in modes) else 0.0
        for m in modes:
            results[m].append(evaluate_question(archive, q, m, k_search, k_ask, field_of, matcher, enc))
        if progress:
            progress(n, len(questions))
    summaries = {m: summarize_mode(m, results[m], ks) for m in modes}
    rr = {m: [reciprocal_rank(r.src_rank) for r in results[m]] for m in modes}
    paired = tuple(paired_comparison(a, b, rr[a], rr[b]) for i, a in enumerate(modes) for b in modes[i + 1:])
    return EvalRun(tuple(questions), tuple(modes), ks, {m: tuple(v) for m, v in results.items()}, summaries, paired,
                   time.perf_counter() - t0)


# -- corpus archives -----------------------------------------------------------------------
def corpus_archive_dir(corpus: str | Path, model: str | None = None, root: str | Path | None = None) -> Path:
    """Where the archive of `corpus` is cached: `<root>/eval-archives/<stem>-<sha12>-p<pipeline>`
    (root: `embeddings.default_cache_dir()`); the pipeline id (chunking and text-processing
    versions, see `qa.pipeline`) keeps archives chunked by other code apart; each model
    (the built-in one by the backend its spec resolves to, int8 or fp32) gets its own
    directory, so changing the default backend never reuses the other backend's vectors."""
    from .archive import DEFAULT_CHUNK_CHARS, DEFAULT_OVERLAP
    from .embeddings import default_cache_dir
    from .embeddings.encoder import builtin_model_id
    from .pipeline import pipeline_id, pipeline_spec

    corpus = Path(corpus)
    name = f"{corpus.stem}-{file_sha256(corpus)[:12]}-p{pipeline_id(pipeline_spec(DEFAULT_CHUNK_CHARS, DEFAULT_OVERLAP))}"
    model_key = builtin_model_id(model) or str(model)
    name += "-" + "".join(c if c.isalnum() else "_" for c in model_key)[-40:]
    return Path(root or default_cache_dir()) / "eval-archives" / name


def corpus_archive_uri(corpus: str | Path, model: str | None = None, root: str | Path | None = None,
                       backend: str = "local") -> str:
    """The cached archive's location for `backend`: local: `corpus_archive_dir`; milvus: a
    milvus-lite file beside it, `<that directory's name>-milvus.db` (same key plus backend)."""
    d = corpus_archive_dir(corpus, model, root)
    return str(d) if backend == "local" else str(d.with_name(f"{d.name}-{backend}.db"))


def open_corpus_archive(
    corpus: str | Path, model: str | None = None, root: str | Path | None = None,
    progress: Callable[[int, int], None] | None = None, backend: str = "local",
) -> Archive:
    """The cached archive of `corpus`, built on first use. Ingest is resumable and a no-op
    for unchanged articles, so an interrupted build continues and a finished one is reused.
    A milvus one takes the vectors of the cached local archive of the same corpus where it
    exists (same texts, same model: only the index differs), and embeds the rest."""
    from .archive import Archive

    if backend == "local":
        archive = Archive.open(corpus_archive_dir(corpus, model, root), model=model)
    else:
        archive = Archive.open(None, model=model, backend=backend, uri=corpus_archive_uri(corpus, model, root, backend))
    donor = None
    try:
        local_dir = corpus_archive_dir(corpus, model, root)
        if backend != "local" and (local_dir / "archive.db").exists():
            donor = Archive.open(local_dir, model=model, create=False)
            if donor.backend.get_meta("model_id") == archive.encoder.model_id:
                archive.reuse_vectors_from(donor.backend)
        report = archive.ingest([corpus], progress=progress)
    except BaseException:
        archive.close()
        raise
    finally:
        archive.reuse_vectors_from(None)
        if donor is not None:
            donor.close()
    if report.failed and not (report.added or report.updated or report.unchanged):
        archive.close()
        raise ValueError(f"{corpus}: no article could be read ({report.failed[0]})")
    return archive


# -- kept for benchmarks/tune_fusion.py ----------------------------------------------------
def summarize(ranks: Sequence[int | None], ks: Iterable[int] = DEFAULT_KS) -> dict[str, float]:
    """recall@k (percent) and MRR@10 (percent) from first-relevant ranks."""
    n = max(len(ranks), 1)
    out = {f"recall@{k}": 100.0 * sum(1 for r in ranks if r is not None and r <= k) / n for k in ks}
    out["mrr@10"] = 100.0 * sum(1.0 / r for r in ranks if r is not None and r <= 10) / n
    return out


def run_mode(
    search: Callable[[str], list[Hit]], questions: Sequence[Question], ks: Iterable[int] = DEFAULT_KS
) -> dict[str, Any]:
    """Ask every question through `search`; return metrics and per-question ranks.
    (A lighter path than `evaluate` for parameter sweeps: ids only, no ask, no CIs.)"""
    src, ans, lat = [], [], []
    matcher = AnswerMatcher()
    for q in questions:
        t = time.perf_counter()
        hits = search(q.question)
        lat.append(time.perf_counter() - t)
        src.append(first_rank(gold_targets(hits, q, lambda h: h.article_id)))
        ans.append(first_answer_rank(hits, q.answers, matcher))
    m = {f"src_{k}": v for k, v in summarize(src, ks).items()}
    m.update({f"ans_{k}": v for k, v in summarize(ans, ks).items()})
    lat_ms = [x * 1000 for x in lat]
    m["latency_p50_ms"] = percentile(lat_ms, 50)
    m["latency_p95_ms"] = percentile(lat_ms, 95)
    return {"metrics": m, "src_ranks": src, "ans_ranks": ans}
