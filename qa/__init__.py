"""archive QA: ask questions about a Chinese newspaper archive, get cited passages."""

from .archive import Archive, ArchiveInfo
from .errors import (
    ArchiveClosedError,
    ArchiveCorruptError,
    BadInputError,
    EmptyQueryError,
    ModelMismatchError,
    NotFoundError,
    PipelineMismatchError,
    QAError,
)
from .records import Answer, Article, ArticleRecord, Citation, Hit, IngestFailure, IngestReport, Passage

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
    "EmptyQueryError",
    "ModelMismatchError",
    "NotFoundError",
    "PipelineMismatchError",
]
__version__ = "0.1.0"
