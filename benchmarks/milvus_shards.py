"""Sharded ingest into one Milvus (issue 11, item 2), at the backend level: a `milvus-lite
server` on 127.0.0.1, two worker processes writing disjoint shards (article index mod 2) of a
real corpus through `MilvusBackend` with real e5 vectors, one of them SIGKILLed mid-way (in
the worst window: a batch's chunks inserted, its article rows (the commit marks) not yet) and
run again; then every article must be there exactly once: article count, chunk ids unique
and exactly the expected deterministic ones, no orphan chunks, every content hash final.

Workers prepare articles the way `qa.archive` does (chunk_text, passage_text, segment,
encode_passages, content_hash with the pipeline id); the integrator switches them to
`qa ingest --backend milvus --uri http://127.0.0.1:PORT` once Archive is wired.

    python benchmarks/milvus_shards.py [--corpus ../shared/eval/cmrc2018_trial.corpus.jsonl]
        [--limit 300] [--batch 32] [--work DIR]
"""

from __future__ import annotations

import argparse
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qa.archive import content_hash, indexed_title, passage_text  # noqa: E402
from qa.chunk import chunk_text  # noqa: E402
from qa.ingest import read_inputs  # noqa: E402
from qa.pipeline import pipeline_id, pipeline_spec  # noqa: E402
from qa.records import ArticleRecord  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_CORPUS = ROOT.parent / "shared" / "eval" / "cmrc2018_trial.corpus.jsonl"
SPEC = pipeline_spec(300, 1)
PID = pipeline_id(SPEC)


def load() -> str:
    return open("/proc/loadavg").read().split()[0]


def records(corpus: str, limit: int) -> list[ArticleRecord]:
    recs = [r for r in read_inputs([corpus]) if isinstance(r, ArticleRecord)]
    return recs[:limit]


def worker(uri: str, corpus: str, limit: int, shard: int, shards: int, batch_chunks: int) -> None:
    """Write this shard's articles that are not stored with their current hash."""
    from qa.backends.milvus import MilvusBackend
    from qa.embeddings import load_encoder
    from qa.store import PreparedArticle
    from qa.textnorm import segment

    mine = [r for i, r in enumerate(records(corpus, limit)) if i % shards == shard]
    backend = MilvusBackend(uri)
    hashes = {r.id: content_hash(r, PID) for r in mine}
    stored = backend.hashes(hashes)
    todo = [r for r in mine if stored.get(r.id) != hashes[r.id]]
    print(f"shard {shard}: {len(mine)} articles, {len(mine) - len(todo)} already stored, {len(todo)} to write",
          flush=True)
    enc = load_encoder()
    backend.set_meta("model_id", enc.model_id)
    pending, n, written = [], 0, 0
    t = time.perf_counter()

    def flush_pending() -> None:
        nonlocal pending, n, written
        texts = [t for _, ts, _ in pending for t in ts]
        vecs = enc.encode_passages(texts)
        prepared, k = [], 0
        for r, ts, spans in pending:
            prepared.append(PreparedArticle(r, hashes[r.id], spans, [" ".join(segment(x)) for x in ts],
                                            vecs[k : k + len(ts)], PID))
            k += len(ts)
        backend.write(prepared)
        written += len(pending)
        print(f"shard {shard}: {written}/{len(todo)} written ({len(texts)} chunks in this batch)", flush=True)
        pending, n = [], 0

    for r in todo:
        chunks = chunk_text(r.text, SPEC["chunk_chars"], SPEC["overlap_sentences"])
        title = indexed_title(r.title, r.text)
        pending.append((r, [passage_text(title, c.text) for c in chunks], [(c.ordinal, c.start, c.end) for c in chunks]))
        n += len(chunks)
        if n >= batch_chunks:
            flush_pending()
    if pending:
        flush_pending()
    print(f"shard {shard}: done in {time.perf_counter() - t:.1f} s  load {load()}", flush=True)
    backend.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_server(uri: str, proc: subprocess.Popen, timeout: float = 120) -> float:
    from pymilvus import MilvusClient

    t = time.perf_counter()
    while time.perf_counter() - t < timeout:
        if proc.poll() is not None:
            raise SystemExit(f"milvus-lite server exited with {proc.returncode}")
        try:
            MilvusClient(uri=uri, timeout=2).close()
            return time.perf_counter() - t
        except Exception:
            time.sleep(0.5)
    raise SystemExit(f"milvus-lite server at {uri} did not answer in {timeout:.0f} s")


def run_worker(args, uri: str, shard: int, crash_at: str | None = None) -> subprocess.Popen:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("QA_CRASH_AT", None)
    if crash_at:
        env["QA_CRASH_AT"] = crash_at
    cmd = [sys.executable, __file__, "--worker", str(shard), "--uri", uri, "--corpus", args.corpus,
           "--limit", str(args.limit), "--batch", str(args.batch)]
    return subprocess.Popen(cmd, env=env)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", default=str(DEFAULT_CORPUS))
    ap.add_argument("--limit", type=int, default=300, help="articles of the corpus to ingest")
    ap.add_argument("--batch", type=int, default=32, help="chunks per write batch")
    ap.add_argument("--work", help="directory for the server's data (default: a temporary one)")
    ap.add_argument("--worker", type=int, help=argparse.SUPPRESS)
    ap.add_argument("--uri", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.worker is not None:
        worker(args.uri, args.corpus, args.limit, args.worker, 2, args.batch)
        return

    work = Path(args.work or tempfile.mkdtemp(prefix="milvus-shards-"))
    work.mkdir(parents=True, exist_ok=True)
    port = free_port()
    uri = f"http://127.0.0.1:{port}"
    server = subprocess.Popen([sys.executable, "-m", "milvus_lite", "server", "--data-dir", str(work / "server.db"),
                               "--host", "127.0.0.1", "--port", str(port)],
                              stdout=open(work / "server.log", "w"), stderr=subprocess.STDOUT)
    try:
        print(f"milvus-lite server on {uri} up in {wait_for_server(uri, server):.1f} s  load {load()}")
        print("listening sockets of the server:", subprocess.run(
            ["sh", "-c", f"ss -ltnp 2>/dev/null | grep 'pid={server.pid},' || cat /proc/net/tcp | head -0"],
            capture_output=True, text=True).stdout.strip() or "(ss not available)")
        t = time.perf_counter()
        # shard 0 SIGKILLs itself after its 2nd batch's chunks are inserted, before their
        # article rows: the worst moment (chunks without an article)
        w0, w1 = run_worker(args, uri, 0, crash_at="milvus-chunks-written#2"), run_worker(args, uri, 1)
        rc0, rc1 = w0.wait(), w1.wait()
        print(f"round 1: shard 0 exited {rc0} (-9 = SIGKILL), shard 1 exited {rc1}, "
              f"{time.perf_counter() - t:.1f} s  load {load()}")
        assert rc0 == -signal.SIGKILL and rc1 == 0, (rc0, rc1)

        from qa.backends.milvus import MilvusBackend, chunk_id

        check = MilvusBackend(uri)
        print(f"after the kill: {check.counts()}, check: {check.check()}")
        t = time.perf_counter()
        rc = run_worker(args, uri, 0).wait()
        print(f"round 2: shard 0 re-run exited {rc}, {time.perf_counter() - t:.1f} s  load {load()}")
        assert rc == 0

        # -- every article exactly once ---------------------------------------------------
        recs = records(args.corpus, args.limit)
        want_hash = {r.id: content_hash(r, PID) for r in recs}
        want_ids = {chunk_id(r.id, want_hash[r.id], c.ordinal)
                    for r in recs for c in chunk_text(r.text, SPEC["chunk_chars"], SPEC["overlap_sentences"])}
        ids = [row["id"] for row in check._scan(check.chunks_name, "", ["id"])]
        counts = check.counts()
        problems = check.check(full=True)
        got_hash = check.hashes(want_hash)
        print(f"final: {counts}; {len(ids)} chunk rows, {len(set(ids))} distinct ids, expected {len(want_ids)}; "
              f"check(full): {problems}")
        ok = (counts["articles"] == len(recs) and len(ids) == len(set(ids)) == counts["chunks"]
              and set(ids) == want_ids and not problems and got_hash == want_hash)
        print(f"every article exactly once, hashes final: {ok}")
        check.close()
        if not ok:
            raise SystemExit(1)
    finally:
        server.send_signal(signal.SIGINT)  # the server drains and closes its data directory
        try:
            server.wait(30)
        except subprocess.TimeoutExpired:
            server.kill()


if __name__ == "__main__":
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    main()
