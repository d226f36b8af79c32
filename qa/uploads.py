"""Files uploaded in the web chat: checked, renamed safely, kept inside the archive.

An upload's name comes from the browser and is untrusted: "../../etc/passwd",
"C:\\x\\page.txt", "<img onerror=…>.jsonl" or a name that is a symlink already in the
uploads folder. Uploads are copied into `<archive>/uploads/` under a sanitised base
name, written to a temporary file there and renamed into place (so an existing
symlink is replaced, never followed), and refused when their type or size is not
supported. Keeping them in the archive directory means re-uploading a file updates
the same articles (page ids derive from the path) and the archive stays self-contained.
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Sequence
from pathlib import Path

from .records import IngestFailure

__all__ = ["UPLOAD_SUFFIXES", "UPLOADS_DIR", "safe_name", "store_uploads"]

UPLOAD_SUFFIXES = (".jsonl", ".json", ".txt", ".html", ".htm", ".pdf")
UPLOADS_DIR = "uploads"
MAX_NAME_CHARS = 120


def safe_name(name: str) -> str:
    """A file name that cannot leave its directory: the last path component only (either
    slash), letters/digits (any script), `.`, `-` and `_`; no leading dot; bounded length.
    The suffix is kept (lower-cased) so the reader is chosen by type."""
    base = unicodedata.normalize("NFKC", str(name)).replace("\\", "/").rsplit("/", 1)[-1]
    base = re.sub(r"[^\w.\-]+", "_", base, flags=re.UNICODE).strip("._-")
    stem, dot, suffix = base.rpartition(".")
    if not dot:
        stem, suffix = base, ""
    stem = re.sub(r"\.+", ".", stem).strip("._-") or "upload"
    suffix = suffix.lower()
    stem = stem[: MAX_NAME_CHARS - len(suffix) - 1]
    return f"{stem}.{suffix}" if suffix else stem


def store_uploads(
    files: Sequence[str | os.PathLike[str]],
    archive_dir: str | os.PathLike[str],
    max_bytes: int,
    names: Sequence[str] | None = None,
) -> tuple[list[Path], list[IngestFailure]]:
    """Copy uploaded files into `<archive_dir>/uploads/`; returns (stored paths, refusals).

    Args:
        files: the uploaded files (temporary paths the web framework saved them to).
        archive_dir: the archive directory.
        max_bytes: the largest file accepted.
        names: the names the user gave the files (default: the temporary files' names).
    """
    dest_dir = Path(archive_dir).resolve() / UPLOADS_DIR
    dest_dir.mkdir(parents=True, exist_ok=True)
    stored: list[Path] = []
    failed: list[IngestFailure] = []
    for i, f in enumerate(files):
        src = Path(f)
        shown = (names[i] if names and i < len(names) else None) or src.name
        name = safe_name(shown)
        suffix = Path(name).suffix.lower()
        if suffix not in UPLOAD_SUFFIXES:
            failed.append(IngestFailure(shown, f"unsupported file type {suffix or '(none)'}; "
                                               f"supported: {' '.join(UPLOAD_SUFFIXES)}"))
            continue
        try:
            size = src.stat().st_size
        except OSError as e:
            failed.append(IngestFailure(shown, f"upload could not be read: {e.strerror or e}"))
            continue
        if size > max_bytes:
            failed.append(IngestFailure(shown, f"file is {size / 1e6:.1f} MB; the limit is {max_bytes / 1e6:.0f} MB"))
            continue
        if size == 0:
            failed.append(IngestFailure(shown, "empty file"))
            continue
        dest = dest_dir / name
        if dest.resolve().parent != dest_dir and not dest.is_symlink():
            failed.append(IngestFailure(shown, "refused: the name would leave the uploads folder"))
            continue
        fd, tmp = tempfile.mkstemp(dir=dest_dir, prefix=".upload-", suffix=suffix)
        try:
            with os.fdopen(fd, "wb") as out, open(src, "rb") as inp:
                shutil.copyfileobj(inp, out)
            os.replace(tmp, dest)  # replaces a symlink at `dest` instead of writing through it
        except OSError as e:
            Path(tmp).unlink(missing_ok=True)
            failed.append(IngestFailure(shown, f"could not be stored: {e.strerror or e}"))
            continue
        stored.append(dest)
    return stored, failed
