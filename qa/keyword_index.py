"""BM25 from postings in numpy arrays: the scores of FTS5's bm25(), without its cost at scale.

FTS5's bm25() reads every row an OR-query matches and scores each one through the
auxiliary-function API (~1-2 us a row, more under load); a news question's common words
(情况, 工作, 进行) match 100k+ rows of a 1M-chunk archive: 0.3-0.5 s a question. This index
is a file derived from the database, like the FAISS one (`keywords.idx` beside
`archive.db`). It holds what never changes for a chunk id: for every token of the indexed
terms, the ids of the chunks holding it with its count in each (the postings, sorted by
id), and every chunk's length in tokens (FTS5's own, from its docsize table). What every
write changes (row count, total tokens, each token's document frequency) is read from FTS5
at query time, so a score is bm25()'s (k1 1.2, b 0.75, FTS5's IDF and its clamp) for
whatever state the archive is in:
- chunks written after the file was built (ids above its `max_id`: chunk ids only grow)
  are read from FTS5's content table and scored the same way (the "tail");
- chunks removed since are masked out.
A term of several tokens ("3.5" is the phrase "3 5") needs token positions, which the file
does not hold: FTS5 scores that term alone (a query of one phrase, whose score is exactly
that phrase's share of the sum) and the file the others. The writer rebuilds the file when
the tail and the removals pass `REBUILD_SHARE` of it or half of `MAX_TAIL`
(`LocalBackend.flush`); the file is made and used only from `MIN_CHUNKS` chunks on, below
which FTS5 answers in milliseconds.
"""

from __future__ import annotations

import json
import logging
import math
import os
import sqlite3
import zlib
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from .crashpoints import crash_point
from .store import Store, fts_tokens, sqlite_varint

logger = logging.getLogger(__name__)

K1, B = 1.2, 0.75  # FTS5's bm25() defaults
MIN_CHUNKS = 50_000  # below this FTS5's bm25() is fast enough (34 ms p50 at 100k under load)
REBUILD_SHARE = 0.1  # rebuild once chunks added or removed since the build pass this share
MAX_TAIL = 100_000  # past this many chunks newer than the file, FTS5 answers (the tail is Python)
MAGIC = b"QAKWIDX1"
VERSION = 3  # 3: CRC-32 of the arrays in the header
_ALIGN = 64


def idf(rows: int, df: int) -> float:
    """FTS5's IDF: log((N - n + 0.5) / (n + 0.5)), clamped to 1e-6 for terms in over half
    of the rows."""
    v = math.log((rows - df + 0.5) / (df + 0.5)) if rows else 0.0
    return v if v > 0.0 else 1e-6


def term_share(w: float, tf: np.ndarray, dl: np.ndarray, avgdl: float) -> np.ndarray:
    """One token's share of bm25() for chunks holding it `tf` times in `dl` tokens."""
    return w * (tf * (K1 + 1.0)) / (tf + K1 * (1.0 - B + B * dl / avgdl))


@dataclass
class _Tail:
    """Chunks newer than the file, parsed once each (new ones are added as they come): their
    ids, lengths and a small inverted index (token -> positions in `ids`, counts)."""
    generation: int = -1
    last_id: int = 0
    ids: list[int] = field(default_factory=list)
    lengths: list[int] = field(default_factory=list)
    postings: dict[str, tuple[list[int], list[int]]] = field(default_factory=dict)
    # `ids` and `lengths` as arrays, made once per generation rather than once per query
    id_array: np.ndarray = field(default_factory=lambda: np.zeros(0, np.int64))
    length_array: np.ndarray = field(default_factory=lambda: np.zeros(0, np.float64))
    alive: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))  # over `ids`
    dead: np.ndarray | None = None  # mask over the file's ids: removed since the build (None: none)


class KeywordIndex:
    """The postings file, memory-mapped: lookups touch only the pages of the query's terms."""

    def __init__(self, path: Path, header: dict, arrays: dict[str, np.ndarray]):
        self.path = path
        self.max_id: int = header["max_id"]
        self.n_docs: int = header["n_docs"]
        self._blob = arrays["term_bytes"]
        self._term_off = arrays["term_offsets"]
        self._term_groups = arrays["term_groups"]
        self._starts = arrays["starts"]
        self._docs = arrays["docs"]
        self._tfs = arrays["tfs"]
        self._lengths = arrays["lengths"]  # by chunk id; -1: no such chunk in the file
        self._tail: _Tail | None = None
        self.stat = os.stat(path)

    # -- the file ---------------------------------------------------------------------------
    @classmethod
    def load(cls, path: Path, database_id: str) -> KeywordIndex | None:
        """The file at `path` if it is whole (its CRC-32 checked: one read of the file, ~0.5 s
        at 1M chunks, once per process) and of this database (`database_id`: its
        `created_at`), else None (a damaged file is logged and ignored)."""
        try:
            with open(path, "rb") as f:
                if f.read(8) != MAGIC:
                    raise ValueError("not a keyword index")
                n = int.from_bytes(f.read(8), "little")
                header = json.loads(f.read(n))
            if header.get("version") != VERSION:
                raise ValueError(f"format {header.get('version')}, not {VERSION}")
            if header.get("database") != database_id:
                logger.info("ignoring %s: it was built from another database", path)
                return None
            size = os.path.getsize(path)
            if _crc_of_arrays(path, header["arrays"]) != header.get("crc32"):
                raise ValueError("its contents do not match their checksum")
            arrays = {}
            for name, (offset, dtype, count) in header["arrays"].items():
                if offset + np.dtype(dtype).itemsize * count > size:
                    raise ValueError(f"{name} runs past the end of the file")
                # a plain ndarray view of the mapping: slicing a np.memmap costs ~5 us each
                arrays[name] = (np.memmap(path, dtype=dtype, mode="r", offset=offset, shape=(count,)).view(np.ndarray)
                                if count else np.zeros(0, dtype))
            return cls(path, header, arrays)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as e:
            logger.warning("ignoring %s (%s); keyword search uses FTS5 until it is rebuilt", path, e)
            return None

    @staticmethod
    def build(db_path: Path, path: Path, progress: Callable[[int, int], None] | None = None,
              batch: int = 20_000) -> int:
        """Write the file for the database at `db_path` (its own read-only connection, one
        read transaction: a consistent state while writers go on; the store's lock is not
        held, so searches continue), atomically: a temporary file renamed over `path`.
        Returns the chunks indexed. Memory: ~12 bytes a posting at the peak (~1.3 GB at
        1M chunks), the postings placed by a counting sort, batch by batch."""
        db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, isolation_level=None)
        tmp = path.with_name(f"{path.name}.tmp-{os.getpid()}")
        vocab: dict[str, int] = {}  # token -> id in order of first sight
        parts: list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]] = []  # terms, counts, chunks, per chunk
        per_term = np.zeros(0, np.int64)
        try:
            db.execute("BEGIN")
            generation = int(db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()[0])
            database = db.execute("SELECT value FROM meta WHERE key = 'created_at'").fetchone()[0]
            max_id, n_docs = db.execute("SELECT coalesce(max(rowid), 0), count(*) FROM chunk_terms").fetchone()
            lengths = np.full(max_id + 1, -1, np.int32)
            for cid, sz in db.execute("SELECT id, sz FROM chunk_terms_docsize"):
                lengths[cid] = sqlite_varint(sz)[0]
            done, last = 0, 0
            while rows := db.execute("SELECT rowid, terms FROM chunk_terms WHERE rowid > ? ORDER BY rowid LIMIT ?",
                                     (last, batch)).fetchall():
                t_ids: list[int] = []
                tfs: list[int] = []
                sizes: list[int] = []
                for _, text in rows:
                    c = Counter(fts_tokens(text or ""))
                    t_ids += [vocab.setdefault(t, len(vocab)) for t in c]
                    tfs += c.values()
                    sizes.append(len(c))
                terms = np.array(t_ids, np.int32)
                counted = np.bincount(terms, minlength=len(vocab))
                counted[: len(per_term)] += per_term
                per_term = counted
                parts.append((terms, np.array(tfs, np.uint32), np.array([r[0] for r in rows], np.int64),
                              np.array(sizes, np.int64)))
                last = rows[-1][0]
                done += len(rows)
                if progress:
                    progress(done, n_docs)
            db.execute("COMMIT")
        finally:
            db.close()
        # postings grouped by term (in order of first sight), chunk ids ascending in each group
        starts = np.zeros(len(vocab) + 1, np.int64)
        np.cumsum(per_term, out=starts[1:])
        big_tf = any(p[1].size and p[1].max() >= 2**16 for p in parts)
        docs = np.empty(int(starts[-1]), np.int32 if max_id < 2**31 else np.int64)
        tf_all = np.empty(int(starts[-1]), np.uint32 if big_tf else np.uint16)
        fill = starts[:-1].copy()
        while parts:
            terms, tfs_, chunk_ids, sizes_ = parts.pop(0)
            order = np.argsort(terms, kind="stable")
            ts = terms[order]
            uniq, first, cnt = np.unique(ts, return_index=True, return_counts=True)
            dest = fill[ts] + (np.arange(len(ts)) - np.repeat(first, cnt))
            docs[dest] = np.repeat(chunk_ids, sizes_)[order]
            tf_all[dest] = tfs_[order]
            fill[uniq] += cnt
        # the dictionary: tokens in UTF-8 byte order (binary search), each with its group
        words = [w.encode() for w in vocab]
        del vocab
        order_ = sorted(range(len(words)), key=words.__getitem__)
        sorted_words = [words[i] for i in order_]
        blob = np.frombuffer(b"".join(sorted_words), np.uint8)
        offsets = np.zeros(len(words) + 1, np.int64)
        np.cumsum([len(w) for w in sorted_words], out=offsets[1:])
        arrays = {"term_bytes": blob, "term_offsets": offsets, "term_groups": np.array(order_, np.int64),
                  "starts": starts, "docs": docs, "tfs": tf_all, "lengths": lengths}
        header = {"version": VERSION, "database": database, "generation": generation, "max_id": int(max_id),
                  "n_docs": int(n_docs), "n_terms": len(words), "arrays": {}}
        try:
            _write(tmp, header, arrays)
            crash_point("keywords-file-written")
            os.replace(tmp, path)
        finally:
            tmp.unlink(missing_ok=True)
        return int(n_docs)

    # -- searching --------------------------------------------------------------------------
    def _postings(self, token: str) -> tuple[np.ndarray, np.ndarray] | None:
        """(chunk ids, counts) of `token`, by binary search over the sorted term bytes."""
        key = token.encode()
        lo, hi = 0, len(self._term_off) - 1
        off, blob = self._term_off, self._blob
        while lo < hi:
            mid = (lo + hi) // 2
            if bytes(blob[off[mid]:off[mid + 1]]) < key:
                lo = mid + 1
            else:
                hi = mid
        if lo >= len(off) - 1 or bytes(blob[off[lo]:off[lo + 1]]) != key:
            return None
        g = self._term_groups[lo]
        s, e = self._starts[g], self._starts[g + 1]
        return self._docs[s:e], self._tfs[s:e]

    def _tail_state(self, store: Store) -> _Tail | None:
        """The chunks added and removed since the build, as of the store's generation (None:
        too many added to score in Python; FTS5 answers until the file is rebuilt)."""
        gen = store.generation
        t = self._tail
        if t is not None and t.generation == gen:
            return t
        upto, after = store.chunk_counts_around(self.max_id)
        if after > MAX_TAIL:
            return None
        if t is None:
            t = _Tail(last_id=self.max_id)
        for cid, text, size in store.chunk_terms_after(t.last_id):
            j = len(t.ids)
            t.ids.append(cid)
            t.lengths.append(sqlite_varint(size)[0])
            for tok, c in Counter(fts_tokens(text or "")).items():
                pos, cnt = t.postings.setdefault(tok, ([], []))
                pos.append(j)
                cnt.append(c)
            t.last_id = cid
        t.id_array, t.length_array = np.array(t.ids, np.int64), np.array(t.lengths, np.float64)
        t.alive = np.isin(t.id_array, store.chunk_ids_after(self.max_id))
        t.dead = None
        if upto != self.n_docs:
            t.dead = self._lengths >= 0
            t.dead[store.chunk_ids_upto(self.max_id)] = False
        t.generation = gen
        self._tail = t
        return t

    def needs_rebuild(self, store: Store) -> bool:
        """True once the chunks added or removed since the build pass `REBUILD_SHARE` of the
        file's, or half of `MAX_TAIL`."""
        upto, after = store.chunk_counts_around(self.max_id)
        changed = after + self.n_docs - upto
        return changed > min(REBUILD_SHARE * self.n_docs, MAX_TAIL // 2)

    def search(self, store: Store, terms: Sequence[str], n: int,
               allowed: np.ndarray | None = None) -> list[tuple[int, float]] | None:
        """Top `n` chunks by BM25 over `terms`, as `Store.keyword_search` ranks them (the
        same scores; ties by id), restricted to `allowed` ids when given. A term of several
        tokens (a phrase) is scored by FTS5 alone and added in its place in the sum; None
        (FTS5 answers) for a term without a token or a tail too long to score here."""
        tokens: list[str | None] = []  # None: a phrase, scored by FTS5
        for t in terms:
            tok = fts_tokens(t)
            if not tok:
                return None
            tokens.append(tok[0] if len(tok) == 1 else None)
        tail = self._tail_state(store)
        if tail is None:
            return None
        rows, total = store.fts_stats()
        if not tokens or not rows:
            return []
        df = store.term_doc_counts(sorted({t for t in tokens if t is not None}))
        avgdl = total / rows
        scores = np.zeros(self.max_id + 1, np.float64)
        tail_ids, tail_lengths = tail.id_array, tail.length_array
        tail_scores = np.zeros(len(tail_ids), np.float64)
        for term, tok in zip(terms, tokens):  # in the query's order, as bm25() sums its phrases
            if tok is None:
                # a phrase ("3.5" is "3 5"): its share of the sum is the score of a query of it
                # alone, which FTS5 computes from its positions; usually few rows match it
                ids, share = store.phrase_scores(term)
                in_file = ids <= self.max_id
                scores[ids[in_file]] += share[in_file]
                j = np.searchsorted(tail_ids, ids[~in_file])  # tail ids ascend; FTS5 rows are live
                tail_scores[j] += share[~in_file]
                continue
            w = idf(rows, df.get(tok, 0))
            post = self._postings(tok)
            if post is not None and len(post[0]):
                ids = post[0]
                scores[ids] += term_share(w, post[1].astype(np.float64), self._lengths[ids], avgdl)
            if tok in tail.postings:
                j = np.array(tail.postings[tok][0])
                tail_scores[j] += term_share(w, np.array(tail.postings[tok][1], np.float64), tail_lengths[j], avgdl)
        if tail.dead is not None:
            scores[tail.dead] = 0.0
        if allowed is not None:
            allowed = np.asarray(allowed, np.int64)
            inside = allowed[allowed <= self.max_id]
            cand = inside[scores[inside] > 0]
            cand_scores = scores[cand]
            keep = tail.alive & np.isin(tail_ids, allowed)
        else:
            cand = np.flatnonzero(scores)
            cand_scores = scores[cand]
            keep = tail.alive.copy()
        keep &= tail_scores > 0
        cand = np.concatenate([cand, tail_ids[keep]])
        cand_scores = np.concatenate([cand_scores, tail_scores[keep]])
        if len(cand) > n:
            top = np.argpartition(-cand_scores, n - 1)[:n]
            cand, cand_scores = cand[top], cand_scores[top]
        order = np.lexsort((cand, -cand_scores))
        return [(int(cand[i]), float(cand_scores[i])) for i in order]


def _write(path: Path, header: dict, arrays: dict[str, np.ndarray]) -> None:
    """The file: magic, header length, JSON header (offsets of the arrays and a CRC-32 of
    their bytes), then the arrays, each aligned; fsynced before the caller renames it."""
    crc = 0
    for a in arrays.values():
        crc = zlib.crc32(memoryview(np.ascontiguousarray(a)).cast("B"), crc)
    header["crc32"] = crc
    layout, offset = {}, 0
    for _ in range(2):  # the header's length depends on the offsets it lists
        header["arrays"] = layout
        head = json.dumps(header).encode()
        offset = -(-(16 + len(head) + 64) // _ALIGN) * _ALIGN
        layout = {}
        for name, a in arrays.items():
            layout[name] = [offset, a.dtype.str, int(a.size)]
            offset = -(-(offset + a.nbytes) // _ALIGN) * _ALIGN
    header["arrays"] = layout
    head = json.dumps(header).encode()
    with open(path, "wb") as f:
        f.write(MAGIC + len(head).to_bytes(8, "little") + head)
        for name, a in arrays.items():
            gap = layout[name][0] - f.tell()
            assert gap >= 0, "keyword index header outgrew its slack"
            f.write(b"\0" * gap)
            f.write(memoryview(np.ascontiguousarray(a)).cast("B"))  # no copy of the array
        f.flush()
        os.fsync(f.fileno())


def _crc_of_arrays(path: Path, layout: dict[str, list]) -> int:
    """CRC-32 of the arrays' bytes, read with plain reads (pages of the file read through
    the mapping would count in this process's RSS)."""
    crc = 0
    with open(path, "rb") as f:
        for offset, dtype, count in layout.values():
            f.seek(offset)
            left = np.dtype(dtype).itemsize * count
            while left:
                block = f.read(min(left, 1 << 24))
                if not block:
                    raise ValueError("the file ends inside an array")
                crc = zlib.crc32(block, crc)
                left -= len(block)
    return crc
