"""Sharded ingest into one Milvus (issue 11, item 2), through the real command: a
`milvus-lite server` on 127.0.0.1, two `qa ingest --backend milvus --uri http://127.0.0.1:PORT`
processes on disjoint shard files (article index mod 2) of a real corpus, one of them
SIGKILLed mid-way (`QA_CRASH_AT=milvus-chunks-written#2`: the worst window, a batch's chunks
inserted and its article rows, the commit marks, not yet) and run again; then every article
must be there exactly once: article count, chunk ids unique and exactly the expected
deterministic ones, no orphan chunks, every content hash final, and the seed-style question
answered through the server.

    python benchmarks/milvus_shards.py [--corpus ../shared/eval/cmrc2018_trial.corpus.jsonl]
        [--limit 300] [--batch 32] [--work DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from qa.archive import content_hash  # noqa: E402
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


def write_shards(corpus: str, limit: int, work: Path, shards: int = 2) -> list[Path]:
    """The first `limit` lines of `corpus` split into `shards` files by line index mod
    shards (as several machines would each get their part)."""
    lines = [line for line in Path(corpus).read_text(encoding="utf-8").splitlines() if line.strip()][:limit]
    paths = []
    for k in range(shards):
        p = work / f"shard-{k}.jsonl"
        p.write_text("".join(line + "\n" for i, line in enumerate(lines) if i % shards == k), encoding="utf-8")
        paths.append(p)
    return paths


def records(paths: list[Path]) -> list[ArticleRecord]:
    return [r for r in read_inputs([str(p) for p in paths]) if isinstance(r, ArticleRecord)]


def run_worker(args, uri: str, shard_file: Path, log: Path, crash_at: str | None = None) -> subprocess.Popen:
    """`qa ingest SHARD --backend milvus --uri URI` in its own process."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    env.pop("QA_CRASH_AT", None)
    if crash_at:
        env["QA_CRASH_AT"] = crash_at
    cmd = [sys.executable, "-m", "qa.cli", "ingest", str(shard_file), "--backend", "milvus", "--uri", uri,
           "--batch-chunks", str(args.batch)]
    return subprocess.Popen(cmd, env=env, stdout=open(log, "a"), stderr=subprocess.STDOUT)


def tail(log: Path) -> str:
    lines = [x for x in log.read_text(errors="replace").replace("\r", "\n").splitlines() if x.strip()]
    return lines[-1] if lines else ""


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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--corpus", default=str(DEFAULT_CORPUS))
    ap.add_argument("--limit", type=int, default=300, help="articles of the corpus to ingest")
    ap.add_argument("--batch", type=int, default=32, help="chunks per write batch (qa ingest --batch-chunks)")
    ap.add_argument("--work", help="directory for the server's data and the shard files (default: a temporary one)")
    args = ap.parse_args()

    work = Path(args.work or tempfile.mkdtemp(prefix="milvus-shards-"))
    work.mkdir(parents=True, exist_ok=True)
    shard_files = write_shards(args.corpus, args.limit, work)
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
        logs = [work / "shard-0.log", work / "shard-1.log"]
        t = time.perf_counter()
        # shard 0 is SIGKILLed after its 2nd batch's chunks are inserted, before their
        # article rows: the worst moment (chunks without an article)
        w0 = run_worker(args, uri, shard_files[0], logs[0], crash_at="milvus-chunks-written#2")
        w1 = run_worker(args, uri, shard_files[1], logs[1])
        rc0, rc1 = w0.wait(), w1.wait()
        print(f"round 1: shard 0 exited {rc0} (-9 = SIGKILL), shard 1 exited {rc1} ({tail(logs[1])}), "
              f"{time.perf_counter() - t:.1f} s  load {load()}")
        assert rc0 == -signal.SIGKILL and rc1 == 0, (rc0, rc1)

        from qa.backends.milvus import MilvusBackend, chunk_id

        check = MilvusBackend(uri)
        print(f"after the kill: {check.counts()}, check: {check.check()}")
        t = time.perf_counter()
        rc = run_worker(args, uri, shard_files[0], logs[0]).wait()
        print(f"round 2: shard 0 re-run exited {rc} ({tail(logs[0])}), {time.perf_counter() - t:.1f} s  load {load()}")
        assert rc == 0

        # -- every article exactly once ---------------------------------------------------
        recs = records(shard_files)
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
        # -- and answered through the server by the same command ------------------------
        first = records(shard_files[:1])[0]
        question = first.title or first.text[:20]
        t = time.perf_counter()
        out = subprocess.run([sys.executable, "-m", "qa.cli", "search", question, "--k", "1", "--json",
                              "--backend", "milvus", "--uri", uri], capture_output=True, text=True,
                             env=dict(os.environ, PYTHONPATH=str(ROOT)))
        top = json.loads(out.stdout)[0]["article_id"] if out.returncode == 0 and out.stdout.strip() else out.stderr
        print(f"qa search {question!r} through the server: top {top} (want {first.id}), "
              f"{time.perf_counter() - t:.1f} s with start-up")
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
