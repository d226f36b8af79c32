#!/usr/bin/env python3
"""Rebuild the precomputed sample archive shipped in qa/data/sample_archive/.

Run after changing the sample data, the page parser, chunking or the default model; the
test `tests/test_sample.py` fails until you do. Incremental: the shipped archive is
updated in a scratch copy (only changed articles are re-embedded, articles no longer in
the sample are removed), compacted, and copied back.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa import Archive  # noqa: E402
from qa.archive import DB_NAME, VECTORS_NAME  # noqa: E402
from qa.sample import DATA, PREBUILT, default_model_id, prebuilt_model_id  # noqa: E402

FILES = (DB_NAME, VECTORS_NAME, VECTORS_NAME + ".json")


def main() -> None:
    import argparse

    from tqdm import tqdm

    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--start-from", type=Path, help="an archive of the sample made with the default model "
                    "(e.g. by `python app.py`) to reuse instead of the shipped one")
    args = ap.parse_args()
    base = args.start_from.resolve() if args.start_from else PREBUILT
    os.chdir(DATA.parent)  # store source paths relative to the package: data/sample/...
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "sample"
        work.mkdir()
        if args.start_from or prebuilt_model_id() == default_model_id(None):
            if (base / DB_NAME).exists():
                src = sqlite3.connect(base / DB_NAME)
                src.backup(dst := sqlite3.connect(work / DB_NAME))  # consistent copy, WAL included
                dst.close()
                src.close()
        bar = tqdm(unit="article")

        def progress(done: int, total: int) -> None:
            bar.total, bar.n = total, done
            bar.refresh()

        from qa.ingest import read_inputs
        from qa.records import ArticleRecord

        items = list(read_inputs(["data/sample"]))  # read once: to ingest and to find stale ids
        records = [i for i in items if isinstance(i, ArticleRecord)]
        with Archive.open(work) as archive:
            report = archive.ingest_records(records, progress=progress)
            bar.close()
            print(report.summary())
            for f in [i for i in items if not isinstance(i, ArticleRecord)] + report.failed:
                print("failed:", f)
            current = {r.id for r in records}
            stale = [a.id for a in archive.articles() if a.id not in current]
            for article_id in stale:
                archive.remove(article_id)
            print(f"removed {len(stale)} articles no longer in the sample")
            with archive.store.db as db:  # source paths relative to the package
                db.execute("UPDATE articles SET source_file = substr(source_file, ?) WHERE source_file LIKE ?",
                           (len(str(DATA.parent)) + 2, str(DATA.parent) + "/%"))
            archive._vector_index()  # make sure the FAISS file matches before copying
            print(archive.info())
        con = sqlite3.connect(work / DB_NAME)
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        con.execute("PRAGMA journal_mode=DELETE")
        con.execute("VACUUM")
        con.close()
        PREBUILT.mkdir(parents=True, exist_ok=True)
        for name in FILES:
            shutil.copyfile(work / name, PREBUILT / name)
    print("wrote", PREBUILT, sorted(p.name for p in PREBUILT.iterdir()))


if __name__ == "__main__":
    main()
