"""Index backends: where an archive's articles, chunks, vectors and keyword terms live.

Minimal copy of the interface in BACKEND_SPEC.md (issue 11), so the Milvus backend runs
before the merge; the integrator keeps backend-local's version of this file.
"""

from __future__ import annotations

import abc
import contextlib
from importlib import import_module
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, ClassVar

import numpy as np

from ..records import Article
from ..store import ChunkRow, Filters, PreparedArticle, WriteResult

BACKENDS = ("local", "milvus")
_CLASSES = {"local": ("qa.backends.local", "LocalBackend"), "milvus": ("qa.backends.milvus", "MilvusBackend")}


class IndexBackend(abc.ABC):
    """Where an archive's articles, chunks, vectors and keyword terms live, and the two
    searches over them. Chunking, embedding, fusion, highlighting, abstention and citations are
    the pipeline's (qa.archive / qa.retrieve / qa.answer) and the same on every backend."""

    kind: ClassVar[str]
    location: str

    @abc.abstractmethod
    def get_meta(self, key: str) -> str | None: ...
    @abc.abstractmethod
    def set_meta(self, key: str, value: str) -> None: ...

    @abc.abstractmethod
    def writing(self, wait: bool = True) -> contextlib.AbstractContextManager[bool]: ...
    @abc.abstractmethod
    def write(self, batch: Sequence[PreparedArticle]) -> WriteResult: ...
    @abc.abstractmethod
    def remove_many(self, article_ids: Sequence[str], missing_ok: bool = True) -> list[int]: ...
    @abc.abstractmethod
    def hashes(self, ids: Iterable[str]) -> dict[str, str]: ...
    @abc.abstractmethod
    def stored_vectors(self, article_id: str) -> tuple[str, str, str | None, list[tuple[str, np.ndarray]]]: ...
    @abc.abstractmethod
    def page_article_ids(self, prefix: str) -> list[str]: ...
    @abc.abstractmethod
    def pipeline_counts(self) -> dict[str | None, int]: ...
    @abc.abstractmethod
    def articles_not_at(self, pipeline: str, after: Any, limit: int) -> list[tuple[Any, Article]]: ...

    def flush(self) -> None:
        """Make what was written visible to searches at full speed (called after an ingest,
        removal or re-index); default: nothing to do."""

    @abc.abstractmethod
    def get(self, article_id: str) -> Article: ...
    @abc.abstractmethod
    def articles(self, filters: Filters | None = None) -> Iterator[Article]: ...
    @abc.abstractmethod
    def facets(self) -> dict[str, Any]: ...
    @abc.abstractmethod
    def counts(self) -> dict[str, int]: ...
    @abc.abstractmethod
    def chunk_count(self) -> int: ...
    @abc.abstractmethod
    def chunk_rows(self, ids: Sequence[int]) -> dict[int, ChunkRow]: ...
    @abc.abstractmethod
    def keyword_search(self, terms: Sequence[str], n: int, filters: Filters | None = None) -> list[tuple[int, float]]: ...
    @abc.abstractmethod
    def document_frequencies(self, terms: Sequence[str]) -> dict[str, int]: ...
    @abc.abstractmethod
    def dense_search(self, query: np.ndarray, n: int, filters: Filters | None = None) -> list[tuple[int, float]]: ...
    @abc.abstractmethod
    def dense_scores(self, query: np.ndarray, ids: Sequence[int]) -> dict[int, float]: ...
    @abc.abstractmethod
    def check(self, full: bool = False) -> list[str]: ...
    @abc.abstractmethod
    def storage_bytes(self) -> dict[str, int]: ...
    @abc.abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> IndexBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_backend(kind: str, location: str, **options: Any) -> IndexBackend:
    """The backend `kind` at `location` (created if needed); its module is imported only
    when asked for, so the local backend never imports pymilvus."""
    if kind not in _CLASSES:
        raise ValueError(f"unknown index backend {kind!r}; choose one of {', '.join(BACKENDS)}")
    module_name, class_name = _CLASSES[kind]
    return getattr(import_module(module_name), class_name)(location, **options)
