"""Evaluation of retrieval over a question set: source recall, answer recall, MRR.

Question records (JSON Lines): `question`, `answers` (any-of strings), and the gold
passage as `doc_id` or `doc_ids`, matched against article ids. The format of the shared
CMRC 2018 / DRCD sets works as it is. Metrics follow `sentence-transformers`'
InformationRetrievalEvaluator: plain dicts in, flat metrics out.
"""

from __future__ import annotations

import json
import statistics
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .records import Hit


@dataclass(frozen=True)
class Question:
    id: str
    question: str
    answers: tuple[str, ...]
    gold: frozenset[str]
    filters: dict[str, Any] = field(default_factory=dict)


def load_questions(path: str | Path, limit: int | None = None) -> list[Question]:
    """Read a question set; `limit` keeps the first N (a deterministic slice)."""
    out = []
    with open(path, encoding="utf-8-sig") as f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            r = json.loads(line)
            gold = r.get("doc_ids") or ([r["doc_id"]] if r.get("doc_id") else [])
            out.append(Question(str(r.get("id", n)), r["question"], tuple(r.get("answers") or ()),
                                frozenset(map(str, gold)), r.get("filters") or {}))
            if limit and len(out) >= limit:
                break
    return out


def first_gold_rank(hits: Sequence[Hit], gold: frozenset[str]) -> int | None:
    """1-based rank of the first hit from a gold article, or None."""
    for i, h in enumerate(hits, 1):
        if h.article_id in gold:
            return i
    return None


def first_answer_rank(hits: Sequence[Hit], answers: Sequence[str]) -> int | None:
    for i, h in enumerate(hits, 1):
        if any(a and a in h.text for a in answers):
            return i
    return None


def summarize(ranks: Sequence[int | None], ks: Iterable[int] = (1, 3, 5, 10)) -> dict[str, float]:
    """recall@k (percent) and MRR@10 (percent) from first-relevant ranks."""
    n = max(len(ranks), 1)
    out = {f"recall@{k}": 100.0 * sum(1 for r in ranks if r is not None and r <= k) / n for k in ks}
    out["mrr@10"] = 100.0 * sum(1.0 / r for r in ranks if r is not None and r <= 10) / n
    return out


def run_mode(
    search: Callable[[str], list[Hit]], questions: Sequence[Question], ks: Iterable[int] = (1, 3, 5, 10)
) -> dict[str, Any]:
    """Ask every question through `search`; return metrics and per-question ranks."""
    src, ans, lat = [], [], []
    for q in questions:
        t = time.perf_counter()
        hits = search(q.question)
        lat.append(time.perf_counter() - t)
        src.append(first_gold_rank(hits, q.gold))
        ans.append(first_answer_rank(hits, q.answers))
    m = {f"src_{k}": v for k, v in summarize(src, ks).items()}
    m.update({f"ans_{k}": v for k, v in summarize(ans, ks).items()})
    lat_ms = sorted(x * 1000 for x in lat)
    m["latency_p50_ms"] = statistics.median(lat_ms) if lat_ms else 0.0
    m["latency_p95_ms"] = lat_ms[int(0.95 * (len(lat_ms) - 1))] if lat_ms else 0.0
    return {"metrics": m, "src_ranks": src, "ans_ranks": ans}
