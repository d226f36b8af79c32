"""archive QA: ask questions about a Chinese newspaper archive, get cited passages."""

from .archive import Archive, ArchiveInfo
from .errors import BadInputError, BadQueryError, EmptyQueryError, ModelMismatchError, NotFoundError, QAError
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
    "BadInputError",
    "BadQueryError",
    "EmptyQueryError",
    "ModelMismatchError",
    "NotFoundError",
]
__version__ = "0.1.0"
