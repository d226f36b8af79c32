"""Advisory file locks on lock files inside the archive directory.

`archive.lock` is held by the one process writing the archive (ingest, remove, reembed,
reindex): a second writer waits, saying after a moment which process it waits for.
`vectors.lock` is held briefly while `vectors.faiss` and its sidecar are written, so two
processes saving never interleave the two files.

Locks use `fcntl.flock` (Linux, macOS, BSD): the kernel releases them when the holder
exits or is killed, so a crash never leaves a stale lock. Where `fcntl` does not exist
(Windows) locking is skipped with one warning: writers are then serialised per batch by
SQLite only (each stays consistent, two ingests interleave their batches), and a torn
FAISS save is caught by its checksum and rebuilt.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

try:
    import fcntl
except ImportError:  # Windows
    fcntl = None  # type: ignore[assignment]

logger = logging.getLogger(__name__)

_warned = threading.Event()


def _holder(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8").strip()
    except OSError:
        return "another process"
    return text or "another process"


@contextmanager
def file_lock(
    path: Path, *, what: str = "", wait: bool = True, notice_after: float = 1.0,
    notice: Callable[[str], None] | None = None,
) -> Iterator[bool]:
    """Hold an exclusive lock on `path` (created if missing) inside the block; yields
    whether it is held (always True when `wait`; without fcntl, True without a lock).

    If another process holds it and `wait`, wait; after `notice_after` seconds call
    `notice` (default: a log warning) once with a message naming the holder. `what` is
    written into the file while held (e.g. "pid 123 (qa ingest)"), for that message.
    """
    if fcntl is None:
        if not _warned.is_set():
            _warned.set()
            logger.warning("file locking is not available on this platform; concurrent writers are not serialised")
        yield True
        return
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not wait:
                yield False
                return
            deadline = time.monotonic() + notice_after
            while True:
                time.sleep(0.05)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                    break
                except BlockingIOError:
                    if time.monotonic() >= deadline:
                        msg = f"{path.parent} is being written by {_holder(path)}; waiting for it to finish"
                        (notice or logger.warning)(msg)
                        fcntl.flock(fd, fcntl.LOCK_EX)
                        break
        if what:
            os.ftruncate(fd, 0)
            os.pwrite(fd, what.encode("utf-8", "replace"), 0)
        try:
            yield True
        finally:
            if what:
                os.ftruncate(fd, 0)
            fcntl.flock(fd, fcntl.LOCK_UN)
    finally:
        os.close(fd)
