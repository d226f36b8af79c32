"""The local backend: one directory holding a SQLite database and a FAISS file.

`archive.db` (SQLite, the source of truth, see `qa.store`: articles, chunks with their
vectors, the FTS5 keyword index) and `vectors.faiss` (the dense index derived from it, see
`qa.vectors`), with a JSON sidecar saying which state of the database the file holds, and
from `qa.keyword_index.MIN_CHUNKS` chunks on `keywords.idx` (BM25 postings derived from the
FTS5 index, the same scores at a tenth of the cost at 1M chunks; see `qa.keyword_index`).

Several processes may use one archive: one writes at a time (`archive.lock`, see
`qa.locking`; others wait), readers notice the store's generation moving before each
dense search and bring their in-memory index up to date by id difference, and the FAISS
file is only ever written labelled with the generation its index was built at
(under `vectors.lock`).
"""

from __future__ import annotations

import logging
import os
import sqlite3
import sys
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..crashpoints import crash_point
from ..errors import ArchiveCorruptError
from ..filters import Filters
from ..keyword_index import MIN_CHUNKS, KeywordIndex
from ..locking import file_lock
from ..records import Article
from ..store import ChunkRow, PreparedArticle, Store, WriteResult, filters_sql
from ..vectors import VectorIndex
from . import IndexBackend, ProgressFn

__all__ = ["ARCHIVE_FILES", "DB_NAME", "KEYWORDS_NAME", "LOCK_NAME", "VECTORS_LOCK_NAME", "VECTORS_NAME", "LocalBackend",
           "filters_sql"]

logger = logging.getLogger(__name__)

DB_NAME = "archive.db"
VECTORS_NAME = "vectors.faiss"
LOCK_NAME = "archive.lock"  # held by the one process writing (see qa.locking)
VECTORS_LOCK_NAME = "vectors.lock"  # held while vectors.faiss and its sidecar are written
KEYWORDS_NAME = "keywords.idx"  # BM25 postings (qa.keyword_index), from MIN_CHUNKS chunks on
KEYWORDS_LOCK_NAME = "keywords.lock"  # held while keywords.idx is built
# every file an archive directory holds (what deleting an archive removes)
ARCHIVE_FILES = (DB_NAME, DB_NAME + "-wal", DB_NAME + "-shm", VECTORS_NAME, VECTORS_NAME + ".json",
                 LOCK_NAME, VECTORS_LOCK_NAME, KEYWORDS_NAME, KEYWORDS_LOCK_NAME)


def _program() -> str:
    name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "python"
    return f"pid {os.getpid()} ({' '.join([name, *sys.argv[1:2]])})"


def _no_encoder(texts: list[str]) -> np.ndarray:
    raise RuntimeError("the local backend needs an encoder (bind_encoder) to embed chunks without a vector")


class LocalBackend(IndexBackend):
    """SQLite + FTS5 (`qa.store.Store`) and FAISS (`qa.vectors.VectorIndex`) in one directory.

    `lock` guards the in-memory index and the store for the threads of one process; the
    archive built on this backend shares it (`Archive._lock`), so encoder and index never
    wait on each other in opposite orders.
    """

    kind: ClassVar[str] = "local"
    supports_reembed: ClassVar[bool] = True

    def __init__(self, location: str | os.PathLike[str], *, create: bool = True,
                 keyword_index_min_chunks: int = MIN_CHUNKS):
        """`keyword_index_min_chunks`: from this many chunks on, keyword search reads the
        postings file `keywords.idx` (built by writers, or in the background by a reader
        that finds it missing) instead of scoring with FTS5's bm25(); same scores."""
        p = Path(location)
        if not p.exists():
            if not create:
                raise FileNotFoundError(f"no archive at {p} (run `qa ingest PATH --archive {p}` to create one)")
            p.mkdir(parents=True)
        elif not p.is_dir():
            raise NotADirectoryError(f"{p} is a file; an archive is a directory")
        self.path = p
        self.location = str(p)
        self.store: Store = Store(p / DB_NAME)
        self.lock = threading.RLock()
        self._closed = False
        self._embed: Callable[[list[str]], np.ndarray] = _no_encoder
        self._dim: Callable[[], int] = lambda: len(self._embed(["passage"])[0])  # see bind_encoder
        self._on_model: Callable[[str], None] = lambda model_id: None
        self._vectors: VectorIndex | None = None
        self._vectors_gen: int | None = None  # store generation the in-memory index was built at
        self._vectors_epoch: int | None = None
        self._saved_gen: int | None = None  # generation of the file we loaded or last saved
        self._write_lock = threading.RLock()  # this object's writers; `archive.lock` for processes
        self._write_depth = 0
        self._checked = False  # database checked before this object's first write
        self.keyword_index_min_chunks = keyword_index_min_chunks
        self._keywords: KeywordIndex | None = None
        self._keywords_builder: threading.Thread | None = None

    def bind_encoder(self, embed: Callable[[list[str]], np.ndarray], dim: Callable[[], int],
                     on_model: Callable[[str], None]) -> None:
        self._embed, self._dim, self._on_model = embed, dim, on_model

    def close(self) -> None:
        """Save the vector index if it is current and newer than the file, and close the
        database. An index another process has moved past is not saved."""
        with self.lock:
            if self._closed:
                return
            try:
                self._save_vectors()
            finally:
                self.store.close()
                self._closed = True

    # -- meta -------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        return self.store.get_meta(key)

    def set_meta(self, key: str, value: str) -> None:
        self.store.set_meta(key, value)

    # -- writing: one process at a time -----------------------------------------------------
    @contextmanager
    def writing(self, wait: bool = True) -> Iterator[bool]:
        """Hold this archive's writer lock (threads of this object, and `archive.lock` for
        other processes) inside the block; yields False if `wait` is False and it is busy.
        The database is checked once before this object first writes to it."""
        if not self._write_lock.acquire(blocking=wait):
            yield False
            return
        try:
            if self._write_depth:
                self._write_depth += 1
                try:
                    yield True
                finally:
                    self._write_depth -= 1
                return
            try:
                lock = file_lock(self.path / LOCK_NAME, what=_program(), wait=wait)
                held = lock.__enter__()
            except OSError as e:
                if not wait:
                    yield False
                    return
                raise OSError(f"cannot lock {self.path / LOCK_NAME} for writing: {e.strerror or e}") from e
            try:
                if not held:
                    yield False
                    return
                self._write_depth = 1
                crash_point("write-locked")
                if not self._checked:
                    problems = [line for p in self.store.check() for line in p.splitlines()
                                if line.strip() and not line.startswith("***")]
                    if problems:
                        raise ArchiveCorruptError(
                            f"{self.path / DB_NAME}: the archive database is damaged ({problems[0]}; "
                            f"{len(problems)} problems found by `PRAGMA quick_check`); nothing was changed. Restore a "
                            f"backup, or build a new archive from the source files (qa ingest SOURCES --archive NEW_DIR)")
                    self._checked = True
                yield True
            finally:
                self._write_depth = 0
                lock.__exit__(None, None, None)
        finally:
            self._write_lock.release()

    def write(self, batch: Sequence[PreparedArticle]) -> WriteResult:
        """Commit `batch` in one transaction. The in-memory index follows the commit when it
        was current before it; otherwise its next use brings it up to date."""
        with self.lock:
            res = self.store.write(batch)
            crash_point("after-commit")
            if self._vectors is not None and res.generation_before == self._vectors_gen:
                self._vectors.remove(res.removed)
                if res.new_ids:
                    self._vectors.add(res.new_ids, np.concatenate([np.asarray(a.vectors, np.float32) for a in batch]))
                self._vectors_gen = res.generation
        return res

    def remove_many(self, article_ids: Sequence[str], missing_ok: bool = True) -> list[int]:
        with self.lock:
            return self.store.remove_many(article_ids, missing_ok=missing_ok)

    def flush(self) -> None:
        """Bring the FAISS index up to date with the store and save it, when the archive has
        vectors (or an index, in memory or on disk, that may now hold removed chunks)."""
        with self.lock:
            if self._vectors is not None or (self.path / VECTORS_NAME).exists() or self.store.get_meta("dim"):
                self.vector_index()
        self.refresh_keyword_index()

    def hashes(self, ids: Iterable[str]) -> dict[str, str]:
        return self.store.hashes(ids)

    def stored_vectors(self, article_id: str) -> tuple[str, str, str | None, list[tuple[str, np.ndarray]]]:
        title, text, pipeline, rows = self.store.chunk_vectors_of(article_id)
        return title, text, pipeline, [(chunk, np.frombuffer(vec, dtype=np.float32)) for chunk, vec in rows]

    def page_article_ids(self, prefix: str) -> list[str]:
        return self.store.page_article_ids(prefix)

    def pipeline_counts(self) -> dict[str | None, int]:
        return self.store.pipeline_counts()

    def articles_not_at(self, pipeline: str, after: Any, limit: int) -> list[tuple[Any, Article]]:
        """Cursor: the article's rowid."""
        return self.store.articles_not_at(pipeline, after or 0, limit)

    # -- vectors: the FAISS index derived from the store ------------------------------------
    def vector_index(self, dim: int | None = None) -> VectorIndex:
        """The FAISS index, current with the store: loaded from the file (or rebuilt from
        the store) on first use, and brought up to date whenever the store's generation
        moved, by this process or another, so a long-running reader sees new articles.
        The check is one read of the `meta` table per call. `dim`: the vectors' dimension
        when the archive has not recorded one yet (else the bound encoder's)."""
        with self.lock:
            store = self.store
            if self._vectors is not None and store.generation == self._vectors_gen:
                return self._vectors
            if store.has_missing_vectors():
                with self.writing(wait=False) as writable:
                    if writable:
                        self._embed_missing()
                    else:
                        logger.info("another process is writing %s; chunks without a vector are left out of "
                                    "dense search until it is done", self.path)
            self._sync_vectors(dim)
            # a writer saves what it wrote; a reader saves only an index it had to rebuild
            # (no usable file), not after catching up with another process's batch: that
            # would rewrite the whole file on a question's path once per foreign batch
            if self._write_depth or self._saved_gen is None:
                self._save_vectors()
            assert self._vectors is not None
            return self._vectors

    def _sync_vectors(self, dim_hint: int | None = None) -> None:
        """Bring the in-memory index to the store's current state: start from the FAISS
        file (if intact and of this model and vector epoch) or empty, then remove the ids
        the store no longer has and add the ones it has in addition. A chunk's vector never
        changes in place (changed text gets a new chunk id; re-embedding clears all
        vectors and bumps the epoch), so equal ids mean equal vectors."""
        store = self.store
        dim = int(store.get_meta("dim") or 0) or dim_hint or self._dim()
        for _ in range(3):
            model_id, epoch = store.get_meta("model_id") or "", store.vector_epoch
            vi = self._vectors
            if vi is None or self._vectors_epoch != epoch or vi.dim != dim:
                loaded = VectorIndex.load(self.path / VECTORS_NAME, dim, model_id, epoch)
                if loaded is not None and loaded.generation <= store.generation:
                    vi, self._saved_gen = loaded.index, loaded.generation
                else:
                    vi, self._saved_gen = VectorIndex(dim), None
            have = vi.ids()
            if len(np.unique(have)) != len(have):
                logger.warning("vector index of %s holds duplicate ids; rebuilding from the store", self.path)
                vi, have, self._saved_gen = VectorIndex(dim), np.zeros(0, np.int64), None
            snap = store.vector_snapshot(have)
            if (snap.epoch, snap.model_id) != (epoch, model_id):
                continue  # re-embedded meanwhile: start again from the new epoch
            vi.remove(np.setdiff1d(have, snap.ids, assume_unique=True))
            if len(snap.added_ids):
                vi.add(snap.added_ids, snap.added_vectors)
            if model_id:
                self._on_model(model_id)  # the archive drops an encoder of another model (re-embedded elsewhere)
            self._vectors, self._vectors_gen, self._vectors_epoch = vi, snap.generation, snap.epoch
            return
        raise RuntimeError(f"{self.path}: vectors keep changing under this reader (a re-embed is running); try again")

    def _embed_missing(self, progress: ProgressFn | None = None, batch: int = 256) -> int:
        """Embed chunks that have no vector (after a crash or a model change)."""
        from ..archive import passage_text  # the pipeline's recipe; imported here: archive imports backends

        rows = self.store.chunks_missing_vectors()
        if rows:
            logger.info("embedding %d chunks that have no vector yet", len(rows))
        for i in range(0, len(rows), batch):
            part = rows[i : i + batch]
            vecs = self._embed([passage_text(t, c, a) for _, t, c, a in part])
            self.store.set_vectors([r[0] for r in part], vecs)
            crash_point("reembed-batch")
            if progress:
                progress(min(i + batch, len(rows)), len(rows))
        return len(rows)

    def _save_vectors(self) -> None:
        """Write the in-memory index to `vectors.faiss`, labelled with the generation it
        was built at, if it is still the store's current state and newer than the file;
        under `vectors.lock`, so two processes never interleave their files."""
        if self._vectors is None or self._closed or self._vectors_gen is None:
            return
        if self._saved_gen == self._vectors_gen or self.store.generation != self._vectors_gen:
            return  # saved already, or stale: another process moved on (it or the next opener saves)
        path = self.path / VECTORS_NAME
        try:
            with file_lock(self.path / VECTORS_LOCK_NAME):
                side = VectorIndex.read_sidecar(path)
                newer = side is not None and isinstance(side.get("generation"), int) \
                    and side["generation"] > self._vectors_gen and side.get("epoch", 0) == self._vectors_epoch
                if not newer:
                    self._vectors.save(path, self._vectors_gen, self.store.get_meta("model_id") or "",
                                       self._vectors_epoch or 0)
        except OSError as e:
            logger.warning("could not save %s (%s); it is rebuilt from the store when needed", path, e)
            return
        self._saved_gen = self._vectors_gen

    def reembed(self, meta: dict[str, str], progress: ProgressFn | None = None,
                cleared: Callable[[], None] | None = None) -> int:
        """Resumable: an interrupted run leaves chunks without vectors, embedded (with the new
        model, recorded in the same transaction that cleared the old vectors) on next use."""
        with self.writing():
            with self.lock:
                self.store.clear_vectors(meta)
                self._vectors = None
                if cleared:
                    cleared()
            crash_point("reembed-cleared")
            n = self._embed_missing(progress)
            self.vector_index()
        return n

    # -- reading ----------------------------------------------------------------------------
    def get(self, article_id: str) -> Article:
        return self.store.get(article_id)

    def articles(self, filters: Filters | None = None) -> Iterator[Article]:
        return self.store.articles(filters)

    def facets(self) -> dict[str, Any]:
        return self.store.facets()

    def counts(self) -> dict[str, int]:
        return self.store.counts()

    def chunk_count(self) -> int:
        return self.store.chunk_count()

    def chunk_rows(self, ids: Sequence[int]) -> dict[int, ChunkRow]:
        return self.store.chunk_rows(ids)

    def keyword_search(self, terms: Sequence[str], n: int, filters: Filters | None = None) -> list[tuple[int, float]]:
        """From the postings file when there is one (see `keyword_index`), else FTS5: the same
        scores either way."""
        with self.lock:
            kw = self.keyword_index()
            if kw is not None:
                allowed = None if filters is None or filters.is_empty() else self.store.chunk_ids(filters)
                hits = kw.search(self.store, terms, n, allowed)
                if hits is not None:
                    return hits
        return self.store.keyword_search(terms, n, filters)

    # -- keywords: the postings file derived from FTS5 --------------------------------------
    def keyword_index(self) -> KeywordIndex | None:
        """The postings file, when the archive has `keyword_index_min_chunks` chunks: loaded
        once and again after another process replaced it. When it is missing, a background
        thread builds it (minutes at 1M chunks) and FTS5 answers meanwhile."""
        if self.store.chunk_count_estimate() < self.keyword_index_min_chunks:
            return None
        kw = self._loaded_keywords()
        if kw is None:
            self._build_keywords_in_background()
        return kw

    def _loaded_keywords(self) -> KeywordIndex | None:
        """The file as this object holds it, loaded again (and its checksum read) only when
        it is new or another process replaced it; None when missing or unusable."""
        try:
            st = os.stat(self.path / KEYWORDS_NAME)
        except FileNotFoundError:
            self._keywords = None
            return None
        kw = self._keywords
        if kw is None or (kw.stat.st_ino, kw.stat.st_mtime_ns) != (st.st_ino, st.st_mtime_ns):
            self._keywords = kw = KeywordIndex.load(self.path / KEYWORDS_NAME, self.store.get_meta("created_at") or "")
        return kw

    def refresh_keyword_index(self, force: bool = False) -> bool:
        """Build `keywords.idx` when the archive has `keyword_index_min_chunks` chunks and the
        file is missing, of another database, or behind (`KeywordIndex.needs_rebuild`), or
        always with `force`. Returns True when it built the file."""
        if self.store.chunk_count_estimate() < self.keyword_index_min_chunks and not force:
            return False
        if not force:
            with self.lock:
                kw = self._loaded_keywords()
            if kw is not None and not kw.needs_rebuild(self.store):
                return False
        return self._build_keywords()

    def _build_keywords(self) -> bool:
        """Build the file from the database (own connection, no lock of the store held);
        one process or thread at a time (`keywords.lock`), others skip. A failure is
        logged: FTS5 keeps answering."""
        path = self.path / KEYWORDS_NAME
        try:
            with file_lock(self.path / KEYWORDS_LOCK_NAME, wait=False) as held:
                if not held:
                    return False
                for leftover in self.path.glob(KEYWORDS_NAME + ".tmp-*"):  # of a build that was killed
                    leftover.unlink(missing_ok=True)
                logger.info("building the keyword postings file %s", path)
                KeywordIndex.build(self.path / DB_NAME, path)
            return True
        except (OSError, sqlite3.Error) as e:
            logger.warning("could not build %s (%s); keyword search uses FTS5's bm25()", path, e)
            return False

    def _build_keywords_in_background(self) -> None:
        """Once per backend object: a reader that finds no usable file builds one without
        making a question wait for it."""
        if self._keywords_builder is None and not self._closed:
            self._keywords_builder = threading.Thread(target=self._build_keywords, name="keywords.idx", daemon=True)
            self._keywords_builder.start()

    def document_frequencies(self, terms: Sequence[str]) -> dict[str, int]:
        return self.store.document_frequencies(terms)

    def dense_search(self, query: np.ndarray, n: int, filters: Filters | None = None) -> list[tuple[int, float]]:
        """FAISS top `n`; a filter becomes the exact set of allowed chunk ids (`qa.vectors`
        searches a subset exactly)."""
        allowed = None if filters is None or filters.is_empty() else self.store.chunk_ids(filters)
        scores, ids = self.vector_index(query.shape[-1]).search(query, n, allowed)
        return [(int(i), float(s)) for s, i in zip(scores[0], ids[0]) if i >= 0]

    def dense_scores(self, query: np.ndarray, ids: Sequence[int]) -> dict[int, float]:
        return self.vector_index(query.shape[-1]).scores(query, ids)

    def check(self, full: bool = False) -> list[str]:
        """SQLite's quick_check (integrity_check and the FTS index when `full`), then rows
        that point nowhere or are duplicated."""
        return self.store.check(full) + self.store.consistency_problems()

    def storage_bytes(self) -> dict[str, int]:
        db = sum((self.path / n).stat().st_size for n in (DB_NAME, DB_NAME + "-wal") if (self.path / n).exists())
        vec = self.path / VECTORS_NAME
        kw = self.path / KEYWORDS_NAME
        return {"db": db, "vectors": vec.stat().st_size if vec.exists() else 0,
                "keywords": kw.stat().st_size if kw.exists() else 0}
