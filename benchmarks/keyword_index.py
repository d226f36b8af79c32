"""FTS5 bm25() vs bm25s on the same jieba terms: quality, query latency, update cost.

    python benchmarks/keyword_index.py [--eval-dir ../shared/eval]

Both index the same chunks (our chunker, headline + chunk text, normalised and
segmented by qa.textnorm) and get the same query terms; only the BM25 engine differs.
No model is needed.
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import bm25s  # noqa: E402
import numpy as np  # noqa: E402

from qa.archive import passage_text  # noqa: E402
from qa.chunk import chunk_text  # noqa: E402
from qa.eval import load_questions, summarize  # noqa: E402
from qa.ingest import read_inputs  # noqa: E402
from qa.records import ArticleRecord  # noqa: E402
from qa.store import fts_query  # noqa: E402
from qa.textnorm import query_terms, segment  # noqa: E402


def run(name: str, corpus: Path, questions: Path) -> None:
    recs = [r for r in read_inputs([corpus]) if isinstance(r, ArticleRecord)]
    chunks = [(r.id, passage_text(r.title, c.text)) for r in recs for c in chunk_text(r.text)]
    terms = [segment(t) for _, t in chunks]
    owner = [a for a, _ in chunks]
    qs = load_questions(questions)
    qterms = [query_terms(q.question) for q in qs]

    # FTS5
    db = sqlite3.connect(":memory:")
    db.execute("CREATE VIRTUAL TABLE t USING fts5(terms, tokenize = 'unicode61 remove_diacritics 0')")
    t0 = time.perf_counter()
    db.executemany("INSERT INTO t(rowid, terms) VALUES (?, ?)", [(i, " ".join(ts)) for i, ts in enumerate(terms)])
    fts_build = time.perf_counter() - t0
    t0 = time.perf_counter()
    db.execute("INSERT INTO t(rowid, terms) VALUES (?, ?)", (len(terms), " ".join(terms[0])))
    fts_add_one = time.perf_counter() - t0

    def fts_search(qt: list[str]) -> list[int]:
        if not qt:
            return []
        rows = db.execute("SELECT rowid FROM t WHERE t MATCH ? ORDER BY bm25(t) LIMIT 30", (fts_query(qt),)).fetchall()
        return [r[0] for r in rows if r[0] < len(terms)]

    # bm25s (defaults: Lucene variant, k1=1.5, b=0.75)
    t0 = time.perf_counter()
    retriever = bm25s.BM25()
    vocab: dict[str, int] = {}
    ids = [[vocab.setdefault(w, len(vocab)) for w in ts] for ts in terms]
    retriever.index(bm25s.tokenization.Tokenized(ids=ids, vocab=vocab), show_progress=False)
    bm_build = time.perf_counter() - t0

    def bm_search(qt: list[str]) -> list[int]:
        known = [vocab[w] for w in qt if w in vocab]
        if not known:
            return []
        scores = retriever.get_scores(known)
        top = np.argsort(-scores)[:30]
        return [int(i) for i in top if scores[i] > 0]

    for label, fn, build, add in (("FTS5 bm25()", fts_search, fts_build, fts_add_one), ("bm25s", bm_search, bm_build, bm_build)):
        ranks, lat = [], []
        for q, qt in zip(qs, qterms):
            t0 = time.perf_counter()
            hits = fn(qt)
            lat.append((time.perf_counter() - t0) * 1000)
            seen, rank = [], None
            for i in hits:  # rank by article (a chunk of the gold passage counts)
                if owner[i] not in seen:
                    seen.append(owner[i])
                if owner[i] in q.gold:
                    rank = len(seen)
                    break
            ranks.append(rank)
        m = summarize(ranks)
        print(f"{name:6s} {label:12s} src@1 {m['recall@1']:5.1f}  src@5 {m['recall@5']:5.1f}  MRR@10 {m['mrr@10']:5.1f}  "
              f"query p50 {statistics.median(lat):5.2f} ms  build {build:5.2f} s  add one chunk {add * 1000:7.1f} ms")
    print(f"{name:6s} {len(recs)} articles, {len(chunks)} chunks, {len(qs)} questions")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--eval-dir", default=str(ROOT.parent / "shared" / "eval"))
    args = ap.parse_args()
    d = Path(args.eval_dir)
    run("cmrc", d / "cmrc2018_trial.corpus.jsonl", d / "cmrc2018_trial.questions.jsonl")
    run("drcd", d / "drcd_dev.corpus.jsonl", d / "drcd_dev.questions.jsonl")


if __name__ == "__main__":
    main()
