"""Named crash points, for tests that kill a real process at a chosen step.

`QA_CRASH_AT=<step>` (or `<step>#<n>`: the n-th time the step is reached) makes the process
kill itself with SIGKILL there: no `finally`, no atexit, no flush, exactly like `kill -9` or
a power cut from the process's point of view. Unset (always, outside tests) it costs one
dictionary lookup. The steps are listed in `STEPS`; tests/test_crash.py kills at each.
"""

from __future__ import annotations

import os
import signal
from collections import Counter

ENV = "QA_CRASH_AT"
STEPS = (
    "after-commit",  # a batch committed to SQLite, before the in-memory index and FAISS file follow
    "vectors-file-written",  # vectors.faiss replaced, its sidecar not yet
    "reembed-cleared",  # `reembed`: old vectors cleared and the new model recorded, nothing embedded yet
    "reembed-batch",  # `reembed` (or embedding missing vectors): a batch of new vectors committed
    "reindex-batch",  # `reindex`: a batch of re-chunked articles committed
    "write-locked",  # the writer lock is held, nothing written yet
    "keywords-file-written",  # keywords.idx built into its temporary file, not yet renamed into place
    "milvus-chunks-written",  # Milvus backend: a batch's chunks inserted, its article rows (commit marks) not yet
)
_seen: Counter[str] = Counter()


def crash_point(step: str) -> None:
    """Kill this process with SIGKILL if `$QA_CRASH_AT` names `step` (see module docstring)."""
    want = os.environ.get(ENV)
    if not want:
        return
    name, _, nth = want.partition("#")
    if name != step:
        return
    _seen[step] += 1
    if _seen[step] >= int(nth or 1):
        os.kill(os.getpid(), signal.SIGKILL)
