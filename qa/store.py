"""The archive on disk: one SQLite database that is the single source of truth.

Tables: `meta` (schema version, model id, chunking settings), `articles` (with a content
hash, so re-ingesting unchanged input is a no-op), `chunks` (span in the article, text and
the embedding as a float32 blob) and `chunk_terms`, an FTS5 table of jieba-segmented,
normalised chunk text ranked with SQLite's built-in bm25().

Why FTS5 rather than bm25s: it lives inside the same transaction as the articles, so the
keyword index can never disagree with them, it updates row by row (bm25s re-indexes the
whole corpus on every change), and it filters by date/source/page in the same query.
Quality on the shared sets is within noise of bm25s (see README, "Keyword index").

Vectors are stored here too, so the FAISS file (see `qa.vectors`) is a derived index that
is rebuilt from this database whenever the two disagree, without re-embedding anything.

Every write bumps `generation` (in the same transaction), so a reader can tell cheaply that
another process changed the archive; `vector_epoch` is bumped only when vectors are
cleared (re-embedding), the one change after which a chunk id's vector is not what it was.
Each article records the `pipeline` (chunking and text-processing version) that indexed
it, so `qa reindex` knows what to redo. SQLite errors that mean a damaged file become
`ArchiveCorruptError` (one line for the user), never a raw sqlite traceback.
"""

from __future__ import annotations

import json
import logging
import re
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from .errors import ArchiveCorruptError, NotFoundError
from .filters import Filters  # re-exported: `from qa.store import Filters` keeps working
from .records import Article, ArticleRecord, Citation

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 2  # 2: articles.pipeline, meta vector_epoch

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS articles (
    rowid INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    title TEXT NOT NULL,
    text TEXT NOT NULL,
    date TEXT, page TEXT, source TEXT, byline TEXT, source_file TEXT,
    metadata TEXT NOT NULL DEFAULT '{}',
    content_hash TEXT NOT NULL,
    ingested_at TEXT NOT NULL,
    pipeline TEXT
);
CREATE INDEX IF NOT EXISTS articles_date ON articles(date);
CREATE INDEX IF NOT EXISTS articles_source ON articles(source);
CREATE TABLE IF NOT EXISTS chunks (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    article_rowid INTEGER NOT NULL REFERENCES articles(rowid) ON DELETE CASCADE,
    ordinal INTEGER NOT NULL,
    start INTEGER NOT NULL,
    end INTEGER NOT NULL,
    text TEXT NOT NULL,
    vector BLOB
);
CREATE INDEX IF NOT EXISTS chunks_article ON chunks(article_rowid);
CREATE INDEX IF NOT EXISTS chunks_without_vector ON chunks(id) WHERE vector IS NULL;
CREATE VIRTUAL TABLE IF NOT EXISTS chunk_terms USING fts5(terms, tokenize = 'unicode61 remove_diacritics 0');
"""


@dataclass(frozen=True)
class ChunkRow:
    """A chunk joined with what is needed to cite its article."""

    id: int
    article_id: str
    ordinal: int
    start: int
    end: int
    text: str
    citation: Citation


@dataclass(frozen=True)
class PreparedArticle:
    """An article (or one part of a long one) ready to write: record, hash, chunk spans,
    their FTS terms and vectors.

    A long article is written in parts across transactions: the first part (`first`)
    replaces any stored version, later parts add chunks; until its `last` part is written
    the article's hash is `PARTIAL + content_hash`, so an interrupted write is redone
    (reusing the vectors already stored) instead of being taken for finished."""

    record: ArticleRecord
    content_hash: str
    spans: Sequence[tuple[int, int, int]]  # (ordinal, start, end)
    terms: Sequence[str]  # space-joined segmented terms per chunk
    vectors: np.ndarray  # (n_chunks, dim) float32
    pipeline: str | None = None
    first: bool = True
    last: bool = True


@dataclass(frozen=True)
class WriteResult:
    """What one write transaction did; `generation` is the store's generation before and
    after it (another process wrote in between when `before` is not what the caller saw)."""

    added: int
    updated: int
    removed: list[int]
    new_ids: list[int]
    generation_before: int
    generation: int


@dataclass(frozen=True)
class VectorSnapshot:
    """The vector ids of one consistent state of the store, and the vectors asked for."""

    generation: int
    epoch: int
    model_id: str
    ids: np.ndarray  # every chunk id that has a vector, sorted
    added_ids: np.ndarray
    added_vectors: np.ndarray


PARTIAL = "partial:"  # content-hash prefix of an article whose last part is not written yet
_CORRUPT_CODES = {11, 26}  # SQLITE_CORRUPT, SQLITE_NOTADB


def _is_corruption(e: sqlite3.DatabaseError) -> bool:
    code = getattr(e, "sqlite_errorcode", None)
    if code is not None and (code & 0xFF) in _CORRUPT_CODES:
        return True
    msg = str(e).lower()
    return "malformed" in msg or "not a database" in msg


def corrupt_error(path: Path, e: BaseException) -> ArchiveCorruptError:
    return ArchiveCorruptError(
        f"{path}: the archive database is damaged ({e}); nothing was changed. Restore a backup, "
        f"or build a new archive from the source files (qa ingest SOURCES --archive NEW_DIR)"
    )


class _Cursor(sqlite3.Cursor):
    """A cursor that turns "database disk image is malformed" and friends into
    `ArchiveCorruptError` wherever they surface (execute or a later fetch)."""

    def _guard(self, fn, *args):
        try:
            return fn(*args)
        except sqlite3.DatabaseError as e:
            if _is_corruption(e):
                raise corrupt_error(self.connection.db_path, e) from e  # type: ignore[attr-defined]
            raise

    def execute(self, *args):  # type: ignore[override]
        return self._guard(super().execute, *args)

    def executemany(self, *args):  # type: ignore[override]
        return self._guard(super().executemany, *args)

    def executescript(self, *args):  # type: ignore[override]
        return self._guard(super().executescript, *args)

    def fetchone(self):  # type: ignore[override]
        return self._guard(super().fetchone)

    def fetchall(self):  # type: ignore[override]
        return self._guard(super().fetchall)

    def fetchmany(self, *args):  # type: ignore[override]
        return self._guard(super().fetchmany, *args)

    def __next__(self):
        return self._guard(super().__next__)


class _Connection(sqlite3.Connection):
    db_path: Path

    def cursor(self, factory=None):  # type: ignore[override]
        return super().cursor(factory or _Cursor)

    def execute(self, *args):  # type: ignore[override]
        return self.cursor().execute(*args)

    def executemany(self, *args):  # type: ignore[override]
        return self.cursor().executemany(*args)

    def executescript(self, *args):  # type: ignore[override]
        return self.cursor().executescript(*args)


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


# bm25() scores every row the OR-query matches (~1-10 us a row on 2 busy cores): at 1M news
# chunks a question's common words (情况, 工作, 进行: 1-2% of all chunks each) match 100k+
# rows and a query takes 0.3 s or more. The local backend answers large archives from a
# postings file with the same scores instead (`qa.keyword_index`). A row budget
# (`Store(keyword_row_budget=...)`) leaves the commonest terms out of the MATCH until the
# rest fit, keeping at least the rarest term: 9x faster at 1M chunks, but it cost 16 points
# of src@1 there (README, "Scale"), so it is off by default.
KEYWORD_ROW_BUDGET: int | None = None


def affordable_terms(terms: Sequence[str], doc_counts: dict[str, int], budget: int | None) -> list[str]:
    """`terms` (in their order) without the commonest ones once the matched rows would
    pass `budget`; all of them when `budget` is None or they fit."""
    if budget is None or len(terms) < 2 or sum(doc_counts.get(t, 0) for t in terms) <= budget:
        return list(terms)
    keep: set[str] = set()
    total = 0
    for t in sorted(terms, key=lambda x: doc_counts.get(x, 0)):
        if keep and total + doc_counts.get(t, 0) > budget:
            break
        keep.add(t)
        total += doc_counts.get(t, 0)
    return [t for t in terms if t in keep]


def sqlite_varint(buf: bytes, i: int = 0) -> tuple[int, int]:
    """SQLite's varint at `buf[i]` (big-endian, 7 bits a byte, the 9th byte whole): the
    encoding of FTS5's averages and docsize records. Returns (value, next offset)."""
    v = 0
    for _ in range(8):
        c = buf[i]
        i += 1
        v = (v << 7) | (c & 0x7F)
        if c < 0x80:
            return v, i
    return (v << 8) | buf[i], i + 1


_FTS_TOKEN_RE = re.compile(r"[^\W_]+")


def fts_tokens(terms: str) -> list[str]:
    """The tokens FTS5's unicode61 tokenizer makes of (space-joined) terms: runs of letters
    and digits, in lower case ("3.5" -> "3", "5")."""
    return _FTS_TOKEN_RE.findall(terms.lower())


def fts_query(terms: Iterable[str]) -> str:
    """An FTS5 OR-query of quoted terms (quotes inside terms doubled)."""
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)


def filters_sql(f: Filters) -> tuple[str, list[Any]]:
    """`f` as a WHERE fragment over `articles a`, and its parameters (the local backend's
    translation of the backend-neutral `Filters`). A page matches with leading zeros
    ignored: "3" finds "03"."""
    where, params = [], []
    if f.date_from:
        where.append("a.date >= ?")
        params.append(f.date_from)
    if f.date_to:
        where.append("a.date <= ?")
        params.append(f.date_to + "\uffff" if len(f.date_to) == 10 else f.date_to)
    if f.source:
        where.append("a.source = ?")
        params.append(f.source)
    if f.page:
        where.append("(a.page = ? OR ltrim(a.page, '0') = ltrim(?, '0'))")
        params += [f.page, f.page]
    return (" AND ".join(where) or "1"), params


class Store:
    """SQLite-backed article/chunk store. Thread-safe through one lock; WAL mode lets
    other processes read while an ingest writes."""

    def __init__(self, path: str | Path, keyword_row_budget: int | None = KEYWORD_ROW_BUDGET):
        self.path = Path(path)
        self.keyword_row_budget = keyword_row_budget  # None (default): score every matched row
        self._vocab = False  # the connection's temp fts5vocab table exists
        self._lock = threading.RLock()
        try:
            self.db: sqlite3.Connection = sqlite3.connect(
                self.path, check_same_thread=False, isolation_level=None, timeout=30, factory=_Connection)
        except sqlite3.DatabaseError as e:
            raise corrupt_error(self.path, e) from e
        self.db.db_path = self.path  # type: ignore[attr-defined]
        try:
            self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute("PRAGMA synchronous=NORMAL")
            self.db.execute("PRAGMA foreign_keys=ON")
            with self._lock:
                self.db.executescript(_SCHEMA)
                self._migrate()
                if self.get_meta("schema_version") is None:
                    self.set_meta("schema_version", str(SCHEMA_VERSION))
                    self.set_meta("created_at", _now())
                    self.set_meta("generation", "0")
        except BaseException:
            self.db.close()
            raise

    def _migrate(self) -> None:
        """Schema 1 -> 2: articles.pipeline (NULL: indexed before pipelines were recorded)."""
        cols = {r[1] for r in self.db.execute("PRAGMA table_info(articles)")}
        if "pipeline" not in cols:
            self.db.execute("ALTER TABLE articles ADD COLUMN pipeline TEXT")
            if self.get_meta("schema_version") is not None:
                self.set_meta("schema_version", str(SCHEMA_VERSION))
        # counting articles per pipeline on every open must not read the article texts
        self.db.execute("CREATE INDEX IF NOT EXISTS articles_pipeline ON articles(pipeline)")

    def close(self) -> None:
        with self._lock:
            self.db.close()

    def check(self, full: bool = False) -> list[str]:
        """Problems found in the database file (empty list: healthy). By default SQLite's
        `quick_check` (reads every page once: ~40 ms for 12 MB); `full` runs
        `integrity_check` and checks the FTS index against its content too (~6x slower).
        Damage that SQLite refuses to read past raises `ArchiveCorruptError` instead."""
        with self._lock:
            rows = self.db.execute("PRAGMA integrity_check" if full else "PRAGMA quick_check").fetchall()
            problems = [r[0] for r in rows if r[0] != "ok"]
            if full:
                try:
                    self.db.execute("INSERT INTO chunk_terms(chunk_terms, rank) VALUES ('integrity-check', 0)")
                except sqlite3.DatabaseError as e:
                    problems.append(f"keyword index: {e}")
        return problems

    def consistency_problems(self) -> list[str]:
        """Rows that point nowhere or are duplicated (chunks without an article or keyword
        entry, keyword entries without a chunk, two chunks at one position of an article)."""
        queries = {
            "chunks without an article": "SELECT count(*) FROM chunks c LEFT JOIN articles a"
                                         " ON a.rowid = c.article_rowid WHERE a.rowid IS NULL",
            "chunks without keyword terms": "SELECT count(*) FROM chunks WHERE id NOT IN (SELECT rowid FROM chunk_terms)",
            "keyword terms without a chunk": "SELECT count(*) FROM chunk_terms WHERE rowid NOT IN (SELECT id FROM chunks)",
            "duplicated chunks": "SELECT count(*) FROM (SELECT 1 FROM chunks GROUP BY article_rowid, ordinal"
                                 " HAVING count(*) > 1)",
        }
        out = []
        with self._lock:
            for what, q in queries.items():
                n = self.db.execute(q).fetchone()[0]
                if n:
                    out.append(f"{n} {what}")
        return out

    # -- meta ---------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    @property
    def generation(self) -> int:
        """Bumped by every write to chunks: the FAISS file records the one it matches, and
        a reader compares it before each dense search to notice other processes' writes."""
        with self._lock:
            return int(self.get_meta("generation") or 0)

    @property
    def vector_epoch(self) -> int:
        """Bumped when vectors are cleared: an index built in another epoch is rebuilt."""
        with self._lock:
            return int(self.get_meta("vector_epoch") or 0)

    # -- writes -------------------------------------------------------------------------
    def hashes(self, ids: Iterable[str]) -> dict[str, str]:
        """Content hashes of the given article ids that are stored."""
        ids = list(ids)
        out: dict[str, str] = {}
        with self._lock:
            for i in range(0, len(ids), 500):
                part = ids[i : i + 500]
                q = f"SELECT id, content_hash FROM articles WHERE id IN ({','.join('?' * len(part))})"
                out.update(self.db.execute(q, part).fetchall())
        return out

    def write(self, batch: Sequence[PreparedArticle]) -> WriteResult:
        """Insert or replace articles (or parts of them) with their chunks, in one transaction."""
        added = updated = 0
        removed: list[int] = []
        new_ids: list[int] = []
        now = _now()
        with self._lock:
            cur = self.db.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                gen_before = int(cur.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()[0])
                for art in batch:
                    r = art.record
                    stored_hash = art.content_hash if art.last else PARTIAL + art.content_hash
                    row = cur.execute("SELECT rowid, content_hash FROM articles WHERE id = ?", (r.id,)).fetchone()
                    if not art.first:
                        if not row or row[1] != PARTIAL + art.content_hash:
                            raise RuntimeError(f"article {r.id!r}: a later part without its first part")
                        art_rowid = row[0]
                        cur.execute("UPDATE articles SET content_hash = ? WHERE rowid = ?", (stored_hash, art_rowid))
                    else:
                        if row:
                            removed += self._delete_chunks(cur, row[0])
                            cur.execute("DELETE FROM articles WHERE rowid = ?", (row[0],))
                            updated += not row[1].startswith(PARTIAL)
                            added += row[1].startswith(PARTIAL)
                        else:
                            added += 1
                        cur.execute(
                            "INSERT INTO articles(id, title, text, date, page, source, byline, source_file,"
                            " metadata, content_hash, ingested_at, pipeline) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                            (r.id, r.title, r.text, r.date, r.page, r.source, r.byline, r.source_file,
                             json.dumps(r.metadata, ensure_ascii=False), stored_hash, now, art.pipeline),
                        )
                        art_rowid = cur.lastrowid
                    vecs = np.ascontiguousarray(art.vectors, dtype=np.float32)
                    for (ordinal, s, e), terms, vec in zip(art.spans, art.terms, vecs):
                        cur.execute(
                            "INSERT INTO chunks(article_rowid, ordinal, start, end, text, vector) VALUES (?,?,?,?,?,?)",
                            (art_rowid, ordinal, s, e, r.text[s:e], vec.tobytes()),
                        )
                        cid = cur.lastrowid
                        cur.execute("INSERT INTO chunk_terms(rowid, terms) VALUES (?, ?)", (cid, terms))
                        new_ids.append(cid)
                self._bump(cur, now)
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
        return WriteResult(added, updated, removed, new_ids, gen_before, gen_before + 1)

    def _delete_chunks(self, cur: sqlite3.Cursor, art_rowid: int) -> list[int]:
        ids = [r[0] for r in cur.execute("SELECT id FROM chunks WHERE article_rowid = ?", (art_rowid,))]
        for i in range(0, len(ids), 500):
            part = ids[i : i + 500]
            marks = ",".join("?" * len(part))
            cur.execute(f"DELETE FROM chunk_terms WHERE rowid IN ({marks})", part)
            cur.execute(f"DELETE FROM chunks WHERE id IN ({marks})", part)
        return ids

    def _bump(self, cur: sqlite3.Cursor, now: str) -> None:
        cur.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'")
        cur.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('last_ingest_at', ?)", (now,))

    def remove(self, article_id: str) -> list[int]:
        """Delete an article and its chunks; returns the removed chunk ids."""
        return self.remove_many([article_id], missing_ok=False)

    def remove_many(self, article_ids: Sequence[str], missing_ok: bool = True) -> list[int]:
        """Delete articles and their chunks in one transaction; returns the removed chunk ids."""
        removed: list[int] = []
        with self._lock:
            cur = self.db.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                for article_id in article_ids:
                    row = cur.execute("SELECT rowid FROM articles WHERE id = ?", (article_id,)).fetchone()
                    if not row:
                        if missing_ok:
                            continue
                        raise NotFoundError(f"no article with id {article_id!r} in {self.path.parent}")
                    removed += self._delete_chunks(cur, row[0])
                    cur.execute("DELETE FROM articles WHERE rowid = ?", (row[0],))
                self._bump(cur, _now())
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise
        return removed

    def set_vectors(self, ids: Sequence[int], vectors: np.ndarray) -> None:
        """Store (re-)computed vectors for existing chunks, in one transaction."""
        with self._lock:
            cur = self.db.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                cur.executemany(
                    "UPDATE chunks SET vector = ? WHERE id = ?",
                    [(np.asarray(v, dtype=np.float32).tobytes(), int(i)) for i, v in zip(ids, vectors)],
                )
                self._bump(cur, _now())
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise

    def clear_vectors(self, meta: dict[str, str] | None = None) -> None:
        """Forget every vector (before re-embedding with another model) and record the new
        model's `meta`, in one transaction, so a crash leaves either the old model's
        vectors or none to be embedded by the new model."""
        with self._lock:
            cur = self.db.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                cur.execute("UPDATE chunks SET vector = NULL")
                for k, v in (meta or {}).items():
                    cur.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (k, v))
                cur.execute("INSERT OR REPLACE INTO meta(key, value) VALUES ('vector_epoch', ?)",
                            (str(self.vector_epoch + 1),))
                self._bump(cur, _now())
                cur.execute("COMMIT")
            except BaseException:
                cur.execute("ROLLBACK")
                raise

    # -- reads --------------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        with self._lock:
            a = self.db.execute("SELECT count(*) FROM articles").fetchone()[0]
            c = self.db.execute("SELECT count(*) FROM chunks").fetchone()[0]
            v = self.db.execute("SELECT count(*) FROM chunks WHERE vector IS NOT NULL").fetchone()[0]
        return {"articles": a, "chunks": c, "vectors": v}

    def chunk_count_estimate(self) -> int:
        """The largest chunk id: at least the chunk count, without counting (skips the
        vocabulary lookups on archives too small to need them)."""
        with self._lock:
            return self.db.execute("SELECT coalesce(max(id), 0) FROM chunks").fetchone()[0]

    def chunk_count(self) -> int:
        """Chunks in the archive (from an index; `counts()` also reads every vector)."""
        with self._lock:
            return self.db.execute("SELECT count(*) FROM chunks").fetchone()[0]

    def vectors(self, dim: int) -> tuple[np.ndarray, np.ndarray]:
        """All stored (chunk ids, vectors), for rebuilding the FAISS index."""
        with self._lock:
            rows = self.db.execute("SELECT id, vector FROM chunks WHERE vector IS NOT NULL ORDER BY id").fetchall()
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        if not rows:
            return ids, np.zeros((0, dim), dtype=np.float32)
        mat = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), -1)
        return ids, mat

    def vector_snapshot(self, have: np.ndarray | None = None) -> VectorSnapshot:
        """One consistent view (a read transaction) of the generation, epoch, model, every
        chunk id with a vector, and the vectors of the ids not in `have`."""
        with self._lock:
            cur = self.db.cursor()
            cur.execute("BEGIN")
            try:
                meta = dict(cur.execute("SELECT key, value FROM meta WHERE key IN"
                                        " ('generation', 'vector_epoch', 'model_id')").fetchall())
                # every chunk id (read from the small article index, not the vector pages)
                # minus the few without a vector (a partial index)
                rows = cur.execute("SELECT id FROM chunks INDEXED BY chunks_article").fetchall()
                ids = np.sort(np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows)))
                nulls = [r[0] for r in cur.execute("SELECT id FROM chunks WHERE vector IS NULL")]
                if nulls:
                    ids = np.setdiff1d(ids, np.asarray(nulls, dtype=np.int64), assume_unique=True)
                want = ids if have is None else np.setdiff1d(ids, have, assume_unique=True)
                # one matrix filled in place: a list of blobs joined at the end held every
                # vector three times at once (2x 1.5 GB over the matrix at 1M chunks)
                mat = None
                for i in range(0, len(want), 500):
                    part = [int(x) for x in want[i : i + 500]]
                    got = dict(cur.execute(f"SELECT id, vector FROM chunks WHERE id IN ({','.join('?' * len(part))})",
                                           part).fetchall())
                    if mat is None:
                        mat = np.empty((len(want), len(got[part[0]]) // 4), dtype=np.float32)
                    mat[i : i + len(part)] = np.frombuffer(b"".join(got[x] for x in part), dtype=np.float32).reshape(len(part), -1)
            finally:
                cur.execute("COMMIT")
        return VectorSnapshot(int(meta.get("generation", 0)), int(meta.get("vector_epoch", 0)),
                              meta.get("model_id") or "", ids, want, mat)

    def has_missing_vectors(self) -> bool:
        """Whether some chunk has no vector (cheap: a partial index)."""
        with self._lock:
            return self.db.execute("SELECT 1 FROM chunks WHERE vector IS NULL LIMIT 1").fetchone() is not None

    def chunks_missing_vectors(self) -> list[tuple[int, str, str, str]]:
        """(chunk id, article title, chunk text, article text) for chunks without a vector."""
        with self._lock:
            return self.db.execute(
                "SELECT c.id, a.title, c.text, a.text FROM chunks c JOIN articles a ON a.rowid = c.article_rowid"
                " WHERE c.vector IS NULL ORDER BY c.id"
            ).fetchall()

    def all_chunk_texts(self) -> list[tuple[int, str, str]]:
        """(chunk id, article title, chunk text) for every chunk."""
        with self._lock:
            return self.db.execute(
                "SELECT c.id, a.title, c.text FROM chunks c JOIN articles a ON a.rowid = c.article_rowid ORDER BY c.id"
            ).fetchall()

    def chunk_vectors_of(self, article_id: str) -> tuple[str, str, str | None, list[tuple[str, bytes]]]:
        """(article title, article text, its pipeline id, [(chunk text, vector bytes)]) of a
        stored article's embedded chunks: what a new version of it can reuse instead of
        embedding again (the pipeline says how those vectors' passage texts were built)."""
        with self._lock:
            head = self.db.execute("SELECT rowid, title, text, pipeline FROM articles WHERE id = ?",
                                   (article_id,)).fetchone()
            if head is None:
                return "", "", None, []
            rows = self.db.execute("SELECT text, vector FROM chunks WHERE article_rowid = ? AND vector IS NOT NULL",
                                   (head[0],)).fetchall()
        return head[1], head[2], head[3], rows

    def pipeline_counts(self) -> dict[str | None, int]:
        """Articles per pipeline id (None: indexed before pipelines were recorded)."""
        with self._lock:
            return dict(self.db.execute("SELECT pipeline, count(*) FROM articles GROUP BY pipeline").fetchall())

    def articles_not_at(self, pipeline: str, after_rowid: int, limit: int) -> list[tuple[int, Article]]:
        """Up to `limit` (rowid, article) after `after_rowid` indexed by another pipeline than
        `pipeline`, or only partially written."""
        with self._lock:
            rows = self.db.execute(
                f"SELECT a.rowid, {self._ARTICLE_COLS} FROM articles a WHERE a.rowid > ?"
                " AND (a.pipeline IS NOT ? OR a.content_hash LIKE ?) ORDER BY a.rowid LIMIT ?",
                (after_rowid, pipeline, PARTIAL + "%", limit)).fetchall()
        return [(r[0], self._article(r[1:])) for r in rows]

    def page_article_ids(self, prefix: str) -> list[str]:
        """Ids of stored page articles and captions whose id is `prefix` + ordinal
        (`prefix-03`, `prefix-03-photo-1`): the articles of one page."""
        like = prefix.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "-%"
        with self._lock:
            rows = self.db.execute(
                "SELECT id FROM articles WHERE id LIKE ? ESCAPE '\\'"
                " AND json_extract(metadata, '$.kind') IN ('article', 'caption')", (like,)).fetchall()
        tail = re.compile(r"\d+(-photo-\d+)?")
        return [r[0] for r in rows if r[0].startswith(prefix + "-") and tail.fullmatch(r[0][len(prefix) + 1 :])]

    _ARTICLE_COLS = "a.id, a.title, a.text, a.date, a.page, a.source, a.byline, a.source_file, a.metadata, a.ingested_at"

    @staticmethod
    def _article(row: Sequence[Any]) -> Article:
        return Article(*row[:8], metadata=json.loads(row[8]), ingested_at=row[9])

    def get(self, article_id: str) -> Article:
        with self._lock:
            row = self.db.execute(f"SELECT {self._ARTICLE_COLS} FROM articles a WHERE a.id = ?", (article_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"no article with id {article_id!r}")
        return self._article(row)

    def articles(self, filters: Filters | None = None) -> Iterator[Article]:
        """Every stored article (optionally filtered), ordered by date then id."""
        where, params = filters_sql(filters or Filters())
        with self._lock:
            rows = self.db.execute(
                f"SELECT {self._ARTICLE_COLS} FROM articles a WHERE {where} ORDER BY a.date, a.id", params
            ).fetchall()
        for row in rows:
            yield self._article(row)

    def chunk_rows(self, ids: Sequence[int]) -> dict[int, ChunkRow]:
        """Chunks by id, with their article's citation fields."""
        out: dict[int, ChunkRow] = {}
        ids = [int(i) for i in ids]
        with self._lock:
            for i in range(0, len(ids), 500):
                part = ids[i : i + 500]
                rows = self.db.execute(
                    "SELECT c.id, a.id, c.ordinal, c.start, c.end, c.text, a.title, a.date, a.page, a.byline,"
                    " a.source, a.source_file, json_extract(a.metadata, '$.section_title')"
                    " FROM chunks c JOIN articles a ON a.rowid = c.article_rowid"
                    f" WHERE c.id IN ({','.join('?' * len(part))})",
                    part,
                ).fetchall()
                for r in rows:
                    cit = Citation(r[1], r[6], r[7], r[8], r[9], r[10], r[11], r[12])
                    out[r[0]] = ChunkRow(r[0], r[1], r[2], r[3], r[4], r[5], cit)
        return out

    def term_doc_counts(self, terms: Sequence[str]) -> dict[str, int]:
        """Chunks containing each term, from FTS5's own vocabulary (one indexed lookup per
        term, ~1 ms for a question at 1M chunks; `document_frequencies` runs a MATCH each)."""
        if not terms:
            return {}
        with self._lock:
            if not self._vocab:
                self.db.execute("CREATE VIRTUAL TABLE IF NOT EXISTS temp.chunk_vocab"
                                " USING fts5vocab(main, 'chunk_terms', 'row')")
                self._vocab = True
            rows = self.db.execute(f"SELECT term, doc FROM temp.chunk_vocab WHERE term IN ({','.join('?' * len(terms))})",
                                   list(terms)).fetchall()
        return {t: 0 for t in terms} | dict(rows)

    def keyword_search(self, terms: Sequence[str], n: int, filters: Filters | None = None) -> list[tuple[int, float]]:
        """Top `n` chunks by BM25 over `terms` (higher is better); past
        `keyword_row_budget` matched rows without the commonest terms (see `affordable_terms`)."""
        if not terms:
            return []
        filters = filters or Filters()
        if self.keyword_row_budget is not None and len(terms) > 1 and self.chunk_count_estimate() > self.keyword_row_budget:
            terms = affordable_terms(terms, self.term_doc_counts(terms), self.keyword_row_budget)
        with self._lock:
            if filters.is_empty():
                rows = self.db.execute(
                    "SELECT rowid, -bm25(chunk_terms) AS s FROM chunk_terms WHERE chunk_terms MATCH ?"
                    " ORDER BY s DESC LIMIT ?",
                    (fts_query(terms), n),
                ).fetchall()
            else:
                where, params = filters_sql(filters)
                rows = self.db.execute(
                    "SELECT t.rowid, -bm25(chunk_terms) AS s FROM chunk_terms t"
                    " JOIN chunks c ON c.id = t.rowid JOIN articles a ON a.rowid = c.article_rowid"
                    f" WHERE chunk_terms MATCH ? AND {where} ORDER BY s DESC LIMIT ?",
                    [fts_query(terms), *params, n],
                ).fetchall()
        return [(int(r[0]), float(r[1])) for r in rows]

    # -- what `qa.keyword_index` reads of FTS5 ---------------------------------------------
    def fts_stats(self) -> tuple[int, int]:
        """(rows, tokens) of the keyword index, from FTS5's averages record: the N and the
        average length its bm25() uses."""
        with self._lock:
            row = self.db.execute("SELECT block FROM chunk_terms_data WHERE id = 1").fetchone()
        if row is None or not row[0]:
            return 0, 0
        rows, i = sqlite_varint(row[0])
        return rows, sqlite_varint(row[0], i)[0]

    def chunk_counts_around(self, split_id: int) -> tuple[int, int]:
        """Chunks with ids up to `split_id`, and above it: the rows of FTS5's docsize table
        (small rows; the chunks table holds the vectors), the total from its averages."""
        with self._lock:
            after = self.db.execute("SELECT count(*) FROM chunk_terms_docsize WHERE id > ?", (split_id,)).fetchone()[0]
        return self.fts_stats()[0] - after, after

    def chunk_ids_upto(self, max_id: int) -> np.ndarray:
        with self._lock:
            return np.fromiter((r[0] for r in self.db.execute(
                "SELECT id FROM chunk_terms_docsize WHERE id <= ?", (max_id,))), np.int64)

    def chunk_ids_after(self, min_id: int) -> np.ndarray:
        with self._lock:
            return np.fromiter((r[0] for r in self.db.execute(
                "SELECT id FROM chunk_terms_docsize WHERE id > ?", (min_id,))), np.int64)

    def chunk_terms_after(self, after_id: int) -> list[tuple[int, str, bytes]]:
        """(id, indexed terms, FTS5 docsize record) of the chunks with ids above `after_id`."""
        with self._lock:
            return self.db.execute(
                "SELECT t.rowid, t.terms, d.sz FROM chunk_terms t JOIN chunk_terms_docsize d ON d.id = t.rowid"
                " WHERE t.rowid > ?", (after_id,)).fetchall()

    def phrase_scores(self, term: str) -> tuple[np.ndarray, np.ndarray]:
        """Chunk ids and bm25() of a query of `term` alone: for a term FTS5 reads as a phrase
        of several tokens, its share of any query's score (bm25() sums one share a phrase)."""
        with self._lock:
            rows = self.db.execute("SELECT rowid, -bm25(chunk_terms) FROM chunk_terms WHERE chunk_terms MATCH ?",
                                   (fts_query([term]),)).fetchall()
        return np.array([r[0] for r in rows], np.int64), np.array([r[1] for r in rows], np.float64)

    def chunk_ids(self, filters: Filters) -> np.ndarray:
        """Ids of the chunks whose article passes `filters`."""
        where, params = filters_sql(filters)
        with self._lock:
            rows = self.db.execute(
                f"SELECT c.id FROM chunks c JOIN articles a ON a.rowid = c.article_rowid WHERE {where}", params
            ).fetchall()
        return np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))

    def facets(self) -> dict[str, Any]:
        """Date range, sources and pages present: what the filters can choose from."""
        with self._lock:
            lo, hi = self.db.execute("SELECT min(date), max(date) FROM articles").fetchone()
            sources = [r[0] for r in self.db.execute(
                "SELECT source, count(*) FROM articles WHERE source IS NOT NULL GROUP BY source ORDER BY 2 DESC")]
            pages = [r[0] for r in self.db.execute(
                "SELECT DISTINCT page FROM articles WHERE page IS NOT NULL ORDER BY page")]
        return {"date_min": lo, "date_max": hi, "sources": sources, "pages": pages}

    def document_frequencies(self, terms: Sequence[str]) -> dict[str, int]:
        """How many chunks contain each term (for IDF weights outside bm25()). A term that is
        one FTS5 token is read from FTS5's vocabulary (`term_doc_counts`: an indexed lookup,
        where counting its MATCH rows reads its whole posting list, ~3x slower at 1M chunks);
        a term of several tokens (a phrase such as "3.5") is counted with MATCH."""
        single = {t: tok[0] for t in terms if len(tok := fts_tokens(t)) == 1}
        counts = self.term_doc_counts(sorted(set(single.values())))
        out = {}
        with self._lock:
            for t in terms:
                out[t] = counts[single[t]] if t in single else self.db.execute(
                    "SELECT count(*) FROM chunk_terms WHERE chunk_terms MATCH ?", (fts_query([t]),)
                ).fetchone()[0]
        return out
