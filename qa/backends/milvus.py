"""The Milvus index backend: articles, chunks, vectors and keyword terms in Milvus collections.

One client (`pymilvus.MilvusClient`) for an embedded milvus-lite file (`./archive.db`, a
single user, tests) and a Milvus server or cluster (`http://host:19530`), so every app server
and every ingest worker sees the same archive. Collections (name prefix `qa` by default):

- `{prefix}_articles`: one row per article (pk `id`), the citation fields, `content_hash`
  (the commit mark: written last, so `hashes()` never calls a half-written article done),
  `pipeline`, and the first 16,000 characters of the text; longer texts go on in
  `{prefix}_texts` (Milvus caps a VARCHAR at 65,535 bytes; articles may be 1M characters).
- `{prefix}_chunks`: pk `id` (int64, deterministic from article id, content hash and
  ordinal, so a re-run writes the same ids and shards never collide), span, text, `terms`
  (our own jieba-segmented, normalised terms, so BM25 sees the very tokens FTS5 sees), a
  BM25 sparse vector computed by Milvus from `terms`, the dense `vector` (inner product =
  cosine: vectors are L2-normalised), and the filter fields `date`, `source`, `page_key`
  copied from the article so one expression filters chunks.
- `{prefix}_meta`: settings every process shares (model, dim, chunking, pipeline).

Milvus needs a vector field in every collection: articles, texts and meta carry a constant
2-dim `_v`. Writes are not transactions: the order (old chunks deleted, new chunks inserted,
article row upserted) makes a killed writer's article look unfinished, and readers leave out
chunks whose article row is missing (`chunk_rows`); `check()` counts them.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import re
import threading
from collections import Counter
from collections.abc import Iterable, Iterator, Sequence
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..crashpoints import crash_point
from ..errors import ArchiveClosedError, NotFoundError, QAError
from ..filters import page_key
from ..records import Article, Citation
from ..store import PARTIAL, ChunkRow, Filters, PreparedArticle, WriteResult, fts_tokens
from . import IndexBackend

logger = logging.getLogger(__name__)

TEXT_PIECE_CHARS = 16_000  # <= 64,000 UTF-8 bytes even for 4-byte characters: fits a VARCHAR
MAX_VARCHAR = 65_535
MAX_TOPK = 16_384  # Milvus's limit on search and query results
_BATCH = 500  # ids per `in [...]` expression
_DUMMY = [1.0, 0.0]
_ARTICLE_FIELDS = ["id", "title", "text", "text_parts", "date", "page", "source", "byline", "source_file",
                   "metadata", "ingested_at"]
_CHUNK_FIELDS = ["id", "article_id", "ordinal", "start", "end", "text"]
# open backends per milvus-lite file in this process: the in-process server (and the data
# directory's lock) is released when the last one closes, so another process can open it
_lite_users: Counter[str] = Counter()
_lite_lock = threading.Lock()
_LITE_GRPC_OPTIONS = {"grpc.keepalive_permit_without_calls": 0, "grpc.keepalive_time_ms": 300_000}




def stored_page_key(page: str | None) -> str:
    """`qa.filters.page_key` of a stored page label, so a filter for "3" finds page "03"
    ("" when there is no page: no filter value has that key)."""
    return page_key(page) if page else ""


def literal(value: str) -> str:
    """A Milvus expression string literal."""
    return json.dumps(value, ensure_ascii=False)


def filters_expr(f: Filters | None) -> str:
    """A Milvus boolean expression over the filter fields (present on articles and chunks)."""
    if f is None or f.is_empty():
        return ""
    where = []
    if f.date_from or f.date_to:
        where.append('date != ""')  # undated articles pass no date filter (SQL: NULL)
    if f.date_from:
        where.append(f"date >= {literal(f.date_from)}")
    if f.date_to:
        where.append(f"date <= {literal(f.date_to + chr(0xFFFF) if len(f.date_to) == 10 else f.date_to)}")
    if f.source:
        where.append(f"source == {literal(f.source)}")
    if f.page:
        where.append(f"page_key == {literal(page_key(f.page))}")
    return " and ".join(where)


def chunk_id(article_id: str, content_hash: str, ordinal: int) -> int:
    """A positive int64 that only this chunk of this version of this article gets."""
    digest = hashlib.blake2b(f"{article_id}\0{content_hash}\0{ordinal}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") & (2**63 - 1)


def _fit(value: str | None, limit: int = MAX_VARCHAR) -> str:
    """`value` ("" for None) cut to `limit` UTF-8 bytes (a VARCHAR's cap)."""
    value = value or ""
    raw = value.encode()
    return value if len(raw) <= limit else raw[:limit].decode(errors="ignore")


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _in(field: str, values: Sequence[Any]) -> str:
    return f"{field} in [{', '.join(literal(v) if isinstance(v, str) else str(int(v)) for v in values)}]"


def _none(value: str) -> str | None:
    return value or None


class MilvusBackend(IndexBackend):
    """An archive in Milvus collections.

    Args:
        location: a milvus-lite file (`./archive.db`; the directory it names is created) or a
            server URI (`http://host:19530`).
        token: the server's token ("user:password" or an API key); unused for a file.
        prefix: collection name prefix, so several archives share one Milvus.
        dim: vector dimension, when known before the first write (else from meta or the
            first write).
        flush: "batch" (flush after every write: BM25 searches are ~10x slower on unflushed
            data) or "end" (only when `flush()` is called, e.g. at the end of an ingest).
        vector_index: Milvus index type of the dense vectors when the chunks collection is
            created (default HNSW, searched wide enough to give the exact top n on our sets;
            FLAT: exact, slower).
    """

    kind: ClassVar[str] = "milvus"

    def __init__(self, location: str | Path, token: str = "", prefix: str = "qa", dim: int | None = None,
                 flush: str = "batch", vector_index: str | None = None):
        try:
            from pymilvus import MilvusClient
        except ImportError as e:
            raise QAError("the Milvus backend needs pymilvus (and milvus-lite for a local file): "
                          "pip install 'archive-qa[milvus]'") from e
        location = str(location)
        self.remote = bool(re.match(r"^(https?|tcp|grpc)://", location))
        if not self.remote:
            if not location.endswith(".db"):
                raise ValueError(f"{location}: a milvus-lite archive is a path ending in .db "
                                 f"(or give a server URI, http://host:19530)")
            Path(location).parent.mkdir(parents=True, exist_ok=True)
        if flush not in ("batch", "end"):
            raise ValueError(f"flush must be 'batch' or 'end', not {flush!r}")
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", prefix):
            raise ValueError(f"collection prefix {prefix!r}: letters, digits and _ only, not starting with a digit")
        self.location = location
        self.flush_policy = flush
        self.vector_index = vector_index
        self._client = self._connect(MilvusClient, token)
        self.articles_name, self.texts_name = f"{prefix}_articles", f"{prefix}_texts"
        self.chunks_name, self.meta_name = f"{prefix}_chunks", f"{prefix}_meta"
        self.dim: int | None = None
        try:
            self._ensure(self.meta_name, self._meta_schema)
            self._ensure(self.articles_name, self._articles_schema)
            self._ensure(self.texts_name, self._texts_schema)
            if self.client.has_collection(self.chunks_name):
                self._load_chunks()
            elif dim or self.get_meta("dim"):
                self._create_chunks(int(dim or self.get_meta("dim")))  # type: ignore[arg-type]
            if self.get_meta("created_at") is None:
                self.set_meta("created_at", _now())
        except BaseException:
            self.close()
            raise

    def _load_chunks(self) -> None:
        """Load the chunks collection and take the vector dimension from its schema (another
        writer may have created it and not yet recorded `dim` in meta)."""
        self.client.load_collection(self.chunks_name)
        fields = self.client.describe_collection(self.chunks_name)["fields"]
        self.dim = next(int(f["params"]["dim"]) for f in fields if f["name"] == "vector")

    @property
    def client(self):
        """The pymilvus client; `ArchiveClosedError` after `close()`."""
        if self._client is None:
            raise ArchiveClosedError(f"{self.location}: the Milvus backend is closed")
        return self._client

    def _connect(self, client_class, token: str):
        """A client; an engine that cannot be reached or opened is one line for the user."""
        if self.remote:
            try:
                return client_class(uri=self.location, token=token)
            except Exception as e:
                raise QAError(f"{self.location}: cannot reach the Milvus server ({e})") from e
        key = str(Path(self.location).resolve())
        with _lite_lock:
            try:
                # no keepalive pings on an idle connection: milvus-lite's in-process server answers
                # pymilvus's default (every 10 s, idle or not) with GOAWAY "too_many_pings", and
                # the next client of the same file then failed to reconnect (seen in CI)
                client = client_class(uri=self.location, grpc_options=_LITE_GRPC_OPTIONS)
            except Exception as e:
                raise QAError(f"{self.location}: cannot open the milvus-lite archive ({e}); another process may "
                              f"hold it: several processes share one archive through a server "
                              f"(milvus-lite server --data-dir {self.location} --host 127.0.0.1)") from e
            _lite_users[key] += 1
        return client

    # -- collections ------------------------------------------------------------------------
    def _schema(self):
        from pymilvus import MilvusClient

        return MilvusClient.create_schema(auto_id=False, enable_dynamic_field=False)

    def _index(self, *specs: tuple[str, str, str]):
        params = self.client.prepare_index_params()
        for field, index_type, metric in specs:
            params.add_index(field, index_type=index_type, metric_type=metric)
        return params

    def _ensure(self, name: str, make) -> None:
        if self.client.has_collection(name):
            self.client.load_collection(name)
            return
        self._create(name, make(), self._index(("_v", "AUTOINDEX", "IP")))

    def _meta_schema(self):
        from pymilvus import DataType

        s = self._schema()
        s.add_field("key", DataType.VARCHAR, is_primary=True, max_length=256)
        s.add_field("value", DataType.VARCHAR, max_length=MAX_VARCHAR)
        s.add_field("_v", DataType.FLOAT_VECTOR, dim=2)
        return s

    def _articles_schema(self):
        from pymilvus import DataType

        s = self._schema()
        s.add_field("id", DataType.VARCHAR, is_primary=True, max_length=4096)
        for name in ("title", "text", "metadata"):
            s.add_field(name, DataType.VARCHAR, max_length=MAX_VARCHAR)
        s.add_field("text_parts", DataType.INT64)  # pieces of the text in {prefix}_texts
        for name, size in (("date", 64), ("page", 256), ("page_key", 256), ("source", 1024), ("byline", 1024),
                           ("source_file", 4096), ("content_hash", 256), ("pipeline", 256), ("ingested_at", 64)):
            s.add_field(name, DataType.VARCHAR, max_length=size)
        s.add_field("_v", DataType.FLOAT_VECTOR, dim=2)
        return s

    def _texts_schema(self):
        from pymilvus import DataType

        s = self._schema()
        s.add_field("id", DataType.VARCHAR, is_primary=True, max_length=4200)  # "{part}:{article id}"
        s.add_field("article_id", DataType.VARCHAR, max_length=4096)
        s.add_field("part", DataType.INT64)
        s.add_field("text", DataType.VARCHAR, max_length=MAX_VARCHAR)
        s.add_field("_v", DataType.FLOAT_VECTOR, dim=2)
        return s

    def _create_chunks(self, dim: int) -> None:
        """The chunks collection. Its `terms` analyzer is `whitespace` where the engine has
        it (Milvus servers), else `standard` (milvus-lite 3.2.2 knows only `standard` and
        `jieba`): on our pre-tokenised terms (`fts_tokens`) both give the same tokens,
        while `standard` on a server would cut Chinese into single characters."""
        lite = str(self.client.get_server_version()).startswith("milvus_lite")  # asking would log an error
        try:
            self._create_chunks_with(dim, "standard" if lite else "whitespace")
        except Exception as e:
            if lite or "tokenizer" not in str(e):
                raise
            self._create_chunks_with(dim, "standard")

    def _create_chunks_with(self, dim: int, analyzer: str) -> None:
        from pymilvus import DataType, Function, FunctionType

        s = self._schema()
        s.add_field("id", DataType.INT64, is_primary=True)
        s.add_field("article_id", DataType.VARCHAR, max_length=4096)
        for name in ("ordinal", "start", "end"):
            s.add_field(name, DataType.INT64)
        s.add_field("text", DataType.VARCHAR, max_length=MAX_VARCHAR)
        s.add_field("terms", DataType.VARCHAR, max_length=MAX_VARCHAR, enable_analyzer=True,
                    analyzer_params={"tokenizer": analyzer})
        s.add_field("bm25", DataType.SPARSE_FLOAT_VECTOR)
        s.add_field("vector", DataType.FLOAT_VECTOR, dim=dim)
        for name, size in (("date", 64), ("source", 1024), ("page_key", 256)):
            s.add_field(name, DataType.VARCHAR, max_length=size)
        s.add_function(Function(name="terms_bm25", function_type=FunctionType.BM25,
                                input_field_names=["terms"], output_field_names=["bm25"]))
        # HNSW, searched with ef >= 4n (`dense_search`): the exact top 50 for 100 of 100 DRCD
        # questions on 2,289 chunks at 10 ms; searched with its default ef 64 (AUTOINDEX) only
        # 96% of it; FLAT (exact) took 45 ms on milvus-lite (2026-11-30, load 10)
        index = self._index(("vector", self.vector_index or "HNSW", "IP"), ("bm25", "SPARSE_INVERTED_INDEX", "BM25"))
        self._create(self.chunks_name, s, index)
        self._load_chunks()  # the dimension of whoever created it
        if self.get_meta("dim") is None:
            self.set_meta("dim", str(self.dim))

    def _create(self, name: str, schema, index) -> None:
        """Create a collection, or load it if another writer just created it."""
        try:
            self.client.create_collection(name, schema=schema, index_params=index, consistency_level="Strong")
        except Exception:
            if not self.client.has_collection(name):
                raise
            self.client.load_collection(name)

    def _has_chunks(self) -> bool:
        """Whether the chunks collection exists (made by the first write, maybe another process's)."""
        if self.dim is None and self.client.has_collection(self.chunks_name):
            self._load_chunks()
        return self.dim is not None

    # -- low-level reads --------------------------------------------------------------------
    def _query(self, name: str, expr: str, fields: list[str], limit: int | None = None) -> list[dict[str, Any]]:
        kwargs: dict[str, Any] = {"limit": limit} if limit else {}
        return self.client.query(name, filter=expr, output_fields=fields, **kwargs)

    def _scan(self, name: str, expr: str, fields: list[str], batch: int = 2000) -> Iterator[dict[str, Any]]:
        """Every row matching `expr`: one query when it fits Milvus's 16,384-row window,
        else paged by a query iterator."""
        rows = self.client.query(name, filter=expr, output_fields=fields, limit=MAX_TOPK)
        if len(rows) < MAX_TOPK:
            yield from rows
            return
        it = self.client.query_iterator(name, batch_size=batch, filter=expr, output_fields=fields)
        try:
            while rows := it.next():
                yield from rows
        finally:
            it.close()

    def _count(self, name: str, expr: str = "") -> int:
        rows = self.client.query(name, filter=expr, output_fields=["count(*)"])
        return int(rows[0]["count(*)"]) if rows else 0

    def _rows_in(self, name: str, field: str, values: Sequence[Any], fields: list[str],
                 extra: str = "") -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        values = list(values)
        for i in range(0, len(values), _BATCH):
            expr = _in(field, values[i : i + _BATCH]) + (f" and ({extra})" if extra else "")
            out += self._scan(name, expr, fields)
        return out

    def _full_texts(self, rows: list[dict[str, Any]]) -> dict[str, str]:
        """Article id -> whole text, joining the pieces kept in the texts collection."""
        texts = {r["id"]: r["text"] for r in rows}
        long_ids = [r["id"] for r in rows if r.get("text_parts")]
        if long_ids:
            pieces: dict[str, list[tuple[int, str]]] = {}
            for p in self._rows_in(self.texts_name, "article_id", long_ids, ["article_id", "part", "text"]):
                pieces.setdefault(p["article_id"], []).append((p["part"], p["text"]))
            for aid, ps in pieces.items():
                texts[aid] += "".join(t for _, t in sorted(ps))
        return texts

    def _articles_of(self, rows: list[dict[str, Any]]) -> list[Article]:
        texts = self._full_texts(rows)
        return [Article(r["id"], r["title"], texts[r["id"]], _none(r["date"]), _none(r["page"]), _none(r["source"]),
                        _none(r["byline"]), _none(r["source_file"]), json.loads(r["metadata"] or "{}"),
                        r["ingested_at"]) for r in rows]

    # -- meta -------------------------------------------------------------------------------
    def get_meta(self, key: str) -> str | None:
        rows = self._query(self.meta_name, f"key == {literal(key)}", ["value"])
        return rows[0]["value"] if rows else None

    def set_meta(self, key: str, value: str) -> None:
        self.client.upsert(self.meta_name, [{"key": key, "value": value, "_v": _DUMMY}])

    # -- writing ----------------------------------------------------------------------------
    @contextlib.contextmanager
    def writing(self, wait: bool = True) -> Iterator[bool]:
        """No lock: several writers (processes, machines) may write disjoint shards at once."""
        yield True

    def write(self, batch: Sequence[PreparedArticle]) -> WriteResult:
        """Old chunks of replaced articles deleted, new chunks inserted, then the article rows
        upserted with their hash (PARTIAL until the last part): a writer killed anywhere
        leaves its articles to be redone by the next run, never taken for finished."""
        if not batch:
            return WriteResult(0, 0, [], [], 0, 0)
        dims = {a.vectors.shape[1] for a in batch if len(a.spans)}
        if not self._has_chunks():
            self._create_chunks(next(iter(dims)) if dims else int(self.get_meta("dim") or 0) or 1)
        if dims and dims != {self.dim}:
            raise ValueError(f"{self.location}: vectors of dimension {sorted(dims)} for an archive of dimension {self.dim}")
        ids = list(dict.fromkeys(a.record.id for a in batch))
        state = {r["id"]: r["content_hash"] for r in self._rows_in(self.articles_name, "id", ids, ["id", "content_hash"])}
        added = updated = 0
        firsts: list[str] = []
        final: dict[str, PreparedArticle] = {}
        for art in batch:
            aid, prev = art.record.id, state.get(art.record.id)
            if not art.first:
                if prev != PARTIAL + art.content_hash:
                    raise RuntimeError(f"article {aid!r}: a later part without its first part")
            else:
                if prev is None:
                    added += 1
                else:
                    updated += not prev.startswith(PARTIAL)
                    added += prev.startswith(PARTIAL)
                firsts.append(aid)
            state[aid] = art.content_hash if art.last else PARTIAL + art.content_hash
            final[aid] = art
        removed: list[int] = []
        if firsts:
            removed = [r["id"] for r in self._rows_in(self.chunks_name, "article_id", firsts, ["id"])]
            for i in range(0, len(firsts), _BATCH):
                self.client.delete(self.chunks_name, filter=_in("article_id", firsts[i : i + _BATCH]))
        chunks, new_ids = [], []
        for art in batch:
            r = art.record
            vecs = np.ascontiguousarray(art.vectors, dtype=np.float32)
            for (ordinal, s, e), terms, vec in zip(art.spans, art.terms, vecs):
                cid = chunk_id(r.id, art.content_hash, ordinal)
                chunks.append({"id": cid, "article_id": r.id, "ordinal": ordinal, "start": s, "end": e,
                               "text": r.text[s:e], "terms": " " + " ".join(fts_tokens(terms)) + " ",
                               "vector": vec.tolist(), "date": _fit(r.date, 64), "source": _fit(r.source, 1024),
                               "page_key": _fit(stored_page_key(r.page), 256)})
                new_ids.append(cid)
        for i in range(0, len(chunks), 1000):
            self.client.insert(self.chunks_name, chunks[i : i + 1000])
        crash_point("milvus-chunks-written")
        now = _now()
        texts, rows = [], []
        for aid, art in final.items():
            r = art.record
            pieces = [r.text[i : i + TEXT_PIECE_CHARS] for i in range(0, len(r.text), TEXT_PIECE_CHARS)] or [""]
            if aid in firsts:
                texts += [{"id": f"{n}:{aid}", "article_id": aid, "part": n, "text": t, "_v": _DUMMY}
                          for n, t in enumerate(pieces[1:], 1)]
            rows.append({"id": aid, "title": _fit(r.title), "text": pieces[0], "text_parts": len(pieces) - 1,
                         "metadata": json.dumps(r.metadata, ensure_ascii=False), "date": _fit(r.date, 64),
                         "page": _fit(r.page, 256), "page_key": _fit(stored_page_key(r.page), 256),
                         "source": _fit(r.source, 1024), "byline": _fit(r.byline, 1024),
                         "source_file": _fit(r.source_file, 4096), "content_hash": state[aid],
                         "pipeline": art.pipeline or "", "ingested_at": now, "_v": _DUMMY})
        if firsts:
            for i in range(0, len(firsts), _BATCH):
                self.client.delete(self.texts_name, filter=_in("article_id", firsts[i : i + _BATCH]))
        if texts:
            self.client.upsert(self.texts_name, texts)
        self.client.upsert(self.articles_name, rows)
        self.set_meta("last_ingest_at", now)
        if self.flush_policy == "batch":
            self.flush()
        return WriteResult(added, updated, removed, new_ids, 0, 0)

    def remove_many(self, article_ids: Sequence[str], missing_ok: bool = True) -> list[int]:
        """The article rows go first (then the article is gone for every reader), then its
        chunks and text pieces; chunks of ids without a row are removed too (a killed
        writer's leftovers)."""
        ids = list(dict.fromkeys(article_ids))
        if not ids:
            return []
        present = {r["id"] for r in self._rows_in(self.articles_name, "id", ids, ["id"])}
        missing = [i for i in ids if i not in present]
        if missing and not missing_ok:
            raise NotFoundError(f"no article with id {missing[0]!r} in {self.location}")
        removed = []
        for i in range(0, len(ids), _BATCH):
            part = ids[i : i + _BATCH]
            self.client.delete(self.articles_name, filter=_in("id", part))
            if self._has_chunks():
                removed += [r["id"] for r in self._scan(self.chunks_name, _in("article_id", part), ["id"])]
                self.client.delete(self.chunks_name, filter=_in("article_id", part))
            self.client.delete(self.texts_name, filter=_in("article_id", part))
        self.set_meta("last_ingest_at", _now())
        if self.flush_policy == "batch":
            self.flush()
        return removed

    def flush(self) -> None:
        """Seal what was written: BM25 over unflushed rows is ~10x slower (issue 11)."""
        for name in (self.articles_name, self.texts_name, self.chunks_name):
            if name != self.chunks_name or self._has_chunks():
                self.client.flush(name)

    def hashes(self, ids: Iterable[str]) -> dict[str, str]:
        return {r["id"]: r["content_hash"]
                for r in self._rows_in(self.articles_name, "id", list(ids), ["id", "content_hash"])}

    def stored_vectors(self, article_id: str) -> tuple[str, str, str | None, list[tuple[str, np.ndarray]]]:
        rows = self._query(self.articles_name, f"id == {literal(article_id)}", ["id", "title", "text", "text_parts",
                                                                              "pipeline"])
        if not rows:
            return "", "", None, []
        text = self._full_texts(rows)[article_id]
        chunks = []
        if self._has_chunks():
            chunks = sorted(self._scan(self.chunks_name, f"article_id == {literal(article_id)}",
                                       ["ordinal", "text", "vector"]), key=lambda c: c["ordinal"])
        return (rows[0]["title"], text, _none(rows[0]["pipeline"]),
                [(c["text"], np.asarray(c["vector"], dtype=np.float32)) for c in chunks])

    def page_article_ids(self, prefix: str) -> list[str]:
        """Ids `prefix-NN` and `prefix-NN-photo-N` of page articles and captions."""
        expr = f"id >= {literal(prefix + '-')} and id < {literal(prefix + '.')}"  # "." follows "-"
        tail = re.compile(r"\d+(-photo-\d+)?")
        out = []
        for r in self._scan(self.articles_name, expr, ["id", "metadata"]):
            kind = json.loads(r["metadata"] or "{}").get("kind")
            if kind in ("article", "caption") and tail.fullmatch(r["id"][len(prefix) + 1 :]):
                out.append(r["id"])
        return out

    def pipeline_counts(self) -> dict[str | None, int]:
        counts = Counter(r["pipeline"] for r in self._scan(self.articles_name, "", ["pipeline"]))
        return {_none(k): v for k, v in counts.items()}

    def articles_not_at(self, pipeline: str, after: Any, limit: int) -> list[tuple[Any, Article]]:
        """By article id: those after `after` indexed by another pipeline or partly written."""
        expr = f'(pipeline != {literal(pipeline)} or content_hash like "{PARTIAL}%")'
        if after is not None:
            expr += f" and id > {literal(after)}"
        ids = sorted(r["id"] for r in self._scan(self.articles_name, expr, ["id"]))[:limit]
        rows = {r["id"]: r for r in self._rows_in(self.articles_name, "id", ids, _ARTICLE_FIELDS)}
        return [(a.id, a) for a in self._articles_of([rows[i] for i in ids if i in rows])]

    # -- reading ----------------------------------------------------------------------------
    def get(self, article_id: str) -> Article:
        rows = self._query(self.articles_name, f"id == {literal(article_id)}", _ARTICLE_FIELDS)
        if not rows:
            raise NotFoundError(f"no article with id {article_id!r}")
        return self._articles_of(rows)[0]

    def articles(self, filters: Filters | None = None) -> Iterator[Article]:
        """Every stored article (optionally filtered), by date (undated first), then id."""
        rows = sorted(self._scan(self.articles_name, filters_expr(filters), _ARTICLE_FIELDS),
                      key=lambda r: (r["date"], r["id"]))
        for i in range(0, len(rows), _BATCH):
            yield from self._articles_of(rows[i : i + _BATCH])

    def facets(self) -> dict[str, Any]:
        dates, sources, pages = set(), Counter(), set()
        for r in self._scan(self.articles_name, "", ["date", "source", "page"]):
            if r["date"]:
                dates.add(r["date"])
            if r["source"]:
                sources[r["source"]] += 1
            if r["page"]:
                pages.add(r["page"])
        return {"date_min": min(dates, default=None), "date_max": max(dates, default=None),
                "sources": [s for s, _ in sources.most_common()], "pages": sorted(pages)}

    def counts(self) -> dict[str, int]:
        chunks = self.chunk_count()
        return {"articles": self._count(self.articles_name), "chunks": chunks, "vectors": chunks}

    def chunk_count(self) -> int:
        return self._count(self.chunks_name) if self._has_chunks() else 0

    def chunk_rows(self, ids: Sequence[int]) -> dict[int, ChunkRow]:
        """Chunks by id with their article's citation fields; chunks whose article row is
        missing (a writer killed before its commit mark) are left out."""
        if not ids or not self._has_chunks():
            return {}
        chunks = self._rows_in(self.chunks_name, "id", [int(i) for i in ids], _CHUNK_FIELDS)
        art_ids = list({c["article_id"] for c in chunks})
        arts = {r["id"]: r for r in self._rows_in(self.articles_name, "id", art_ids,
                                                   ["id", "title", "date", "page", "byline", "source",
                                                    "source_file", "metadata"])}
        out: dict[int, ChunkRow] = {}
        for c in chunks:
            a = arts.get(c["article_id"])
            if a is None:
                continue
            section = json.loads(a["metadata"] or "{}").get("section_title")
            cit = Citation(a["id"], a["title"], _none(a["date"]), _none(a["page"]), _none(a["byline"]),
                           _none(a["source"]), _none(a["source_file"]), section)
            out[c["id"]] = ChunkRow(c["id"], c["article_id"], c["ordinal"], c["start"], c["end"], c["text"], cit)
        return out

    def keyword_search(self, terms: Sequence[str], n: int, filters: Filters | None = None) -> list[tuple[int, float]]:
        """Top `n` chunks by Milvus's BM25 over our terms (OR semantics), best first."""
        tokens = list(dict.fromkeys(t for term in terms for t in fts_tokens(term)))
        if not tokens or n <= 0 or not self._has_chunks():
            return []
        res = self.client.search(self.chunks_name, data=[" ".join(tokens)], anns_field="bm25",
                                 limit=min(n, MAX_TOPK), filter=filters_expr(filters),
                                 search_params={"metric_type": "BM25"}, output_fields=["ordinal"])
        # milvus-lite 3.2.2 reports BM25 as a negative distance, servers as a positive score
        hits = [(int(h["id"]), abs(float(h["distance"]))) for h in res[0]]
        return [(i, s) for i, s in hits if s > 0]

    def document_frequencies(self, terms: Sequence[str]) -> dict[str, int]:
        """Chunks holding each term. A one-token term: the hits of a BM25 search for it (the
        sparse inverted index: cost grows with the term's chunks, not the archive; capped at
        Milvus's 16,384, a count only near-stopwords reach); a term of several tokens ("3.5"):
        `terms like "% 3 5 %"` (stored terms are space-delimited with a space at both ends, so
        this is FTS5's phrase match; a scan of every chunk's terms)."""
        out = {}
        for t in terms:
            tokens = fts_tokens(t)
            if not tokens or not self._has_chunks():
                out[t] = 0
            elif len(tokens) == 1:
                res = self.client.search(self.chunks_name, data=tokens, anns_field="bm25", limit=MAX_TOPK,
                                         search_params={"metric_type": "BM25"}, output_fields=["ordinal"])
                out[t] = len(res[0])
            else:
                out[t] = self._count(self.chunks_name, f'terms like "% {" ".join(tokens)} %"')
        return out

    def dense_search(self, query: np.ndarray, n: int, filters: Filters | None = None) -> list[tuple[int, float]]:
        if n <= 0 or not self._has_chunks():
            return []
        q = np.asarray(query, dtype=np.float32).reshape(-1).tolist()
        ef = min(max(4 * n, 256), 32_768)  # HNSW (servers): explore wide; FLAT ignores it
        res = self.client.search(self.chunks_name, data=[q], anns_field="vector", limit=min(n, MAX_TOPK),
                                 filter=filters_expr(filters), search_params={"metric_type": "IP", "params": {"ef": ef}},
                                 output_fields=["ordinal"])
        return [(int(h["id"]), float(h["distance"])) for h in res[0]]

    def dense_scores(self, query: np.ndarray, ids: Sequence[int]) -> dict[int, float]:
        """Inner products with the stored vectors of `ids` (absent ids are left out)."""
        if not ids or not self._has_chunks():
            return {}
        rows = self._rows_in(self.chunks_name, "id", [int(i) for i in ids], ["id", "vector"])
        if not rows:
            return {}
        mat = np.asarray([r["vector"] for r in rows], dtype=np.float32)
        scores = mat @ np.asarray(query, dtype=np.float32).reshape(-1)
        return {int(r["id"]): float(s) for r, s in zip(rows, scores)}

    def check(self, full: bool = False) -> list[str]:
        """Chunks without an article row, two chunks at one position of an article, articles
        whose text pieces are missing (`full`: also chunks of an article's older version)."""
        articles = {r["id"]: r for r in self._scan(self.articles_name, "", ["id", "text_parts", "content_hash"])}
        problems = []
        if self._has_chunks():
            orphans, positions, stale = 0, Counter(), 0
            fields = ["id", "article_id", "ordinal"]
            for c in self._scan(self.chunks_name, "", fields):
                a = articles.get(c["article_id"])
                if a is None:
                    orphans += 1
                    continue
                positions[(c["article_id"], c["ordinal"])] += 1
                if full:
                    h = a["content_hash"].removeprefix(PARTIAL)
                    stale += c["id"] != chunk_id(c["article_id"], h, c["ordinal"])
            dups = sum(1 for v in positions.values() if v > 1)
            problems += [f"{n} {what}" for n, what in ((orphans, "chunks without an article"),
                                                       (dups, "duplicated chunks"),
                                                       (stale, "chunks of an older version of their article")) if n]
        parts = Counter(r["article_id"] for r in self._scan(self.texts_name, "", ["article_id"]))
        short = sum(1 for aid, a in articles.items() if parts.get(aid, 0) != a["text_parts"])
        if short:
            problems.append(f"{short} articles with missing text pieces")
        return problems

    def storage_bytes(self) -> dict[str, int]:
        """Bytes of the milvus-lite directory (vectors included: one store); a server's
        collections are not on this machine: zeros."""
        if self.remote:
            return {"db": 0, "vectors": 0}
        root = Path(self.location)
        total = sum(p.stat().st_size for p in root.rglob("*") if p.is_file()) if root.exists() else 0
        return {"db": total, "vectors": 0}

    def close(self) -> None:
        if getattr(self, "_client", None) is None:
            return
        self._client.close()
        self._client = None
        if not self.remote:
            key = str(Path(self.location).resolve())
            with _lite_lock:
                _lite_users[key] -= 1
                if _lite_users[key] <= 0:
                    del _lite_users[key]
                    from milvus_lite.server_manager import server_manager_instance

                    server_manager_instance.release_server(self.location)
