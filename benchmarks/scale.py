"""How the dense index and the archive scale: 10k to 1M chunks.

    python benchmarks/scale.py [--sizes 10000,100000] [--queries 300] [--work /tmp/qa-scale]
    python benchmarks/scale.py --archive-run [--archive-chunks 10000]     # + a real archive (~15-30 min)
    python benchmarks/scale.py --sizes "" --local-sizes 100000,1000000    # local backend at scale (~1 h)
    python benchmarks/scale.py --sizes "" --local-sizes 1000000 --keyword-budget none,20000
    python benchmarks/scale.py --sizes "" --local-sizes 100000 --backend milvus --batch-chunks 10000

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

Part 3, `--local-sizes`: archives of N chunks of the real news corpus (crud_news_2023: chunked
and segmented by the real code, cached under --work; repeated under distinct ids past its
~188k chunks) written through `Store.write` with synthetic vectors, then measured in fresh
processes with the crud_news_dev questions: keyword/dense/hybrid p50/p95 through
`Archive.search` (question encoding timed apart), RSS, disk, FAISS recall against exact search
over the stored vectors. `--keyword-budget` compares keyword row budgets (`Store`) on them and on
the eval sets.

Part 4, `--local-sizes N --backend milvus`: the same table on a milvus-lite file, written
through `MilvusBackend.write` (batches of --batch-chunks, one flush at the end) from the local
archive of part 3 (`--milvus-from`, default --work/local-<largest N>): the very texts, terms
and vectors, read-only. Recall is of Milvus's HNSW against exact search over those vectors.

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
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

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


def p50_p95(values: list[float]) -> str:
    """"p50 / p95" of latencies in ms, as the tables print them."""
    return f"{percentile(values, 50):.1f} / {percentile(values, 95):.1f}"


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


def ms_each(fn: Callable[[Any], Any], items: list) -> list[float]:
    """Milliseconds of `fn(item)` for each item, one at a time."""
    lat = []
    for x in items:
        t = time.perf_counter()
        fn(x)
        lat.append((time.perf_counter() - t) * 1000)
    return lat


def exact_top10(qvecs: np.ndarray, blocks: Iterable[tuple[np.ndarray, np.ndarray]]) -> tuple[np.ndarray, np.ndarray]:
    """(scores, ids) of the exact top 10 by inner product for each query, over (ids,
    vectors) blocks streamed from a database (no full copy of the vectors in memory)."""
    best_s = np.full((len(qvecs), 10), -np.inf, np.float32)
    best_i = np.full((len(qvecs), 10), -1, np.int64)
    for ids, mat in blocks:
        sims = qvecs @ mat.T
        cat_s, cat_i = np.concatenate([best_s, sims], 1), np.concatenate([best_i, np.broadcast_to(ids, sims.shape)], 1)
        top = np.argsort(-cat_s, axis=1)[:, :10]
        best_s, best_i = np.take_along_axis(cat_s, top, 1), np.take_along_axis(cat_i, top, 1)
    return best_s, best_i


def disk_mb(index: faiss.Index) -> float:
    with tempfile.NamedTemporaryFile(suffix=".faiss") as f:
        faiss.write_index(index, f.name)
        return os.path.getsize(f.name) / 2**20


def vector_run(n: int, base: np.ndarray, queries: np.ndarray, hnsw: bool) -> list[list[str]]:
    """Rows of (index, build s, disk MB, process RSS MB with it built, p50, p95, recall@10)
    for size n. Disk size is close to the index's own memory (flat and IVF keep float32
    vectors, IVF-SQ8 one byte per dimension)."""
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

    by_kind: dict[str, list[str]] = {}
    for kind in ("ivf", "ivf-sq8"):
        vi, bt, dm = build(lambda: (lambda v: (v.add(ids, vecs), v)[1])(VectorIndex(dim, kind=kind)))
        ivf = vi.index
        for nprobe in (8, 16, 32, 64):
            ivf.nprobe = nprobe
            lat, got = timed_queries(lambda q: ivf.search(q, 10)[1], queries)
            rows.append([f"{'IVF' if kind == 'ivf' else 'IVF-SQ8 '}{ivf.nlist} nprobe={nprobe}", f"{bt:.2f}",
                         f"{disk_mb(ivf):.0f}", f"{dm:.0f}", f"{percentile(lat, 50):.2f}", f"{percentile(lat, 95):.2f}",
                         f"{recall_at_10(truth, got):.3f}"])
            if nprobe == DEFAULT_POLICY.nprobe:
                by_kind[kind] = rows[-1]
        vi = ivf = None  # free the memory before the next one
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

    auto = DEFAULT_POLICY.kind_for(n, "flat")
    same = rows[0] if auto == "flat" else by_kind.get(auto)
    if same:
        rows.append([f"auto → {auto} (as above)", *same[1:]])
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


# -- a local archive of N chunks from the real news corpus ------------------------------------
NEWS = ROOT.parent / "shared" / "news_corpus" / "crud_news_2023.jsonl.gz"
NEWS_QUESTIONS = "crud_news_dev"
PREP_SHARD = 4000  # articles per cached shard of chunked, segmented news


def vm_mb(field: str = "VmRSS") -> float:
    """A /proc/self/status memory field in MB (VmRSS now, VmHWM the peak so far)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def prepare_lines(batch: list[tuple[int, str]], pid: str) -> list[tuple]:
    """(record, content hash, spans, FTS terms) of JSONL lines, as `Archive.ingest` makes them."""
    from qa.archive import DEFAULT_CHUNK_CHARS, DEFAULT_OVERLAP, content_hash, indexed_title, passage_text
    from qa.chunk import chunk_text
    from qa.ingest import record_from_dict
    from qa.textnorm import segment

    out = []
    for line_no, line in batch:
        r = record_from_dict(json.loads(line), NEWS, line_no)
        title = indexed_title(r.title, r.text)
        chunks = chunk_text(r.text, DEFAULT_CHUNK_CHARS, DEFAULT_OVERLAP)
        out.append((r, content_hash(r, pid), [(c.ordinal, c.start, c.end) for c in chunks],
                    [" ".join(segment(passage_text(title, c.text))) for c in chunks]))
    return out


def news_shards(work: Path) -> Iterator[list[tuple]]:
    """The real news corpus chunked and segmented as an ingest does it (`chunk_text`,
    `passage_text`, `segment`), in shards of `PREP_SHARD` articles cached under `work`:
    [(record, content hash, spans, terms)]. Segmenting is the slow part (~300 chunks/s)."""
    import gzip
    import pickle

    from qa.archive import DEFAULT_CHUNK_CHARS, DEFAULT_OVERLAP
    from qa.pipeline import pipeline_id, pipeline_spec

    pid = pipeline_id(pipeline_spec(DEFAULT_CHUNK_CHARS, DEFAULT_OVERLAP))
    folder = work / f"news-prep-{pid}"
    folder.mkdir(parents=True, exist_ok=True)
    shard, lines = 0, []

    def load_or_make(batch: list[tuple[int, str]]) -> list[tuple]:
        f = folder / f"shard-{shard:03d}.pkl"
        if f.exists():
            return pickle.loads(f.read_bytes())
        data = prepare_lines(batch, pid)
        tmp = f.with_suffix(".tmp")
        tmp.write_bytes(pickle.dumps(data, protocol=pickle.HIGHEST_PROTOCOL))
        os.replace(tmp, f)
        return data

    with gzip.open(NEWS, "rt", encoding="utf-8") as fh:
        for line_no, line in enumerate(fh, 1):
            lines.append((line_no, line))
            if len(lines) == PREP_SHARD:
                yield load_or_make(lines)
                shard, lines = shard + 1, []
    if lines:
        yield load_or_make(lines)


def news_articles(work: Path, target_chunks: int) -> Iterator[tuple]:
    """Prepared news articles until `target_chunks` chunks: the real corpus once, then again
    under distinct ids (`<id>#r1`, ...) with the same texts."""
    got, rep = 0, 0
    while got < target_chunks:
        before = got
        for shard in news_shards(work):
            for r, h, spans, terms in shard:
                if rep:
                    r = dataclasses.replace(r, id=f"{r.id}#r{rep}")
                yield r, h, spans, terms
                got += len(spans)
                if got >= target_chunks:
                    return
        if got == before:
            return
        rep += 1


def synthetic_batch(base: np.ndarray, m: int, rng: np.random.Generator) -> np.ndarray:
    """`m` vectors mixed from two real ones plus noise, as `synthetic` makes them."""
    i, j = rng.integers(0, len(base), m), rng.integers(0, len(base), m)
    a = rng.uniform(0.5, 1.0, (m, 1)).astype(np.float32)
    x = a * base[i] + (1 - a) * base[j] + 0.3 * base.std(axis=0) * rng.standard_normal((m, base.shape[1])).astype(np.float32)
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    return x.astype(np.float32)


def build_local(path: Path, work: Path, n: int, base: np.ndarray, batch_chunks: int, out: Any = None) -> dict:
    """An archive of ~n news chunks written through `Store.write` as an ingest writes them
    (articles, chunk rows with float32 vectors, FTS5 terms), with synthetic vectors. Cached:
    a finished build leaves `build.json` with its figures."""
    from tqdm import tqdm

    from qa import Archive
    from qa.archive import DEFAULT_CHUNK_CHARS, DEFAULT_OVERLAP
    from qa.pipeline import pipeline_id, pipeline_spec
    from qa.store import PreparedArticle

    done = path / "build.json"
    if done.exists():
        info = json.loads(done.read_text())
        if out is not None:
            out.put(info)
        return info
    if path.exists():
        shutil.rmtree(path)  # an interrupted build: start again
    pid = pipeline_id(pipeline_spec(DEFAULT_CHUNK_CHARS, DEFAULT_OVERLAP))
    archive = Archive.open(path)
    archive.encoder  # noqa: B018 -- records the model id and dim the query vectors belong to
    store = archive.store
    rng = np.random.default_rng(n)
    bar = tqdm(total=n, desc=f"build {n:,}", unit="chunk", file=sys.stderr, smoothing=0.05)
    prep_s = write_s = 0.0
    articles = chunks = 0
    pending: list = []
    t0 = t = time.perf_counter()

    def flush() -> None:
        nonlocal write_s, chunks, articles, pending
        m = sum(len(p[2]) for p in pending)
        vecs = synthetic_batch(base, m, rng)
        batch, at = [], 0
        for r, h, spans, terms in pending:
            batch.append(PreparedArticle(r, h, spans, terms, vecs[at : at + len(spans)], pid))
            at += len(spans)
        w = time.perf_counter()
        res = store.write(batch)
        write_s += time.perf_counter() - w
        chunks += len(res.new_ids)
        articles += len(batch)
        bar.update(len(res.new_ids))
        pending = []

    n_pending = 0
    for art in news_articles(work, n):
        pending.append(art)
        n_pending += len(art[2])
        if n_pending >= batch_chunks:
            prep_s += time.perf_counter() - t
            flush()
            n_pending, t = 0, time.perf_counter()
    prep_s += time.perf_counter() - t
    if pending:
        flush()
    bar.close()
    store.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    archive.close()
    info = {"chunks": chunks, "articles": articles, "build_s": time.perf_counter() - t0, "write_s": write_s,
            "prep_s": prep_s, "batch_chunks": batch_chunks, "build_peak_rss_mb": vm_mb("VmHWM"),
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "load": load_note()}
    done.write_text(json.dumps(info))
    if out is not None:
        out.put(info)
    return info


def news_questions(eval_dir: Path, work: Path, model_spec: str | None) -> tuple[list[str], np.ndarray]:
    """The crud_news_dev questions and their query vectors (real model), cached in `work`."""
    qs = [q.question for q in load_questions(eval_dir / f"{NEWS_QUESTIONS}.questions.jsonl")]
    f = work / f"{NEWS_QUESTIONS}-query-vectors.npy"
    if not f.exists():
        from qa.embeddings import load_encoder, resolve_spec

        enc = load_encoder(resolve_spec(model_spec, None))
        np.save(f, enc.encode_queries(qs, batch_size=32).astype(np.float32))
    return qs, np.load(f)


def build_keywords(path: str, out: Any) -> None:
    """In a fresh process: build the archive's keyword postings file (`keywords.idx`, see
    `qa.keyword_index`): time and peak RSS."""
    from qa.keyword_index import KeywordIndex

    t = time.perf_counter()
    KeywordIndex.build(Path(path) / "archive.db", Path(path) / "keywords.idx")
    out.put({"s": time.perf_counter() - t, "peak_mb": vm_mb("VmHWM"), "load": load_note()})


def measure_local(path: str, questions: list[str], postings: bool, out: "Any") -> None:
    """In a fresh process: open the archive, time keyword, dense and hybrid search over the
    questions one at a time through `Archive.search` (question encoding timed apart, then
    served from the archive's query cache), memory at each step, sizes on disk. `postings`
    False: keyword search by FTS5's bm25() (the postings file left unused), for comparison;
    the keyword hits of both are returned, to check they rank alike."""
    from qa import Archive

    res: dict = {"rss_start_mb": vm_mb()}
    p = Path(path)
    archive = Archive.open(p, create=False, keyword_index_min_chunks=0 if postings else 2**62)
    t = time.perf_counter()
    archive.search("预热 查询", 10, "keyword")
    res["first_keyword_s"] = time.perf_counter() - t
    res["keyword_cold"] = ms_each(lambda q: archive.search(q, 10, "keyword"), questions)  # pages read from disk
    res["keyword"] = ms_each(lambda q: archive.search(q, 10, "keyword"), questions)
    res["keyword_hits"] = [[(h.chunk_id, h.score) for h in archive.search(q, 10, "keyword")] for q in questions]
    res["rss_keyword_mb"] = vm_mb()
    had_file = (p / "vectors.faiss").exists()
    t = time.perf_counter()
    vi = archive._vector_index()  # load the FAISS file (or build it from the store), no encoder
    res["vectors_s"], res["vectors_from_file"], res["faiss_type"] = time.perf_counter() - t, had_file, vi.kind
    res["rss_vectors_mb"], res["peak_vectors_mb"] = vm_mb(), vm_mb("VmHWM")
    archive._encode_query("预热")
    res["encode"] = ms_each(archive._encode_query, questions)  # into the archive's query cache: searches below reuse it
    res["rss_encoder_mb"] = vm_mb()
    for mode in ("dense", "hybrid"):
        res[mode] = ms_each(lambda q: archive.search(q, 10, mode), questions)
    res["rss_steady_mb"], res["rss_peak_mb"] = vm_mb(), vm_mb("VmHWM")
    res["db_mb"] = sum((p / n).stat().st_size for n in ("archive.db", "archive.db-wal") if (p / n).exists()) / 2**20
    res["vectors_mb"] = (p / "vectors.faiss").stat().st_size / 2**20
    res["keywords_mb"] = (p / "keywords.idx").stat().st_size / 2**20 if (p / "keywords.idx").exists() else 0.0
    res["load"] = load_note()
    archive.close()
    out.put(res)


def recall_local(path: str, qvecs: np.ndarray, out: Any) -> None:
    """Recall@10 of the archive's saved FAISS index against exact search over the float32
    vectors in its SQLite file (streamed in blocks: no full copy in memory), for real
    query vectors; also how far its cosines are from the exact ones."""
    from qa.store import Store

    p = Path(path)
    store = Store(p / "archive.db")
    side = json.loads((p / "vectors.faiss.json").read_text())
    loaded = VectorIndex.load(p / "vectors.faiss", side["dim"], side["model_id"], side.get("epoch", 0))
    assert loaded is not None
    vi = loaded.index
    got_s, got = vi.search(qvecs, 10)

    def blocks() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        last = 0
        while rows := store.db.execute("SELECT id, vector FROM chunks WHERE id > ? AND vector IS NOT NULL ORDER BY id"
                                       " LIMIT 50000", (last,)).fetchall():
            ids = np.fromiter((r[0] for r in rows), np.int64, len(rows))
            yield ids, np.frombuffer(b"".join(r[1] for r in rows), np.float32).reshape(len(rows), -1)
            last = int(ids[-1])

    best_s, best_i = exact_top10(qvecs, blocks())
    store.close()
    err = [abs(float(s) - float(e)) for srow, erow, grow, brow in zip(got_s, best_s, got, best_i)
           for s, g, e, b in zip(srow, erow, grow, brow) if g == b]
    out.put({"recall": recall_at_10(best_i, got), "kind": vi.kind, "cos_err_max": max(err or [0.0]),
             "top1_same": float(np.mean(got[:, 0] == best_i[:, 0]))})


def in_child(fn: Callable, *args: Any) -> dict:
    """Run `fn(*args, queue)` in a fresh process (its own peak RSS) and return what it put."""
    import multiprocessing as mp

    ctx = mp.get_context("spawn")
    q = ctx.Queue()
    proc = ctx.Process(target=fn, args=(*args, q))
    proc.start()
    res = q.get()
    proc.join()
    return res


def local_scale_run(eval_dir: Path, work: Path, sizes: list[int], base: np.ndarray, batch_chunks: int) -> None:
    qs, _ = news_questions(eval_dir, work, None)
    for n in sizes:
        path = work / f"local-{n}"
        info = in_child(build_local, path, work, n, base, batch_chunks)  # its own peak RSS
        if not (path / "vectors.faiss").exists():
            first = in_child(measure_local, str(path), qs[:5], True)  # builds the FAISS file from the store
            info["faiss_build_s"], info["faiss_build_peak_mb"] = first["vectors_s"], first["peak_vectors_mb"]
            done = path / "build.json"
            done.write_text(json.dumps(info))
        if not (path / "keywords.idx").exists():
            kb = in_child(build_keywords, str(path))
            info["keywords_build_s"], info["keywords_build_peak_mb"] = kb["s"], kb["peak_mb"]
            (path / "build.json").write_text(json.dumps(info))
        r = in_child(measure_local, str(path), qs, True)
        r_fts = in_child(measure_local, str(path), qs, False)  # same run: FTS5's bm25() instead of the file
        same = sum(len(a) == len(b) and all(x[0] == y[0] or abs(x[1] - y[1]) < 1e-9 for x, y in zip(a, b))
                   for a, b in zip(r["keyword_hits"], r_fts["keyword_hits"]))
        rec = in_child(recall_local, str(path), news_questions(eval_dir, work, None)[1])
        t = table(f"Local backend (SQLite + FTS5 + FAISS), {info['chunks']:,} chunks of real news "
                  f"({info['articles']:,} articles, synthetic vectors); {len(qs)} real questions "
                  f"({NEWS_QUESTIONS}) one at a time; {r['load']}", ["", "value"])
        t.add_row("build: write through Store.write (chunks/s)", f"{info['chunks'] / info['write_s']:,.0f}"
                  f" ({info['write_s']:.0f} s, batches of {info['batch_chunks']:,} chunks)")
        t.add_row("build: chunk + segment real texts (s, cached after the first run)", f"{info['prep_s']:.0f}")
        t.add_row("build: peak RSS (MB)", f"{info['build_peak_rss_mb']:,.0f}")
        if "faiss_build_s" in info:
            t.add_row("FAISS index from the store, first open (s / peak RSS MB)",
                      f"{info['faiss_build_s']:.0f} / {info['faiss_build_peak_mb']:,.0f}")
        if "keywords_build_s" in info:
            t.add_row("keyword postings file from the store (s / peak RSS MB)",
                      f"{info['keywords_build_s']:.0f} / {info['keywords_build_peak_mb']:,.0f}")
        t.add_row("FAISS index type / load from file (s)", f"{r['faiss_type']} / {r['vectors_s']:.1f}")
        t.add_row("dense recall@10 / same top-1 vs exact search over the stored float32 vectors",
                  f"{rec['recall']:.3f} / {rec['top1_same']:.2f}")
        t.add_row("database on disk (MB)", f"{r['db_mb']:,.0f}")
        t.add_row("vectors.faiss on disk (MB)", f"{r['vectors_mb']:,.0f}")
        t.add_row("keywords.idx on disk (MB)", f"{r['keywords_mb']:,.0f}")
        t.add_row("first keyword query, cold (ms): postings file / FTS5 bm25()",
                  f"{r['first_keyword_s'] * 1000:,.0f} / {r_fts['first_keyword_s'] * 1000:,.0f}")
        t.add_row("keyword p50 / p95, first pass over the questions (ms): postings file / FTS5 bm25()",
                  f"{p50_p95(r['keyword_cold'])}; {p50_p95(r_fts['keyword_cold'])}")
        for mode in ("keyword", "dense", "hybrid"):
            t.add_row(f"{mode} p50 / p95 (ms, question encoding excluded; keyword: second pass)",
                      p50_p95(r[mode]))
        for mode in ("keyword", "hybrid"):
            t.add_row(f"{mode} p50 / p95 with FTS5's bm25() instead of the postings file (ms)",
                      p50_p95(r_fts[mode]))
        t.add_row("keyword top 10 the same with both (same chunk or same score at every rank)",
                  f"{same} of {len(qs)}")
        t.add_row("question encoding p50 / p95 (ms)", p50_p95(r['encode']))
        t.add_row("RSS: open + keyword / + FAISS / + encoder, searching (MB)",
                  f"{r['rss_keyword_mb']:,.0f} / {r['rss_vectors_mb']:,.0f} / {r['rss_steady_mb']:,.0f}")
        t.add_row("RSS peak of the searching process (MB)", f"{r['rss_peak_mb']:,.0f}")
        t.add_row("load average: postings run / FTS5 run", f"{r['load']} / {r_fts['load']}")
        console.print(t)


# -- the same news archive on Milvus (milvus-lite) ---------------------------------------------
COPIED_META = ("chunk_chars", "overlap_sentences", "pipeline", "model_id", "model_spec", "dim")


def local_batches(db_path: Path, n: int, batch_chunks: int) -> Iterator[list]:
    """The articles of a built local archive, as its ingest prepared them (record, content
    hash, spans, FTS terms, the very vectors it stored), in rowid order until `n` chunks, in
    batches of ~`batch_chunks` chunks. Read-only: the local archive is not touched."""
    import sqlite3

    from qa.records import ArticleRecord
    from qa.store import PreparedArticle

    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    arts = db.execute("SELECT rowid, id, title, text, date, page, source, byline, source_file, metadata,"
                      " content_hash, pipeline FROM articles ORDER BY rowid")
    got, batch, in_batch = 0, [], 0
    for row in arts:
        chunks = db.execute("SELECT c.ordinal, c.start, c.end, c.vector, t.terms FROM chunks c JOIN chunk_terms t"
                            " ON t.rowid = c.id WHERE c.article_rowid = ? ORDER BY c.ordinal", (row[0],)).fetchall()
        rec = ArticleRecord(row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8], metadata=json.loads(row[9]))
        vecs = np.stack([np.frombuffer(c[3], np.float32) for c in chunks])
        batch.append(PreparedArticle(rec, row[10], [(c[0], c[1], c[2]) for c in chunks], [c[4] for c in chunks],
                                     vecs, row[11]))
        got += len(chunks)
        in_batch += len(chunks)
        if in_batch >= batch_chunks or got >= n:
            yield batch
            batch, in_batch = [], 0
        if got >= n:
            break
    if batch:
        yield batch
    db.close()


def other_processes_rss_mb() -> float:
    """RSS of this process's children (a milvus-lite engine in its own process; milvus-lite
    3.x runs in-process as threads, so this is 0 with it)."""
    me, total = str(os.getpid()), 0.0
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if fields[1] == me:
                total += int(fields[21]) * os.sysconf("SC_PAGE_SIZE") / 2**20
        except (OSError, IndexError, ValueError):
            pass
    return total


def dir_mb(path: Path) -> float:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) / 2**20 if path.exists() else 0.0


def build_milvus(db: str, src: str, n: int, batch_chunks: int, out: Any = None) -> dict:
    """A milvus-lite archive of the first ~n chunks of the local archive `src`, written through
    `MilvusBackend.write` (flush policy "end": one flush after the last batch) with the same
    texts, terms and vectors. Cached: a finished build leaves `<db>.build.json`."""
    from qa.backends.milvus import MilvusBackend
    from qa.store import Store

    done = Path(db + ".build.json")
    if done.exists():
        info = json.loads(done.read_text())
        if out is not None:
            out.put(info)
        return info
    if Path(db).exists():
        shutil.rmtree(db)  # an interrupted build: start again
    local = Store(Path(src) / "archive.db")
    meta = {k: local.get_meta(k) for k in COPIED_META}
    local.close()
    t0 = time.perf_counter()
    mb = MilvusBackend(db, dim=int(meta["dim"] or 384), flush="end")
    for k, v in meta.items():
        if v is not None:
            mb.set_meta(k, v)  # the model and chunking the vectors and terms belong to
    read_s = write_s = 0.0
    chunks = articles = 0
    rates: list[float] = []
    t = time.perf_counter()
    for batch in local_batches(Path(src) / "archive.db", n, batch_chunks):
        read_s += time.perf_counter() - t
        w = time.perf_counter()
        res = mb.write(batch)
        dt = time.perf_counter() - w
        write_s += dt
        chunks += len(res.new_ids)
        articles += len(batch)
        rates.append(len(res.new_ids) / dt)
        print(f"  milvus write {chunks:,}/{n:,} chunks, {len(res.new_ids) / dt:,.0f} chunks/s this batch, "
              f"RSS {vm_mb():,.0f} MB ({load_note()})", file=sys.stderr, flush=True)
        t = time.perf_counter()
    f = time.perf_counter()
    mb.flush()
    flush_s = time.perf_counter() - f
    counts = mb.counts()
    mb.close()
    info = {"chunks": chunks, "articles": articles, "stored_chunks": counts["chunks"], "build_s": time.perf_counter() - t0,
            "write_s": write_s, "flush_s": flush_s, "read_s": read_s, "batch_chunks": batch_chunks,
            "first_batch_rate": rates[0] if rates else 0, "last_batch_rate": rates[-1] if rates else 0,
            "build_peak_rss_mb": vm_mb("VmHWM"), "children_rss_mb": other_processes_rss_mb(),
            "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "load": load_note()}
    done.write_text(json.dumps(info))
    if out is not None:
        out.put(info)
    return info


def measure_milvus(db: str, questions: list[str], out: Any) -> None:
    """`measure_local` on a milvus-lite archive: a fresh process opens it through `Archive`
    (backend "milvus") and times keyword, dense and hybrid search one question at a time,
    question encoding apart; memory of this process (milvus-lite's engine runs in it) and of
    any child process."""
    from qa import Archive

    res: dict = {"rss_start_mb": vm_mb()}
    t = time.perf_counter()
    archive = Archive.open(None, backend="milvus", uri=db, create=False)
    res["open_s"] = time.perf_counter() - t
    res["rss_open_mb"] = vm_mb()
    t = time.perf_counter()
    archive.search("预热 查询", 10, "keyword")
    res["first_keyword_s"] = time.perf_counter() - t
    res["keyword"] = ms_each(lambda q: archive.search(q, 10, "keyword"), questions)
    res["rss_keyword_mb"] = vm_mb()
    archive._encode_query("预热")
    res["encode"] = ms_each(archive._encode_query, questions)  # into the archive's query cache: searches below reuse it
    for mode in ("dense", "hybrid"):
        res[mode] = ms_each(lambda q: archive.search(q, 10, mode), questions)
    res["rss_steady_mb"], res["rss_peak_mb"] = vm_mb(), vm_mb("VmHWM")
    res["children_rss_mb"] = other_processes_rss_mb()
    res["disk_mb"] = dir_mb(Path(db))
    res["load"] = load_note()
    archive.close()
    out.put(res)


def recall_milvus(db: str, src: str, qvecs: np.ndarray, out: Any) -> None:
    """Recall@10 of Milvus's dense search (`MilvusBackend.dense_search`, its HNSW index)
    against exact search over the float32 vectors of the same chunks in the local archive
    (ids mapped with `chunk_id`)."""
    import sqlite3

    from qa.backends.milvus import MilvusBackend, chunk_id

    mb = MilvusBackend(db)
    n = mb.chunk_count()
    got = np.array([[i for i, _ in mb.dense_search(q, 10)] + [-1] * 10 for q in qvecs])[:, :10]
    mb.close()
    src_db = sqlite3.connect(f"file:{Path(src) / 'archive.db'}?mode=ro", uri=True)
    rows = src_db.execute("SELECT a.id, a.content_hash, c.ordinal, c.vector FROM chunks c JOIN articles a"
                          " ON a.rowid = c.article_rowid ORDER BY a.rowid, c.ordinal")

    def blocks() -> Iterator[tuple[np.ndarray, np.ndarray]]:
        seen = 0
        while seen < n and (block := rows.fetchmany(min(50_000, n - seen))):
            seen += len(block)
            ids = np.array([chunk_id(a, h, o) for a, h, o, _ in block], np.int64)
            yield ids, np.frombuffer(b"".join(r[3] for r in block), np.float32).reshape(len(block), -1)

    _, best_i = exact_top10(qvecs, blocks())
    src_db.close()
    out.put({"recall": recall_at_10(best_i, got), "top1_same": float(np.mean(got[:, 0] == best_i[:, 0]))})


def milvus_scale_run(eval_dir: Path, work: Path, sizes: list[int], src: Path, batch_chunks: int) -> None:
    """Milvus (milvus-lite file) at the sizes of the local run, from the local archive `src`
    (built by `--local-sizes`, with at least max(sizes) chunks): same texts, terms, vectors."""
    qs, qvecs = news_questions(eval_dir, work, None)
    for n in sizes:
        db = str(work / f"milvus-{n}-b{batch_chunks}.db")
        info = in_child(build_milvus, db, str(src), n, batch_chunks)
        r = in_child(measure_milvus, db, qs)
        rec = in_child(recall_milvus, db, str(src), qvecs)
        t = table(f"Milvus backend (milvus-lite {milvus_lite_version()} file, HNSW + BM25), {info['stored_chunks']:,} "
                  f"chunks of real news ({info['articles']:,} articles, the local archive's texts, terms and vectors); "
                  f"{len(qs)} real questions ({NEWS_QUESTIONS}) one at a time; {r['load']}", ["", "value"])
        t.add_row("build: write through MilvusBackend.write (chunks/s)", f"{info['chunks'] / info['write_s']:,.0f}"
                  f" ({info['write_s']:.0f} s, batches of {info['batch_chunks']:,} chunks; first / last batch "
                  f"{info['first_batch_rate']:,.0f} / {info['last_batch_rate']:,.0f})")
        t.add_row("build: final flush (s)", f"{info['flush_s']:.0f}")
        t.add_row("build: peak RSS (MB; engine in-process, other processes)",
                  f"{info['build_peak_rss_mb']:,.0f}; {info['children_rss_mb']:,.0f}")
        t.add_row("dense recall@10 / same top-1 vs exact search over the same float32 vectors",
                  f"{rec['recall']:.3f} / {rec['top1_same']:.2f}")
        t.add_row("milvus-lite directory on disk (MB)", f"{r['disk_mb']:,.0f}")
        t.add_row("open (s) / first keyword query, cold (ms)", f"{r['open_s']:.1f} / {r['first_keyword_s'] * 1000:,.0f}")
        for mode in ("keyword", "dense", "hybrid"):
            t.add_row(f"{mode} p50 / p95 (ms, question encoding excluded)",
                      p50_p95(r[mode]))
        t.add_row("question encoding p50 / p95 (ms)", p50_p95(r['encode']))
        t.add_row("RSS: open / + keyword / + encoder, searching (MB)",
                  f"{r['rss_open_mb']:,.0f} / {r['rss_keyword_mb']:,.0f} / {r['rss_steady_mb']:,.0f}")
        t.add_row("RSS peak of the searching process / other processes (MB)",
                  f"{r['rss_peak_mb']:,.0f} / {r['children_rss_mb']:,.0f}")
        console.print(t)


def milvus_lite_version() -> str:
    try:
        from importlib.metadata import version

        return version("milvus-lite")
    except Exception:  # noqa: BLE001
        return "?"


# -- keyword row budget: latency and what it costs in ranking ---------------------------------
def news_gold(eval_dir: Path) -> dict[str, str]:
    """crud_news_dev doc id -> the id of the same text in the 2023 news corpus."""
    import gzip

    dev = {}
    with open(eval_dir / f"{NEWS_QUESTIONS}.corpus.jsonl", encoding="utf-8") as f:
        for line in f:
            d = json.loads(line)
            dev[d["text"].strip()[:200]] = d["doc_id"]
    out = {}
    with gzip.open(NEWS, "rt", encoding="utf-8") as f:
        for line in f:
            o = json.loads(line)
            if o["text"].strip()[:200] in dev:
                out[dev[o["text"].strip()[:200]]] = o["id"]
    return out


def src_at(archive: "Any", questions: list, gold_of: Callable[[Any], set[str]], mode: str, budget: int | None,
           base_id: Callable[[str], str] = lambda s: s) -> tuple[float, float, float]:
    """(src@1, src@5, p50 ms) of `mode` over questions with the store's row budget set."""
    archive.store.keyword_row_budget = budget
    r1 = r5 = 0
    lat = []
    for q in questions:
        t = time.perf_counter()
        hits = archive.search(q.question, 5, mode)
        lat.append((time.perf_counter() - t) * 1000)
        ids = [base_id(h.article_id) for h in hits]
        gold = gold_of(q)
        r1 += bool(ids[:1] and ids[0] in gold)
        r5 += any(i in gold for i in ids)
    n = max(len(questions), 1)
    return 100 * r1 / n, 100 * r5 / n, percentile(lat, 50)


def keyword_budget_run(eval_dir: Path, work: Path, sizes: list[int], budgets: list[int | None], limit: int) -> None:
    """src@1/@5 and latency with and without the keyword row budget: on the news archives
    (crud_news_dev questions whose source is in the archive, keyword mode: their vectors are
    synthetic) and on the CMRC/DRCD eval archives (real vectors; keyword and hybrid) with the
    budget at the same share of the archive as at 1M chunks."""
    from qa import Archive
    gold_map = news_gold(eval_dir)
    qs = load_questions(eval_dir / f"{NEWS_QUESTIONS}.questions.jsonl")
    t = table(f"Keyword row budget: src@1 / src@5 / p50 ms, keyword mode ({load_note()})",
              ["archive", "questions", *[f"budget {b:,}" if b else "no budget" for b in budgets]])
    for n in sizes:
        archive = Archive.open(work / f"local-{n}", create=False)
        have = {i for i in gold_map.values()
                if archive.store.db.execute("SELECT 1 FROM articles WHERE id = ?", (i,)).fetchone()}
        mine = [q for q in qs if any(gold_map.get(d) in have for d in q.gold)][:limit]
        gold_of = lambda q: {gold_map[d] for d in q.gold if d in gold_map}  # noqa: E731
        cells = [src_at(archive, mine, gold_of, "keyword", b, lambda s: s.split("#", 1)[0]) for b in budgets]
        t.add_row(f"news {n:,} chunks", str(len(mine)), *[f"{a:.1f} / {b:.1f} / {c:.0f}" for a, b, c in cells])
        archive.close()
    console.print(t)
    budget = next((b for b in budgets if b), 20_000)
    share = budget / 1_000_000
    t = table(f"Eval sets, budget at {share:.0%} of the archive's chunks (as {budget:,} at 1M): "
              f"src@1 / src@5 / p50 ms, first {limit} questions", ["set", "chunks", "mode", "no budget", "budget"])
    for name in SETS:
        archive = open_set_archive(eval_dir, name)
        n = archive.store.chunk_count()
        ques = load_questions(eval_dir / f"{name}.questions.jsonl", limit)
        for mode in ("keyword", "hybrid"):
            cells = [src_at(archive, ques, lambda q: set(q.gold), mode, b) for b in (None, max(1, round(share * n)))]
            t.add_row(name, f"{n:,}", mode, *[f"{a:.1f} / {b:.1f} / {c:.0f}" for a, b, c in cells])
        archive.close()
    console.print(t)


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
    ap.add_argument("--local-sizes", default="", help="news-corpus archives of these many chunks, e.g. 100000,1000000")
    ap.add_argument("--backend", choices=("local", "milvus"), default="local", help="backend of --local-sizes")
    ap.add_argument("--keyword-budget", default="", help="compare keyword row budgets (e.g. none,20000,10000) on "
                    "the --local-sizes archives (built already) and the eval sets")
    ap.add_argument("--budget-questions", type=int, default=300, help="eval-set questions for --keyword-budget")
    ap.add_argument("--batch-chunks", type=int, default=20_000, help="chunks per Store.write transaction "
                    "(--backend milvus: per MilvusBackend.write call)")
    ap.add_argument("--milvus-from", default="", help="--backend milvus: the local archive (built by --local-sizes) "
                    "whose texts, terms and vectors are written to Milvus (default: --work/local-<largest size>)")
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
    local_sizes = [int(s) for s in args.local_sizes.split(",") if s.strip()]
    if args.keyword_budget:
        budgets = [None if b.strip() == "none" else int(b) for b in args.keyword_budget.split(",")]
        keyword_budget_run(eval_dir, work, local_sizes, budgets, args.budget_questions)
    elif local_sizes and args.backend == "milvus":
        src = Path(args.milvus_from) if args.milvus_from else work / f"local-{max(local_sizes)}"
        if not (src / "archive.db").exists():
            raise SystemExit(f"{src}: no local archive to read texts, terms and vectors from; build it first "
                             f"(--local-sizes {max(local_sizes)}) or give --milvus-from")
        milvus_scale_run(eval_dir, work, local_sizes, src, args.batch_chunks)
    elif local_sizes:
        local_scale_run(eval_dir, work, local_sizes, base, args.batch_chunks)


if __name__ == "__main__":
    main()
