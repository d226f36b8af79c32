#!/usr/bin/env python3
"""Rebuild the precomputed sample archive shipped in data/sample_archive/.

Run after changing the sample data, the page parser, chunking or the default model; the
test `test_sample.py::test_shipped_sample_archive_is_current` fails until you do.
"""

from __future__ import annotations

import shutil
import sqlite3
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from qa import Archive  # noqa: E402
from qa.archive import DB_NAME, VECTORS_NAME  # noqa: E402
from qa.sample import PREBUILT, SAMPLE_DATA  # noqa: E402


def main() -> None:
    from tqdm import tqdm

    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp) / "sample"
        bar = tqdm(unit="article")

        def progress(done: int, total: int) -> None:
            bar.total, bar.n = total, done
            bar.refresh()

        with Archive.open(work) as archive:
            report = archive.ingest([SAMPLE_DATA], progress=progress)
            bar.close()
            print(report.summary())
            for f in report.failed:
                print("failed:", f)
        con = sqlite3.connect(work / DB_NAME)
        con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        con.execute("PRAGMA journal_mode=DELETE")
        con.execute("VACUUM")
        con.close()
        if PREBUILT.exists():
            shutil.rmtree(PREBUILT)
        PREBUILT.mkdir(parents=True)
        for name in (DB_NAME, VECTORS_NAME, VECTORS_NAME + ".json"):
            shutil.copyfile(work / name, PREBUILT / name)
    print("wrote", PREBUILT, sorted(p.name for p in PREBUILT.iterdir()))


if __name__ == "__main__":
    main()
