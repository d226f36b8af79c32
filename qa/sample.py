"""The bundled sample archive: a real city-daily page plus 567 news releases.

A new user's first `python app.py` must reach a usable chat within a minute, so the
sample's index ships precomputed in `qa/data/sample_archive/` (package data, so an
installed wheel has it too). It is copied into place only
when its recorded model id matches the model in use; otherwise (another model) the sample
is ingested afresh, with progress.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from .archive import DB_NAME, VECTORS_NAME, Archive, ProgressFn

logger = logging.getLogger(__name__)

DATA = Path(__file__).resolve().parent / "data"
SAMPLE_DATA = DATA / "sample"
PREBUILT = DATA / "sample_archive"


def prebuilt_model_id() -> str | None:
    """The model id recorded in the shipped index, or None if there is none."""
    import sqlite3

    db = PREBUILT / DB_NAME
    if not db.exists():
        return None
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        row = con.execute("SELECT value FROM meta WHERE key = 'model_id'").fetchone()
    finally:
        con.close()
    return row[0] if row else None


def default_model_id(model: str | None) -> str | None:
    """The id `model` would get, without loading it (None when that needs loading)."""
    from .embeddings import DEFAULT_MODEL, DEFAULT_MODEL_ID

    return DEFAULT_MODEL_ID if model in (None, "", "default", DEFAULT_MODEL) else None


def ensure_sample_archive(path: str | Path, model: str | None = None, progress: ProgressFn | None = None) -> Archive:
    """Open the sample archive at `path`, creating it from the shipped index (fast) or by
    ingesting `qa/data/sample/` (slow, only for another model). Re-running is cheap: the
    sample is re-ingested, which is a no-op for unchanged articles."""
    path = Path(path)
    if not (path / DB_NAME).exists():
        want = default_model_id(model)
        if want and want == prebuilt_model_id():
            path.mkdir(parents=True, exist_ok=True)
            tmp = path / (DB_NAME + ".copying")
            shutil.copyfile(PREBUILT / DB_NAME, tmp)
            for name in (VECTORS_NAME, VECTORS_NAME + ".json"):
                if (PREBUILT / name).exists():
                    shutil.copyfile(PREBUILT / name, path / name)
            tmp.rename(path / DB_NAME)
            logger.info("sample archive copied to %s (precomputed index, model %s)", path, want)
        else:
            logger.info("building the sample archive at %s (model %s)", path, model or "default")
    archive = Archive.open(path, model=model)
    report = archive.ingest([SAMPLE_DATA], progress=progress)
    if report.failed:
        logger.warning("sample ingest: %s", "; ".join(map(str, report.failed)))
    return archive
