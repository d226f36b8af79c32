"""`Archive.ask` latency, one question at a time, after a warm-up (model and index loaded).

    PYTHONPATH=<checkout> python benchmarks/ask_latency.py ARCHIVE_DIR QUESTIONS.jsonl [--rounds 2]

Run it with two checkouts in turn (PYTHONPATH) to compare code versions in the same session;
the load average is printed with each result, since the machine is shared.
"""

from __future__ import annotations

import argparse
import json
import os
import time

from qa.archive import Archive
from qa.eval import percentile


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("archive")
    p.add_argument("questions")
    p.add_argument("--rounds", type=int, default=2)
    args = p.parse_args()
    qs = [json.loads(x)["question"] for x in open(args.questions, encoding="utf-8") if x.strip()]
    with Archive.open(args.archive, create=False) as a:
        a.ask(qs[0])  # warm-up: model, index, segmenter
        ms = []
        for _ in range(args.rounds):
            for q in qs:
                t = time.perf_counter()
                a.ask(q)
                ms.append((time.perf_counter() - t) * 1000)
    load = " ".join(f"{x:.2f}" for x in os.getloadavg())
    print(f"ask p50 {percentile(ms, 50):.1f} ms, p95 {percentile(ms, 95):.1f} ms over {len(ms)} asks; load {load}")


if __name__ == "__main__":
    main()
