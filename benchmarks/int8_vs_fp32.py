"""How far the int8 encoder is from torch fp32: vectors, rankings, eval figures.

    python benchmarks/int8_vs_fp32.py --fp32 OUT_DIR --int8 OUT_DIR [--fp32 ... --int8 ...]

Each OUT_DIR is the `--out` of a `qa eval --corpus C --model SPEC` run on the same questions
(report.json + questions.jsonl); the archive each report names supplies the chunk vectors.
Prints, per pair: chunk-vector cosine int8 vs fp32 (mean/min, chunks matched by article and
ordinal), the same-top-1 rate (dense and hybrid: same first article), src@1 per mode both
ways. Then (`--batch-texts N`) the batch-composition effect: N chunk texts of the first int8
archive encoded alone vs in batches of 32, cosine mean/min, for int8 and fp32.
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa.archive import DB_NAME  # noqa: E402


def chunk_vectors(archive: Path) -> dict[tuple[str, int], np.ndarray]:
    con = sqlite3.connect(f"file:{archive / DB_NAME}?mode=ro", uri=True)
    try:
        rows = con.execute("SELECT a.id, c.ordinal, c.vector FROM chunks c "
                           "JOIN articles a ON a.rowid = c.article_rowid WHERE c.vector IS NOT NULL").fetchall()
    finally:
        con.close()
    return {(r[0], r[1]): np.frombuffer(r[2], dtype=np.float32) for r in rows}


def chunk_texts(archive: Path, n: int) -> list[str]:
    con = sqlite3.connect(f"file:{archive / DB_NAME}?mode=ro", uri=True)
    try:
        rows = con.execute("SELECT a.title, c.text FROM chunks c JOIN articles a ON a.rowid = c.article_rowid "
                           "ORDER BY c.id LIMIT ?", (n,)).fetchall()
    finally:
        con.close()
    from qa.archive import passage_text

    return [passage_text(t, c) for t, c in rows]


def top1(out: Path) -> dict[str, dict[str, str | None]]:
    res = {}
    for line in (out / "questions.jsonl").read_text(encoding="utf-8").splitlines():
        q = json.loads(line)
        res[q["id"]] = {m: (v["hits"][0]["article_id"] if v.get("hits") else None) for m, v in q["modes"].items()}
    return res


def compare(fp32: Path, int8: Path) -> Path:
    rf = json.loads((fp32 / "report.json").read_text(encoding="utf-8"))
    ri = json.loads((int8 / "report.json").read_text(encoding="utf-8"))
    print(f"\n== {Path(rf['corpus_file'] or '?').name}: {rf['n_questions']} questions")
    print(f"   fp32 {rf['model_id']} ({rf['date'][:16]}, load {rf['environment']['loadavg']})")
    print(f"   int8 {ri['model_id']} ({ri['date'][:16]}, load {ri['environment']['loadavg']})")
    vf, vi = chunk_vectors(Path(rf["archive"]["path"])), chunk_vectors(Path(ri["archive"]["path"]))
    keys = sorted(set(vf) & set(vi))
    cos = np.array([float(vf[k] @ vi[k]) for k in keys])
    print(f"   chunk vectors: {len(keys)} matched (of {len(vf)}/{len(vi)}); cosine int8 vs fp32 "
          f"mean {cos.mean():.4f}, min {cos.min():.4f}, p1 {np.percentile(cos, 1):.4f}")
    tf, ti = top1(fp32), top1(int8)
    common = sorted(set(tf) & set(ti))
    for mode in ("dense", "hybrid"):
        same = sum(1 for q in common if tf[q].get(mode) == ti[q].get(mode))
        print(f"   same top-1 article, {mode}: {100 * same / max(len(common), 1):.1f}% of {len(common)}")
    print(f"   {'mode':8s} {'src@1 fp32':>10s} {'src@1 int8':>10s} {'diff':>6s} {'MRR fp32':>9s} {'MRR int8':>9s}")
    for mode in rf["metrics"]:
        a, b = rf["metrics"][mode], ri["metrics"].get(mode, {})
        print(f"   {mode:8s} {a['src_recall@1']:10.1f} {b.get('src_recall@1', float('nan')):10.1f} "
              f"{b.get('src_recall@1', float('nan')) - a['src_recall@1']:+6.1f} {a['mrr@10']:9.2f} "
              f"{b.get('mrr@10', float('nan')):9.2f}")
    return Path(ri["archive"]["path"])


def batch_effect(archive: Path, n: int) -> None:
    from qa.embeddings import load_encoder

    texts = chunk_texts(archive, n)
    print(f"\n== batch composition: {len(texts)} chunk texts, each alone vs in batches of 32")
    for spec in ("default@fp32", "default@int8"):
        enc = load_encoder(spec)
        alone = np.vstack([enc.encode_passages([t]) for t in texts])
        batch = enc.encode_passages(texts, batch_size=32)
        c = (alone * batch).sum(axis=1)
        print(f"   {enc.model_id:52s} cosine mean {c.mean():.5f}, min {c.min():.5f}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--fp32", action="append", type=Path, default=[], help="qa eval --out dir, torch fp32")
    ap.add_argument("--int8", action="append", type=Path, default=[], help="qa eval --out dir, int8 (same order)")
    ap.add_argument("--batch-texts", type=int, default=64, help="texts for the batch-composition check (0: skip)")
    args = ap.parse_args()
    if len(args.fp32) != len(args.int8):
        ap.error("give one --int8 per --fp32")
    archive = None
    for f, i in zip(args.fp32, args.int8):
        archive = compare(f, i)
    if archive is not None and args.batch_texts:
        batch_effect(archive, args.batch_texts)


if __name__ == "__main__":
    main()
