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
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np

from .errors import NotFoundError
from .records import Article, ArticleRecord, Citation

logger = logging.getLogger(__name__)

SCHEMA_VERSION = 1

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
    ingested_at TEXT NOT NULL
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
CREATE VIRTUAL TABLE IF NOT EXISTS chunk_terms USING fts5(terms, tokenize = 'unicode61 remove_diacritics 0');
"""


@dataclass(frozen=True)
class Filters:
    """Restrict a search to a date range (inclusive, ISO dates), a source and/or a page."""

    date_from: str | None = None
    date_to: str | None = None
    source: str | None = None
    page: str | None = None

    def is_empty(self) -> bool:
        return not (self.date_from or self.date_to or self.source or self.page)

    def sql(self) -> tuple[str, list[Any]]:
        """A WHERE fragment over `articles a`, and its parameters."""
        where, params = [], []
        if self.date_from:
            where.append("a.date >= ?")
            params.append(self.date_from)
        if self.date_to:
            where.append("a.date <= ?")
            params.append(self.date_to + "\uffff" if len(self.date_to) == 10 else self.date_to)
        if self.source:
            where.append("a.source = ?")
            params.append(self.source)
        if self.page:
            where.append("(a.page = ? OR ltrim(a.page, '0') = ltrim(?, '0'))")
            params += [self.page, self.page]
        return (" AND ".join(where) or "1"), params


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
    """An article ready to write: record, hash, chunk spans, their FTS terms and vectors."""

    record: ArticleRecord
    content_hash: str
    spans: Sequence[tuple[int, int, int]]  # (ordinal, start, end)
    terms: Sequence[str]  # space-joined segmented terms per chunk
    vectors: np.ndarray  # (n_chunks, dim) float32


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def fts_query(terms: Iterable[str]) -> str:
    """An FTS5 OR-query of quoted terms (quotes inside terms doubled)."""
    return " OR ".join('"' + t.replace('"', '""') + '"' for t in terms)


class Store:
    """SQLite-backed article/chunk store. Thread-safe through one lock; WAL mode lets
    other processes read while an ingest writes."""

    def __init__(self, path: str | Path):
        self.path = Path(path)
        self._lock = threading.RLock()
        self.db = sqlite3.connect(self.path, check_same_thread=False, isolation_level=None)
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.execute("PRAGMA foreign_keys=ON")
        with self._lock:
            self.db.executescript(_SCHEMA)
            if self.get_meta("schema_version") is None:
                self.set_meta("schema_version", str(SCHEMA_VERSION))
                self.set_meta("created_at", _now())
                self.set_meta("generation", "0")

    def close(self) -> None:
        with self._lock:
            self.db.close()

    # -- meta ---------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        row = self.db.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return row[0] if row else None

    def set_meta(self, key: str, value: str) -> None:
        self.db.execute("INSERT OR REPLACE INTO meta(key, value) VALUES (?, ?)", (key, value))

    @property
    def generation(self) -> int:
        """Bumped by every write to chunks: the FAISS file records the one it matches."""
        return int(self.get_meta("generation") or 0)

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

    def write(self, batch: Sequence[PreparedArticle]) -> tuple[int, int, list[int], list[int]]:
        """Insert or replace articles with their chunks, in one transaction.

        Returns (added, updated, removed_chunk_ids, added_chunk_ids)."""
        added = updated = 0
        removed: list[int] = []
        new_ids: list[int] = []
        now = _now()
        with self._lock:
            cur = self.db.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                for art in batch:
                    r = art.record
                    row = cur.execute("SELECT rowid FROM articles WHERE id = ?", (r.id,)).fetchone()
                    if row:
                        removed += self._delete_chunks(cur, row[0])
                        cur.execute("DELETE FROM articles WHERE rowid = ?", (row[0],))
                        updated += 1
                    else:
                        added += 1
                    cur.execute(
                        "INSERT INTO articles(id, title, text, date, page, source, byline, source_file,"
                        " metadata, content_hash, ingested_at) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                        (r.id, r.title, r.text, r.date, r.page, r.source, r.byline, r.source_file,
                         json.dumps(r.metadata, ensure_ascii=False), art.content_hash, now),
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
        return added, updated, removed, new_ids

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
        with self._lock:
            cur = self.db.cursor()
            cur.execute("BEGIN IMMEDIATE")
            try:
                row = cur.execute("SELECT rowid FROM articles WHERE id = ?", (article_id,)).fetchone()
                if not row:
                    raise NotFoundError(f"no article with id {article_id!r} in {self.path.parent}")
                removed = self._delete_chunks(cur, row[0])
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

    def clear_vectors(self) -> None:
        """Forget every vector (before re-embedding with another model)."""
        with self._lock:
            self.db.execute("UPDATE chunks SET vector = NULL")
            self.db.execute("UPDATE meta SET value = CAST(value AS INTEGER) + 1 WHERE key = 'generation'")

    # -- reads --------------------------------------------------------------------------
    def counts(self) -> dict[str, int]:
        with self._lock:
            a = self.db.execute("SELECT count(*) FROM articles").fetchone()[0]
            c = self.db.execute("SELECT count(*) FROM chunks").fetchone()[0]
            v = self.db.execute("SELECT count(*) FROM chunks WHERE vector IS NOT NULL").fetchone()[0]
        return {"articles": a, "chunks": c, "vectors": v}

    def vectors(self, dim: int) -> tuple[np.ndarray, np.ndarray]:
        """All stored (chunk ids, vectors), for rebuilding the FAISS index."""
        with self._lock:
            rows = self.db.execute("SELECT id, vector FROM chunks WHERE vector IS NOT NULL ORDER BY id").fetchall()
        ids = np.fromiter((r[0] for r in rows), dtype=np.int64, count=len(rows))
        if not rows:
            return ids, np.zeros((0, dim), dtype=np.float32)
        mat = np.frombuffer(b"".join(r[1] for r in rows), dtype=np.float32).reshape(len(rows), -1)
        return ids, mat

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
        where, params = (filters or Filters()).sql()
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
                    f" a.source, a.source_file FROM chunks c JOIN articles a ON a.rowid = c.article_rowid"
                    f" WHERE c.id IN ({','.join('?' * len(part))})",
                    part,
                ).fetchall()
                for r in rows:
                    cit = Citation(r[1], r[6], r[7], r[8], r[9], r[10], r[11])
                    out[r[0]] = ChunkRow(r[0], r[1], r[2], r[3], r[4], r[5], cit)
        return out

    def keyword_search(self, terms: Sequence[str], n: int, filters: Filters | None = None) -> list[tuple[int, float]]:
        """Top `n` chunks by BM25 over `terms` (higher is better)."""
        if not terms:
            return []
        filters = filters or Filters()
        with self._lock:
            if filters.is_empty():
                rows = self.db.execute(
                    "SELECT rowid, -bm25(chunk_terms) AS s FROM chunk_terms WHERE chunk_terms MATCH ?"
                    " ORDER BY s DESC LIMIT ?",
                    (fts_query(terms), n),
                ).fetchall()
            else:
                where, params = filters.sql()
                rows = self.db.execute(
                    "SELECT t.rowid, -bm25(chunk_terms) AS s FROM chunk_terms t"
                    " JOIN chunks c ON c.id = t.rowid JOIN articles a ON a.rowid = c.article_rowid"
                    f" WHERE chunk_terms MATCH ? AND {where} ORDER BY s DESC LIMIT ?",
                    [fts_query(terms), *params, n],
                ).fetchall()
        return [(int(r[0]), float(r[1])) for r in rows]

    def chunk_ids(self, filters: Filters) -> np.ndarray:
        """Ids of the chunks whose article passes `filters`."""
        where, params = filters.sql()
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
        """How many chunks contain each term (for IDF weights outside bm25())."""
        out = {}
        with self._lock:
            for t in terms:
                out[t] = self.db.execute(
                    "SELECT count(*) FROM chunk_terms WHERE chunk_terms MATCH ?", (fts_query([t]),)
                ).fetchone()[0]
        return out
