"""The Milvus backend (milvus-lite file) next to the local one (SQLite + FTS5 + FAISS) on the
same data, in one run: open time, insert rate, keyword and dense query p50, and how often
Milvus's BM25 puts the same chunk first as FTS5.

The data are real: articles, chunk spans, jieba terms and e5 vectors read from built
archives (`qa eval --corpus` caches them), so nothing is encoded while writing; questions are
encoded once, before timing. Both backends get the very same `PreparedArticle`s.

    python benchmarks/milvus_backend.py ARCHIVE.db [ARCHIVE.db ...] --questions Q.jsonl [Q.jsonl ...]
        [--limit 200] [--batch 256] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qa.records import ArticleRecord  # noqa: E402
from qa.store import Filters, PreparedArticle, Store  # noqa: E402
from qa.retrieve import KEYWORD_SCORE_DEPTH, FusionParams, fuse  # noqa: E402
from qa.textnorm import query_terms  # noqa: E402
from qa.vectors import VectorIndex  # noqa: E402


def load_prepared(path: str, source: str | None = None) -> list[PreparedArticle]:
    """Every article of a built archive as the pipeline prepared it (spans, terms, vectors)."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    out = []
    arts = db.execute("SELECT rowid, id, title, text, date, page, source, byline, source_file, metadata,"
                      " content_hash, pipeline FROM articles ORDER BY rowid").fetchall()
    for row in arts:
        chunks = db.execute("SELECT c.ordinal, c.start, c.end, c.vector, t.terms FROM chunks c"
                            " JOIN chunk_terms t ON t.rowid = c.id WHERE c.article_rowid = ? ORDER BY c.ordinal",
                            (row[0],)).fetchall()
        rec = ArticleRecord(row[1], row[2], row[3], row[4], row[5], row[6] or source, row[7], row[8],
                            metadata=json.loads(row[9]))
        vecs = np.stack([np.frombuffer(c[3], dtype=np.float32) for c in chunks]) if chunks else np.zeros((0, 384), np.float32)
        out.append(PreparedArticle(rec, row[10], [(c[0], c[1], c[2]) for c in chunks], [c[4] for c in chunks],
                                   vecs, row[11]))
    db.close()
    return out


def batches(prepared: list[PreparedArticle], chunks_per_batch: int):
    batch, n = [], 0
    for p in prepared:
        batch.append(p)
        n += len(p.spans)
        if n >= chunks_per_batch:
            yield batch
            batch, n = [], 0
    if batch:
        yield batch


def hybrid(dense_search, keyword_search, dense_scores, qvec, terms, depth: int = 50) -> list[tuple[int, float]]:
    """Retriever._score's hybrid path (k=5: depth 50), over one backend's three calls:
    dense top `depth`, one BM25 query deep enough to score the dense candidates, cosines of
    the keyword candidates the dense side missed, then `fuse` (Chinese questions: keyword
    confidence 1)."""
    dense = dict(dense_search(qvec, depth))
    ranked = keyword_search(terms, max(depth, KEYWORD_SCORE_DEPTH))
    all_kw = dict(ranked)
    keyword = {i: all_kw.get(i, 0.0) for i in dense}
    keyword.update(ranked[:depth])
    dense.update(dense_scores(qvec, [i for i in keyword if i not in dense]))
    return [(s.chunk_id, s.score) for s in fuse(dense, keyword, FusionParams())]


def p50(times: list[float]) -> str:
    return f"{statistics.median(times) * 1000:.1f} ms"


def load() -> str:
    return open("/proc/loadavg").read().split()[0]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("archives", nargs="+", help="archive.db files of built archives")
    ap.add_argument("--questions", nargs="+", required=True, help="question sets (jsonl with `question`)")
    ap.add_argument("--limit", type=int, default=200, help="questions per set")
    ap.add_argument("--batch", type=int, default=256, help="chunks per write batch")
    ap.add_argument("--work", help="directory for the two archives (default: a temporary one)")
    args = ap.parse_args()
    work = Path(args.work or tempfile.mkdtemp(prefix="milvus-bench-"))
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)

    prepared = [p for a in args.archives for p in load_prepared(a, source=Path(a).stem)]
    n_chunks = sum(len(p.spans) for p in prepared)
    print(f"data: {len(prepared)} articles, {n_chunks} chunks from {len(args.archives)} archives")
    questions = []
    for qf in args.questions:
        with open(qf, encoding="utf-8") as f:
            questions += [(Path(qf).name, json.loads(line)) for line in list(f)[: args.limit]]
    from qa.embeddings import load_encoder

    enc = load_encoder()
    t = time.perf_counter()
    qvecs = enc.encode_queries([q["question"] for _, q in questions])
    print(f"encoded {len(questions)} questions in {time.perf_counter() - t:.1f} s (not timed below)  load {load()}")
    qterms = [query_terms(q["question"]) for _, q in questions]

    # -- local: SQLite + FTS5 + FAISS (flat), as Archive uses them ------------------------
    t = time.perf_counter()
    store = Store(work / "local.db")
    vi = VectorIndex(qvecs.shape[1])
    for b in batches(prepared, args.batch):
        res = store.write(b)
        vi.add(res.new_ids, np.concatenate([p.vectors for p in b]))
    local_write = time.perf_counter() - t
    print(f"local write: {n_chunks / local_write:.0f} chunks/s ({local_write:.1f} s)  load {load()}")
    local_key = {}
    for r in store.chunk_rows([int(i) for i in vi.ids()]).values():
        local_key[r.id] = (r.article_id, r.ordinal)

    # -- milvus-lite, flush per batch and flush at the end --------------------------------
    from qa.backends.milvus import MilvusBackend

    results = {}
    for policy in ("batch", "end"):
        path = work / f"milvus-{policy}.db"
        t = time.perf_counter()
        mb = MilvusBackend(str(path), flush=policy)
        opened = time.perf_counter() - t
        t = time.perf_counter()
        for b in batches(prepared, args.batch):
            mb.write(b)
        wrote = time.perf_counter() - t
        t = time.perf_counter()
        mb.flush()
        flushed = time.perf_counter() - t
        print(f"milvus-lite flush={policy}: open {opened:.2f} s (new file), write {n_chunks / wrote:.0f} chunks/s "
              f"({wrote:.1f} s), final flush {flushed:.2f} s  load {load()}")
        mb.close()
        t = time.perf_counter()
        mb = MilvusBackend(str(path), flush=policy)
        print(f"  reopen {time.perf_counter() - t:.2f} s; counts {mb.counts()}; check {mb.check()}  load {load()}")
        results[policy] = mb

    # -- queries ---------------------------------------------------------------------------
    def run(fn):
        out, times = [], []
        for i in range(len(questions)):
            t = time.perf_counter()
            out.append(fn(i))
            times.append(time.perf_counter() - t)
        return out, times

    lk, lk_t = run(lambda i: store.keyword_search(qterms[i], 50))
    def local_dense(i):
        scores, ids = vi.search(qvecs[i : i + 1], 50)
        return [(int(c), float(x)) for x, c in zip(scores[0], ids[0]) if c >= 0]

    ld, ld_t = run(local_dense)
    filt = Filters(source=Path(args.archives[-1]).stem)  # the last archive's articles only

    def local_dense_filtered(i):
        scores, ids = vi.search(qvecs[i : i + 1], 50, store.chunk_ids(filt))  # as Retriever filters
        return [(int(c), float(x)) for x, c in zip(scores[0], ids[0]) if c >= 0]

    def local_dense_search(q, n):
        scores, ids = vi.search(q, n)
        return [(int(c), float(x)) for x, c in zip(scores[0], ids[0]) if c >= 0]

    lh, lh_t = run(lambda i: hybrid(local_dense_search, store.keyword_search, vi.scores, qvecs[i : i + 1], qterms[i]))
    _, lk1000_t = run(lambda i: store.keyword_search(qterms[i], 1000))
    _, lkf_t = run(lambda i: store.keyword_search(qterms[i], 50, filt))
    _, ldf_t = run(local_dense_filtered)
    print(f"\nqueries: {len(questions)}, top 50  load {load()}")
    print(f"local   keyword p50 {p50(lk_t)}   dense p50 {p50(ld_t)}   keyword top 1000 (hybrid depth) "
          f"{p50(lk1000_t)}   filtered by source: keyword {p50(lkf_t)}, dense {p50(ldf_t)}   hybrid {p50(lh_t)}")
    for policy, mb in results.items():
        mk, mk_t = run(lambda i: mb.keyword_search(qterms[i], 50))
        md, md_t = run(lambda i: mb.dense_search(qvecs[i : i + 1], 50))
        mh, mh_t = run(lambda i: hybrid(mb.dense_search, mb.keyword_search, mb.dense_scores, qvecs[i : i + 1],
                                        qterms[i]))
        _, mk1000_t = run(lambda i: mb.keyword_search(qterms[i], 1000))
        _, mkf_t = run(lambda i: mb.keyword_search(qterms[i], 50, filt))
        _, mdf_t = run(lambda i: mb.dense_search(qvecs[i : i + 1], 50, filt))
        print(f"milvus flush={policy}: keyword p50 {p50(mk_t)}   dense p50 {p50(md_t)}   keyword top 1000 "
              f"{p50(mk1000_t)}   filtered by source: keyword {p50(mkf_t)}, dense {p50(mdf_t)}   hybrid {p50(mh_t)}"
              f"  load {load()}")
        rows = mb.chunk_rows(list({c for hits in mk + md + mh for c, _ in hits[:1]}))
        key = {c: (r.article_id, r.ordinal) for c, r in rows.items()}
        agree_k = sum(bool(a) and bool(b) and key.get(a[0][0]) == local_key.get(b[0][0]) for a, b in zip(mk, lk))
        both = sum(bool(a) and bool(b) for a, b in zip(mk, lk))
        agree_d = sum(bool(a) and bool(b) and key.get(a[0][0]) == local_key.get(b[0][0]) for a, b in zip(md, ld))

        def src1(hits, keys):
            good = 0
            for (_, q), h in zip(questions, hits):
                if h and keys.get(h[0][0], ("",))[0] in set(q.get("doc_ids") or [q.get("doc_id")]):
                    good += 1
            return 100 * good / len(questions)

        print(f"  top-1 same chunk as local: keyword {agree_k}/{both} ({100 * agree_k / max(both, 1):.1f}%), "
              f"dense {agree_d}/{len(questions)}")
        agree_h = sum(bool(a) and bool(b) and key.get(a[0][0]) == local_key.get(b[0][0]) for a, b in zip(mh, lh))
        print(f"  src@1 keyword: milvus {src1(mk, key):.1f} vs FTS5 {src1(lk, local_key):.1f}; "
              f"dense: milvus {src1(md, key):.1f} vs FAISS {src1(ld, local_key):.1f}; "
              f"hybrid: milvus {src1(mh, key):.1f} vs local {src1(lh, local_key):.1f} "
              f"(same top-1 chunk {agree_h}/{len(questions)})")
        t = time.perf_counter()
        df = [mb.document_frequencies(qterms[i]) for i in range(min(20, len(questions)))]
        n_terms = sum(len(d) for d in df)
        print(f"  document_frequencies: {1000 * (time.perf_counter() - t) / n_terms:.1f} ms per term; equal to FTS5 "
              f"for {sum(store.document_frequencies(list(d)) == d for d in df)}/{len(df)} questions  load {load()}")
        mb.close()
    store.close()
    if not args.work:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    main()
