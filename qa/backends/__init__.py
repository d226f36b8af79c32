"""Index backends: where an archive's articles, chunks, vectors and keyword terms live.

The pipeline (chunking, embedding, fusion, highlighting, abstention, citations: `qa.archive`,
`qa.retrieve`, `qa.answer`) is the same on every backend; a backend stores what the pipeline
prepared and answers its two searches (dense top-k, keyword top-k, each with scores and the
same `Filters`) plus the scores of given chunks, which fusion needs. Two exist:

- "local" (`qa.backends.local`): one directory with a SQLite database (articles, chunks,
  FTS5 keyword index) and a FAISS file. The default.
- "milvus" (`qa.backends.milvus`): Milvus collections, through pymilvus (an embedded
  milvus-lite file, or a server or cluster by URI).

Backends are imported on first use, so the local one never imports pymilvus.
"""

from __future__ import annotations

import abc
import contextlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from importlib import import_module
from typing import Any, ClassVar

import numpy as np

from ..filters import Filters
from ..records import Article
from ..store import ChunkRow, PreparedArticle, WriteResult

__all__ = ["BACKENDS", "IndexBackend", "open_backend"]

BACKENDS = ("local", "milvus")
# kind -> (module, class): the class is called with (location, **options)
_CLASSES = {"local": ("qa.backends.local", "LocalBackend"), "milvus": ("qa.backends.milvus", "MilvusBackend")}

ProgressFn = Callable[[int, int], None]


class IndexBackend(abc.ABC):
    """Where an archive's articles, chunks, vectors and keyword terms live, and the two
    searches over them. Chunking, embedding, fusion, highlighting, abstention and citations are
    the pipeline's (qa.archive / qa.retrieve / qa.answer) and the same on every backend."""

    kind: ClassVar[str]  # "local" | "milvus"
    location: str  # the archive directory, or the Milvus URI/file: for messages
    supports_reembed: ClassVar[bool] = False  # see `reembed`

    # settings every process and app server shares (model_id, model_spec, dim, chunk_chars,
    # overlap_sentences, pipeline, created_at, last_ingest_at, ...)
    @abc.abstractmethod
    def get_meta(self, key: str) -> str | None: ...

    @abc.abstractmethod
    def set_meta(self, key: str, value: str) -> None: ...

    # -- writing ----------------------------------------------------------------------------
    @abc.abstractmethod
    def writing(self, wait: bool = True) -> contextlib.AbstractContextManager[bool]:
        """Hold the right to write inside the block; yields False if `wait` is False and
        another writer holds it. Local: `archive.lock` (one writer process at a time, the
        database checked before the first write); milvus: True at once."""

    @abc.abstractmethod
    def write(self, batch: Sequence[PreparedArticle]) -> WriteResult:
        """Write one batch, all-or-nothing as far as the backend allows. `first` parts
        replace a stored article of that id; the hash stays `PARTIAL + hash` until the
        `last` part is written."""

    @abc.abstractmethod
    def remove_many(self, article_ids: Sequence[str], missing_ok: bool = True) -> list[int]:
        """Delete articles and their chunks; returns the removed chunk ids.
        Raises `NotFoundError` for a missing id unless `missing_ok`."""

    @abc.abstractmethod
    def hashes(self, ids: Iterable[str]) -> dict[str, str]:
        """Stored content hashes of those of `ids` that are stored."""

    @abc.abstractmethod
    def stored_vectors(self, article_id: str) -> tuple[str, str, str | None, list[tuple[str, np.ndarray]]]:
        """(title, text, pipeline, [(chunk text, float32 vector)]) of a stored article, so a
        new version of it embeds only changed chunks; ("", "", None, []) when absent."""

    @abc.abstractmethod
    def page_article_ids(self, prefix: str) -> list[str]:
        """Ids of stored page articles and captions of one page (`prefix-03`, `prefix-03-photo-1`)."""

    @abc.abstractmethod
    def pipeline_counts(self) -> dict[str | None, int]:
        """Articles per pipeline id (None: indexed before pipelines were recorded)."""

    @abc.abstractmethod
    def articles_not_at(self, pipeline: str, after: Any, limit: int) -> list[tuple[Any, Article]]:
        """Up to `limit` (cursor, article) pairs after the cursor `after` (None: from the
        start), in a stable order, of articles another pipeline indexed or only partly written."""

    def flush(self) -> None:
        """Make what was written visible to searches at full speed (local: the FAISS index
        brought up to date and saved). Called after an ingest, removal or re-index."""

    def bind_encoder(self, embed: Callable[[list[str]], np.ndarray], dim: Callable[[], int],
                     on_model: Callable[[str], None]) -> None:
        """Give the backend the pipeline's passage encoder (passage texts -> vectors), its
        dimension, and `on_model`, called with the stored vectors' model id when the backend
        notices it (another process may have re-embedded the archive). Only backends that
        embed on their own need these (local: chunks a crash left without a vector);
        default: ignored."""

    def reembed(self, meta: dict[str, str], progress: ProgressFn | None = None,
                cleared: Callable[[], None] | None = None) -> int:
        """Forget every vector and record the new model's `meta` (one step), call
        `cleared`, then embed every chunk again with the bound encoder; returns chunks.
        Only where `supports_reembed`."""
        raise NotImplementedError(
            f"the {self.kind} backend cannot re-embed an archive in place ({self.location}): "
            f"ingest the sources again into a new archive with the new model (qa ingest SOURCES --model MODEL)")

    # -- reading ----------------------------------------------------------------------------
    @abc.abstractmethod
    def get(self, article_id: str) -> Article:
        """The whole stored article; `NotFoundError` if absent."""

    @abc.abstractmethod
    def articles(self, filters: Filters | None = None) -> Iterator[Article]:
        """Every stored article passing `filters`, by date, then id."""

    @abc.abstractmethod
    def facets(self) -> dict[str, Any]:
        """{"date_min", "date_max", "sources", "pages"}: what the filters can choose from."""

    @abc.abstractmethod
    def counts(self) -> dict[str, int]:
        """{"articles", "chunks", "vectors"}."""

    @abc.abstractmethod
    def chunk_count(self) -> int: ...

    @abc.abstractmethod
    def chunk_rows(self, ids: Sequence[int]) -> dict[int, ChunkRow]:
        """Chunks by id with their article's citation fields; absent ids are left out."""

    @abc.abstractmethod
    def keyword_search(self, terms: Sequence[str], n: int, filters: Filters | None = None) -> list[tuple[int, float]]:
        """Top `n` (chunk id, BM25) over the already segmented, normalised query `terms`
        (OR semantics), best first, score > 0, higher is better."""

    @abc.abstractmethod
    def document_frequencies(self, terms: Sequence[str]) -> dict[str, int]:
        """How many chunks hold each term (for IDF weights outside BM25)."""

    @abc.abstractmethod
    def dense_search(self, query: np.ndarray, n: int, filters: Filters | None = None) -> list[tuple[int, float]]:
        """Top `n` (chunk id, inner product) with the (1, dim) float32 `query`, best first,
        respecting `filters` (vectors are L2-normalised: inner product = cosine)."""

    @abc.abstractmethod
    def dense_scores(self, query: np.ndarray, ids: Sequence[int]) -> dict[int, float]:
        """Inner products of `query` with the stored vectors of `ids` (for fusion: keyword
        candidates the dense side did not propose)."""

    @abc.abstractmethod
    def check(self, full: bool = False) -> list[str]:
        """Problems found (damage, chunks without an article, copies out of step); [] when fine."""

    @abc.abstractmethod
    def storage_bytes(self) -> dict[str, int]:
        """Bytes used, for `qa info`: {"db": ..., "vectors": ...}."""

    @abc.abstractmethod
    def close(self) -> None: ...

    def __enter__(self) -> IndexBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_backend(kind: str, location: str, **options: Any) -> IndexBackend:
    """Open (creating if needed) the `kind` backend at `location`.

    Args:
        kind: one of `BACKENDS`.
        location: local: the archive directory; milvus: a milvus-lite file or a server URI.
        options: the backend's own settings (see its class).

    Raises:
        ValueError: an unknown `kind` (the message lists the known ones).
        ImportError: the backend's package is not installed (the message says what to install).
    """
    if kind not in _CLASSES:
        raise ValueError(f"unknown index backend {kind!r}; choose one of {', '.join(BACKENDS)}")
    module_name, class_name = _CLASSES[kind]
    try:
        module = import_module(module_name)
    except ModuleNotFoundError as e:
        if e.name == module_name:
            raise ValueError(f"the {kind!r} index backend is not part of this installation "
                             f"(no module {module_name}); the local one is") from None
        raise
    return getattr(module, class_name)(location, **options)
