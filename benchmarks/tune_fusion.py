"""Measure keyword / dense / hybrid on the shared question sets, over a grid of fusion
constants, and the abstention features (answerable vs unanswerable questions).

    python benchmarks/tune_fusion.py [--limit N] [--work /tmp/qa-eval]

Archives are built once per corpus under --work and reused. Query vectors are encoded
once; every fusion setting then reuses them, so the grid is cheap.
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa import Archive  # noqa: E402
from qa.answer import coverage, idf_weights  # noqa: E402
from qa.eval import parse_question, run_mode  # noqa: E402
from qa.retrieve import FusionParams, Retriever  # noqa: E402
from qa.textnorm import query_terms  # noqa: E402

SETS = {"cmrc": "cmrc2018_trial", "drcd": "drcd_dev"}


def load_questions(path: Path, limit: int | None):
    """The set's questions, skipping invalid records (CMRC trial has one empty question)."""
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        try:
            out.append(parse_question(json.loads(line), f"{path}:{n}", str(n)))
        except ValueError as e:
            print("skipped", e)
    return out[:limit] if limit else out


def build(work: Path, eval_dir: Path, name: str) -> Archive:
    a = Archive.open(work / name)
    t = time.perf_counter()
    rep = a.ingest([eval_dir / f"{SETS[name]}.corpus.jsonl"])
    print(f"[{name}] ingest: {rep.summary()} ({time.perf_counter() - t:.0f}s)", flush=True)
    return a


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--eval-dir", default=str(ROOT.parent / "shared" / "eval"))
    ap.add_argument("--work", default="/tmp/qa-eval")
    ap.add_argument("--limit", type=int, default=None)
    ap.add_argument("--grid", action="store_true")
    args = ap.parse_args()
    eval_dir, work = Path(args.eval_dir), Path(args.work)
    archives = {n: build(work, eval_dir, n) for n in SETS}
    questions = {n: load_questions(eval_dir / f"{SETS[n]}.questions.jsonl", args.limit) for n in SETS}
    qvecs = {}
    for n, qs in questions.items():
        t = time.perf_counter()
        texts = [q.question for q in qs]
        mat = archives[n].encoder.encode_queries(texts, batch_size=64)
        qvecs.update({tq: mat[i : i + 1] for i, tq in enumerate(texts)})
        print(f"[{n}] encoded {len(qs)} queries in {time.perf_counter() - t:.0f}s", flush=True)
    grid = [FusionParams()]
    if args.grid:
        grid = [FusionParams(method="rrf", depth=20), FusionParams(method="rrf", depth=50)]
        grid += [FusionParams(dense_weight=w, depth=d) for w, d in itertools.product([0.3, 0.4, 0.5, 0.6, 0.7], [30, 50, 100])]
    results = {}
    for n, a in archives.items():
        for mode in ("keyword", "dense"):
            r = Retriever(a.backend, lambda q: qvecs[q])
            m = run_mode(lambda q: r.search(q, 10, mode), questions[n])["metrics"]
            results[(n, mode)] = m
            print(f"[{n}] {mode:8s} src@1 {m['src_recall@1']:.1f} src@5 {m['src_recall@5']:.1f} MRR {m['src_mrr@10']:.1f}", flush=True)
        for p in grid:
            r = Retriever(a.backend, lambda q: qvecs[q], p)
            m = run_mode(lambda q: r.search(q, 10, "hybrid"), questions[n])["metrics"]
            results[(n, str(p))] = m
            print(f"[{n}] hybrid {p} src@1 {m['src_recall@1']:.1f} src@5 {m['src_recall@5']:.1f} MRR {m['src_mrr@10']:.1f}", flush=True)
    # abstention features: each set's questions against its own corpus and the other one
    feats = []
    for n, qs in questions.items():
        for corpus in SETS:
            a = archives[corpus]
            r = Retriever(a.backend, lambda q: qvecs[q])
            n_chunks = a.backend.chunk_count()
            for q in qs[:300]:
                hits = r.search(q.question, 5, "hybrid")
                terms = query_terms(q.question)
                w = idf_weights(terms, a.backend.document_frequencies(terms), n_chunks)
                h = hits[0]
                feats.append({"set": n, "corpus": corpus, "answerable": n == corpus, "cos": h.dense_score,
                              "cov": coverage(h.citation.title + "\n" + h.text, w)})
    Path(work / "abstain_features.json").write_text(json.dumps(feats))
    for ans in (True, False):
        cs = np.array([f["cos"] for f in feats if f["answerable"] == ans])
        cv = np.array([f["cov"] for f in feats if f["answerable"] == ans])
        print(f"answerable={ans}: cos p5/p50/p95 {np.percentile(cs, [5, 50, 95]).round(3)} cov {np.percentile(cv, [5, 50, 95]).round(3)}")


if __name__ == "__main__":
    main()
