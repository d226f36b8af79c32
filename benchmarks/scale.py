"""How the dense index and the archive scale: 10k and 100k chunks.

    python benchmarks/scale.py [--sizes 10000,100000] [--queries 300] [--work /tmp/qa-scale]
    python benchmarks/scale.py --archive-run [--archive-chunks 10000]     # + a real archive (~15-30 min)

Part 1, vectors only (minutes): real chunk vectors of the shared corpora (read from their
`qa eval` archives, built on first use) and real query vectors of their questions, cached
under --work. Sizes beyond the real vectors (~3k) are filled with synthetic ones: a random
mix of two real vectors plus a little noise, which keeps the embedding space's shape (e5
vectors all sit in a narrow cone) without being copies. For each size: build time, size on
disk, memory, single-query latency p50/p95 and recall@10 against exact search, for flat,
IVF (nprobe sweep), HNSW (efSearch sweep) and the type `VectorIndex` chooses by itself.

Part 2, `--archive-run`: an archive of ~N chunks made by repeating the shared corpora
under distinct ids, ingested through `Archive` with the real model: ingest rate against the
raw encode rate, sizes on disk, and query latency p50/p95 per search mode.

Timings depend on the machine and its load; the load average is printed with them.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import faiss  # noqa: E402
from rich import box  # noqa: E402
from rich.console import Console  # noqa: E402
from rich.table import Table  # noqa: E402

from qa.eval import corpus_archive_dir, load_questions, open_corpus_archive, percentile  # noqa: E402
from qa.vectors import DEFAULT_POLICY, VectorIndex, single_thread  # noqa: E402

SETS = ("cmrc2018_trial", "drcd_dev")
console = Console(width=140)


def rss_mb() -> float:
    """Resident memory of this process now (Linux /proc), in MB."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def load_note() -> str:
    try:
        return "load average %.1f %.1f %.1f on %d cpus" % (*os.getloadavg(), os.cpu_count() or 0)
    except OSError:
        return ""


def table(title: str, cols: list[str]) -> Table:
    """A Markdown-style table (pastes into the README); the title goes on its own line
    so a narrow table doesn't wrap it."""
    console.print(f"\n{title}")
    t = Table(box=box.MARKDOWN)
    for i, c in enumerate(cols):
        t.add_column(c, justify="left" if i == 0 else "right")
    return t


# -- real vectors ------------------------------------------------------------------------------
def open_set_archive(eval_dir: Path, name: str):
    """The `qa eval` archive of a shared corpus (reusing /tmp/qa-eval/<set> if it exists)."""
    from qa import Archive

    corpus = eval_dir / f"{name}.corpus.jsonl"
    legacy = Path("/tmp/qa-eval") / ("cmrc" if name.startswith("cmrc") else "drcd")
    if not corpus_archive_dir(corpus).exists() and (legacy / "archive.db").exists():
        return Archive.open(legacy, create=False)
    return open_corpus_archive(corpus)


def real_vectors(eval_dir: Path, work: Path, n_queries: int) -> tuple[np.ndarray, np.ndarray]:
    """(chunk vectors, query vectors) of the shared sets, cached in `work`."""
    cv, qv = work / "chunk_vectors.npy", work / f"query_vectors_{n_queries}.npy"
    if cv.exists() and qv.exists():
        return np.load(cv), np.load(qv)
    chunks, queries = [], []
    for name in SETS:
        archive = open_set_archive(eval_dir, name)
        dim = int(archive.store.get_meta("dim") or archive.encoder.dim)
        chunks.append(archive.store.vectors(dim)[1])
        qs = [q.question for q in load_questions(eval_dir / f"{name}.questions.jsonl")]
        step = max(1, len(qs) // (n_queries // len(SETS)))  # spread over the set, not one topic
        queries.append(archive.encoder.encode_queries(qs[::step][: n_queries // len(SETS)], batch_size=64))
        archive.close()
    work.mkdir(parents=True, exist_ok=True)
    np.save(cv, np.concatenate(chunks).astype(np.float32))
    np.save(qv, np.concatenate(queries).astype(np.float32))
    return np.load(cv), np.load(qv)


def synthetic(base: np.ndarray, n: int, seed: int = 0) -> np.ndarray:
    """`n` vectors: the real ones first, then mixes of two real vectors plus noise."""
    if n <= len(base):
        return base[:n].copy()
    rng = np.random.default_rng(seed)
    m = n - len(base)
    i, j = rng.integers(0, len(base), m), rng.integers(0, len(base), m)
    a = rng.uniform(0.5, 1.0, (m, 1)).astype(np.float32)
    x = a * base[i] + (1 - a) * base[j] + 0.3 * base.std(axis=0) * rng.standard_normal((m, base.shape[1])).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return np.concatenate([base, x.astype(np.float32)])


# -- vector-only runs --------------------------------------------------------------------------
def timed_queries(search: Callable[[np.ndarray], np.ndarray], queries: np.ndarray) -> tuple[list[float], np.ndarray]:
    """One query at a time, as the archive searches; (latencies in ms, ids (nq, 10))."""
    lat, out = [], []
    with single_thread():  # as VectorIndex.search runs a single query
        search(queries[:1])  # warm caches
        for q in queries:
            t = time.perf_counter()
            out.append(search(q[None, :])[0])
            lat.append((time.perf_counter() - t) * 1000)
    return lat, np.stack(out)


def recall_at_10(truth: np.ndarray, got: np.ndarray) -> float:
    return float(np.mean([len(set(t) & set(g)) / 10 for t, g in zip(truth, got)]))


def disk_mb(index: faiss.Index) -> float:
    with tempfile.NamedTemporaryFile(suffix=".faiss") as f:
        faiss.write_index(index, f.name)
        return os.path.getsize(f.name) / 2**20


def vector_run(n: int, base: np.ndarray, queries: np.ndarray, hnsw: bool) -> list[list[str]]:
    """Rows of (index, build s, disk MB, process RSS MB with it built, p50, p95, recall@10)
    for size n. Disk size is close to the index's own memory (flat and IVF keep raw float32)."""
    vecs = synthetic(base, n)
    ids = np.arange(n, dtype=np.int64)
    dim = vecs.shape[1]
    rows = []

    def build(make: Callable[[], faiss.Index]) -> tuple[faiss.Index, float, float]:
        t = time.perf_counter()
        index = make()
        return index, time.perf_counter() - t, rss_mb()

    flat, bt, dm = build(lambda: (lambda ix: (ix.add_with_ids(vecs, ids), ix)[1])(faiss.IndexIDMap2(faiss.IndexFlatIP(dim))))
    lat, truth = timed_queries(lambda q: flat.search(q, 10)[1], queries)
    rows.append(["flat (exact)", f"{bt:.2f}", f"{disk_mb(flat):.0f}", f"{dm:.0f}", f"{percentile(lat, 50):.2f}",
                 f"{percentile(lat, 95):.2f}", "1.000"])

    ivf_vi, bt, dm = build(lambda: (lambda vi: (vi.add(ids, vecs), vi.optimize(), vi)[2])(VectorIndex(dim, kind="ivf")))
    ivf = ivf_vi.index
    for nprobe in (8, 16, 32, 64):
        ivf.nprobe = nprobe
        lat, got = timed_queries(lambda q: ivf.search(q, 10)[1], queries)
        rows.append([f"IVF{ivf.nlist} nprobe={nprobe}", f"{bt:.2f}", f"{disk_mb(ivf):.0f}", f"{dm:.0f}",
                     f"{percentile(lat, 50):.2f}", f"{percentile(lat, 95):.2f}", f"{recall_at_10(truth, got):.3f}"])
    ivf_vi = ivf = None  # free the memory before HNSW

    if hnsw:
        def make_hnsw() -> faiss.Index:
            ix = faiss.IndexHNSWFlat(dim, 32, faiss.METRIC_INNER_PRODUCT)
            ix.hnsw.efConstruction = 40
            ix = faiss.IndexIDMap2(ix)
            ix.add_with_ids(vecs, ids)
            return ix
        hn, bt, dm = build(make_hnsw)
        inner = faiss.downcast_index(hn.index)
        for ef in (32, 64, 128):
            inner.hnsw.efSearch = ef
            lat, got = timed_queries(lambda q: hn.search(q, 10)[1], queries)
            rows.append([f"HNSW32 efSearch={ef}", f"{bt:.2f}", f"{disk_mb(hn):.0f}", f"{dm:.0f}",
                         f"{percentile(lat, 50):.2f}", f"{percentile(lat, 95):.2f}", f"{recall_at_10(truth, got):.3f}"])
        del hn

    auto, bt, dm = build(lambda: (lambda vi: (vi.add(ids, vecs), vi.optimize(), vi)[2])(VectorIndex(dim)))
    lat, got = timed_queries(lambda q: auto.search(q, 10)[1], queries)
    label = f"auto → {auto.kind}" + (f" (IVF{auto.index.nlist}, nprobe={auto.index.nprobe})" if auto.kind == "ivf" else "")
    rows.append([label, f"{bt:.2f}", f"{disk_mb(auto.index):.0f}", f"{dm:.0f}", f"{percentile(lat, 50):.2f}",
                 f"{percentile(lat, 95):.2f}", f"{recall_at_10(truth, got):.3f}"])
    return rows


# -- a real archive ------------------------------------------------------------------------------
def repeated_records(eval_dir: Path, target_chunks: int, chunks_per_doc: float) -> list:
    """Corpus records of both sets, repeated under distinct ids until ~target_chunks."""
    from qa.ingest import read_inputs

    base = [r for name in SETS for r in read_inputs([eval_dir / f"{name}.corpus.jsonl"], "auto") if hasattr(r, "id")]
    out, rep = [], 0
    while len(out) * chunks_per_doc < target_chunks:
        for r in base:
            out.append(r if rep == 0 else dataclasses.replace(r, id=f"{r.id}#r{rep}"))
            if len(out) * chunks_per_doc >= target_chunks:
                break
        rep += 1
    return out


def archive_run(eval_dir: Path, work: Path, target_chunks: int, n_queries: int) -> None:
    from qa import Archive

    path = work / f"archive-{target_chunks}"
    sample = open_set_archive(eval_dir, SETS[1])
    c = sample.store.counts()
    chunks_per_doc = c["chunks"] / max(c["articles"], 1)
    texts = [t + "\n" + x for _, t, x in sample.store.all_chunk_texts()[:128]]
    enc = sample.encoder
    enc.encode_passages(texts[:8])
    t = time.perf_counter()
    enc.encode_passages(texts)
    raw_rate = len(texts) / (time.perf_counter() - t)
    sample.close()
    records = repeated_records(eval_dir, target_chunks, chunks_per_doc)
    archive = Archive.open(path)
    t0 = time.perf_counter()
    report = archive.ingest_records(records)
    secs = time.perf_counter() - t0
    info = archive.info()
    qs = [q.question for name in SETS for q in load_questions(eval_dir / f"{name}.questions.jsonl", n_queries // 2)]
    tq = table(f"Real archive, {info.chunks} chunks ({info.articles} articles; {load_note()})",
               ["", "value"])
    rate = report.chunks / secs if report.chunks else float("nan")
    tq.add_row("raw encode rate (passages/s, batch 32)", f"{raw_rate:.1f}")
    tq.add_row("ingest time (s)", f"{secs:.0f}")
    tq.add_row("ingest rate (chunks/s, this run)", f"{rate:.1f}" + ("" if report.chunks else " (already ingested)"))
    tq.add_row("ingest / raw encode", f"{rate / raw_rate:.2f}" if report.chunks else "-")
    tq.add_row("database on disk (MB)", f"{info.db_bytes / 2**20:.0f}")
    tq.add_row("vectors.faiss on disk (MB)", f"{info.vector_bytes / 2**20:.0f}")
    side = json.loads((path / "vectors.faiss.json").read_text())
    tq.add_row("FAISS index type", side.get("type", "?"))
    tq.add_row("RSS after ingest (MB)", f"{rss_mb():.0f}")
    console.print(tq)
    tm = table(f"Query latency over {len(qs)} questions, one at a time (ms)", ["mode", "p50", "p95"])
    for mode in ("keyword", "dense", "hybrid"):
        archive.search("warm-up 预热", 5, mode)
        lat = []
        for q in qs:
            archive._encode_query.cache_clear()  # a cold query: encoding included
            t = time.perf_counter()
            archive.search(q, 10, mode)
            lat.append((time.perf_counter() - t) * 1000)
        tm.add_row(mode, f"{percentile(lat, 50):.1f}", f"{percentile(lat, 95):.1f}")
    console.print(tm)
    archive.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--eval-dir", default=str(ROOT.parent / "shared" / "eval"))
    ap.add_argument("--work", default="/tmp/qa-scale")
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--queries", type=int, default=300, help="query vectors for latency and recall")
    ap.add_argument("--no-hnsw", action="store_true", help="skip HNSW (its build is the slowest part)")
    ap.add_argument("--archive-run", action="store_true", help="also build a real archive (slow)")
    ap.add_argument("--archive-chunks", type=int, default=10_000)
    ap.add_argument("--fresh", action="store_true", help="delete --work first")
    args = ap.parse_args()
    eval_dir, work = Path(args.eval_dir), Path(args.work)
    if args.fresh and work.exists():
        shutil.rmtree(work)
    faiss.omp_set_num_threads(os.cpu_count() or 1)
    base, queries = real_vectors(eval_dir, work, args.queries)
    console.print(f"{len(base)} real chunk vectors, {len(queries)} real query vectors (dim {base.shape[1]}); "
                  f"policy: flat below {DEFAULT_POLICY.flat_max:,} vectors, else IVF with "
                  f"{DEFAULT_POLICY.lists_per_sqrt:g}·sqrt(n) lists, nprobe {DEFAULT_POLICY.nprobe}; {load_note()}")
    for n in (int(s) for s in args.sizes.split(",") if s.strip()):
        t = table(f"{n:,} vectors ({len(base):,} real + {max(0, n - len(base)):,} synthetic), "
                  f"{len(queries)} real queries one at a time",
                  ["index", "build s", "disk MB", "process RSS MB", "p50 ms", "p95 ms", "recall@10 vs flat"])
        for row in vector_run(n, base, queries, hnsw=not args.no_hnsw):
            t.add_row(*row)
        console.print(t)
    if args.archive_run:
        archive_run(eval_dir, work, args.archive_chunks, min(args.queries, 200))


if __name__ == "__main__":
    main()
