"""Files uploaded in the web chat: checked, renamed safely, kept inside the archive.

An upload's name comes from the browser and is untrusted: "../../etc/passwd",
"C:\\x\\page.txt", "<img onerror=…>.jsonl" or a name that is a symlink already in the
uploads folder. Uploads are copied to `<archive>/uploads/<content key>/<sanitised path>`,
written to a temporary file there and renamed into place (so an existing symlink is
replaced, never followed), and refused when their type (`qa.ingest.FILE_TYPES`) or size
is not supported.

The content key (letters only, from the file's SHA-256) keeps two different files of one
name (two `articles.jsonl`) apart instead of the second overwriting the first, while the
same file uploaded again lands on the same path (its articles come out unchanged). The
directories of a relative name (`焦作日报/2022/03/15/03.txt`) are kept, sanitised, because
the page reader takes date, page and source from them; the key has no digits, so it is
never read as a date or page. Undated pages, whose article ids come from the file name,
get the key as a name prefix when another upload of that name is stored already.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Sequence
from pathlib import Path

from .ingest import FILE_TYPES, supported_types_text
from .records import IngestFailure

__all__ = ["UPLOAD_SUFFIXES", "UPLOADS_DIR", "safe_name", "safe_relpath", "store_uploads"]

UPLOAD_SUFFIXES = tuple(FILE_TYPES)
UPLOADS_DIR = "uploads"
MAX_NAME_CHARS = 120
MAX_DIR_DEPTH = 6


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


def safe_relpath(name: str) -> Path:
    """`safe_name` for every component of a relative name: `焦作日报/2022/03/15/03.txt`
    keeps its folders (the page reader's date, page and source), `..` and empty parts go."""
    parts = unicodedata.normalize("NFKC", str(name)).replace("\\", "/").split("/")
    dirs = [d for d in (safe_name(p) for p in parts[:-1] if p.strip(" .")) if d != "upload"]
    return Path(*dirs[-MAX_DIR_DEPTH:], safe_name(parts[-1]))


def content_key(path: Path) -> str:
    """16 letters a-p from the file's SHA-256: no digits, so never a date or page number."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return "".join(chr(ord("a") + int(c, 16)) for c in h.hexdigest()[:16])


def _undated_page_name(uploads: Path, key: str, rel: Path) -> Path | None:
    """Where an undated page goes when another upload of the same name is stored already.

    Page article ids come from date and page, or for an undated page from its file name
    (`nodate-<name>-NN`): a second, different undated `page.txt` would take over the first
    one's articles. It gets the content key as a name prefix instead (`<key>-page.txt`: a
    prefix, so a page number at the end of the name still counts). None: keep the name."""
    from .page import date_from_path

    if FILE_TYPES.get(rel.suffix.lower(), ("", ""))[0] != "page" or date_from_path([*rel.parent.parts, rel.stem])[0]:
        return None
    prefixed = uploads / key / rel.parent / f"{key[:8]}-{rel.name}"
    if prefixed.exists():
        return prefixed
    if (uploads / key / rel).exists():
        return None
    taken = any((d / rel).exists() for d in uploads.iterdir() if d.is_dir() and d.name != key)
    return prefixed if taken else None


def _mb(n: int, other: int) -> str:
    """`n` bytes in MB, with as many decimals as it takes to differ from `other`."""
    for digits in range(0, 7):
        shown = f"{n / 1e6:.{digits}f}"
        if shown != f"{other / 1e6:.{digits}f}":
            return shown.rstrip("0").rstrip(".") if "." in shown else shown
    return f"{n:,} bytes"


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
        rel = safe_relpath(shown)
        suffix = rel.suffix.lower()
        if suffix not in UPLOAD_SUFFIXES:
            failed.append(IngestFailure(shown, f"unsupported file type {suffix or '(none)'}; "
                                               f"supported: {supported_types_text()}"))
            continue
        try:
            size = src.stat().st_size
        except OSError as e:
            failed.append(IngestFailure(shown, f"upload could not be read: {e.strerror or e}"))
            continue
        if size > max_bytes:
            failed.append(IngestFailure(shown, f"file is {_mb(size, max_bytes)} MB; the limit is {_mb(max_bytes, size)} MB"))
            continue
        if size == 0:
            failed.append(IngestFailure(shown, "empty file"))
            continue
        try:
            key = content_key(src)
            key_dir = dest_dir / key
            dest = _undated_page_name(dest_dir, key, rel) or key_dir / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            failed.append(IngestFailure(shown, f"could not be stored: {e.strerror or e}"))
            continue
        if not dest.parent.resolve().is_relative_to(key_dir.resolve()):
            failed.append(IngestFailure(shown, "refused: the name would leave the uploads folder"))
            continue
        fd, tmp = tempfile.mkstemp(dir=dest.parent, prefix=".upload-", suffix=suffix)
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
