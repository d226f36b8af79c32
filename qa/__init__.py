"""archive QA: ask questions about a Chinese newspaper archive, get cited passages.

The names below are imported on first use (PEP 562), so `import qa.cli` for `qa --help`
does not load numpy and FAISS; `from qa import Archive` works as before.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .archive import Archive, ArchiveInfo
    from .errors import (
        ArchiveClosedError,
        ArchiveCorruptError,
        BadInputError,
        BadQueryError,
        EmptyQueryError,
        ModelMismatchError,
        NotFoundError,
        PipelineMismatchError,
        QAError,
    )
    from .records import Answer, Article, ArticleRecord, Citation, Hit, IngestFailure, IngestReport, Passage

_HOMES = {
    "Archive": "archive", "ArchiveInfo": "archive",
    "Answer": "records", "Article": "records", "ArticleRecord": "records", "Citation": "records", "Hit": "records",
    "IngestFailure": "records", "IngestReport": "records", "Passage": "records",
    **{name: "errors" for name in ("ArchiveClosedError", "ArchiveCorruptError", "BadInputError", "BadQueryError", "EmptyQueryError", "ModelMismatchError", "NotFoundError", "PipelineMismatchError", "QAError")},
}

__all__ = [
    "Archive",
    "ArchiveInfo",
    "Answer",
    "Article",
    "ArticleRecord",
    "Citation",
    "Hit",
    "IngestFailure",
    "IngestReport",
    "Passage",
    "QAError",
    "ArchiveClosedError",
    "ArchiveCorruptError",
    "BadInputError",
    "BadQueryError",
    "EmptyQueryError",
    "ModelMismatchError",
    "NotFoundError",
    "PipelineMismatchError",
]
__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    if name in _HOMES:
        value = getattr(import_module(f".{_HOMES[name]}", __name__), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
