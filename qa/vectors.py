"""The dense index: FAISS over inner product (cosine of L2-normalised vectors), keyed by chunk id.

The SQLite store holds every vector, so this index is derived data: it is saved to
`vectors.faiss` by writing a temp file and renaming it, with a small JSON sidecar naming
the store generation the index was *built at* (not the store's generation at save time),
the vector epoch, model, index type, a SHA-256 of the file's bytes and one of its id set.
`load` refuses a file whose bytes do not match the checksum (zeroed or flipped payload, a
sidecar from another save) or whose sidecar is not a JSON object; the archive then rebuilds
from the store. A file from an older generation is loaded and brought up to date by id
difference with the store (see `qa.archive`), so the two never disagree for long.

Index type, chosen automatically whenever the index is built or saved (`IndexPolicy`):

- below `flat_max` vectors (50k, ~75 MB at dim 384): `flat`, an exact `IndexFlatIP` in an
  `IndexIDMap2`. A query scans everything, which is still only a few ms at 50k.
- from `flat_max` on: `ivf`, an `IndexIVFFlat` with ~4*sqrt(n) lists, probing `nprobe`
  of them per query, with a hash-table direct map so single vectors stay reconstructable.
- from `sq8_min` on (200k): `ivf-sq8`, the same lists holding 8-bit scalar-quantised codes
  (`IndexIVFScalarQuantizer`, QT_8bit of the residuals) instead of float32 copies: a
  quarter of the memory and file (1M vectors: ~0.4 GB instead of 1.5 GB). The store keeps
  the float32 vectors, so this is the one copy that shrinks; `scores()` and `export()` then
  decode codes (cosines within ~3e-3 of the exact ones), and recall@10 against flat drops
  a little (README, "Scale"). Below 200k the exact float32 copy costs under 300 MB.

Why IVF and not HNSW above the threshold: the archive removes and re-adds the chunks of
every changed article, and FAISS's HNSW cannot remove vectors (each removal would mean
rebuilding the graph, about a minute at 100k vectors on two cores), while IVF removes in
place, trains in seconds, and (below `sq8_min`) keeps the vectors uncompressed, so
`scores()` stays exact.
`benchmarks/scale.py` measures flat, IVF and HNSW side by side (build time, size, latency,
recall@10 against flat); see the README for the figures.

One query runs on one OpenMP thread (`single_thread`): FAISS otherwise splits even a
single-vector search across all cores, and on a busy machine (a web server, an ingest
running alongside) each split waits for a core, which made a flat search over 10k vectors
take ~125 ms instead of ~1 ms on two cores. Batches keep all threads.

Filters (`allowed` ids) stay exact: a flat index searches with an id selector; an IVF index
scores a small allowed set exhaustively (probing only a few lists could miss it) and
widens `nprobe` in proportion for a large one.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, NamedTuple

import faiss
import numpy as np

from .crashpoints import crash_point

logger = logging.getLogger(__name__)

IndexKind = Literal["flat", "ivf", "ivf-sq8"]
SIDECAR_TYPES: dict[str, IndexKind] = {"flat-ip": "flat", "ivf-flat-ip": "ivf", "ivf-sq8-ip": "ivf-sq8"}
_SIDECAR_NAMES = {kind: name for name, kind in SIDECAR_TYPES.items()}


@dataclass(frozen=True)
class IndexPolicy:
    """When to leave exact search, and how the approximate index is shaped.

    flat_max: from this many vectors on, use IVF (below it, flat; an IVF index that
        shrinks under half of it goes back to flat, so sizes near the line don't flap).
    lists_per_sqrt: IVF lists = this * sqrt(n) (FAISS's usual 4..16 * sqrt(n)).
    nprobe: lists probed per query (at 100k vectors, 1265 lists: recall@10 against flat
        0.98 at 32, 0.99 at 64, under 1 ms a query; see benchmarks/scale.py).
    retrain_growth: retrain the IVF lists when the index has grown this many times
        beyond the size it was trained at (new data may not fit the old lists).
    exact_filter_max: filtered IVF searches with at most this many allowed ids are exact.
    sq8_min: from this many vectors on, the IVF lists hold 8-bit codes (`ivf-sq8`, a
        quarter of the memory) instead of float32 copies of the store's vectors.
    """

    flat_max: int = 50_000
    lists_per_sqrt: float = 4.0
    nprobe: int = 64
    retrain_growth: float = 2.0
    exact_filter_max: int = 20_000
    sq8_min: int = 200_000

    def nlist(self, n: int) -> int:
        return int(min(max(16, round(self.lists_per_sqrt * math.sqrt(max(n, 1)))), 65_536))

    def kind_for(self, n: int, current: IndexKind) -> IndexKind:
        """The kind for `n` vectors; an index past a line goes back only under half of it,
        so sizes near a line don't flap (and 8-bit codes, once chosen, are kept: decoded
        codes are all a rebuild would have)."""
        if n < (self.flat_max // 2 if current != "flat" else self.flat_max):
            return "flat"
        if current == "ivf-sq8" or n >= self.sq8_min:
            return "ivf-sq8"
        return "ivf"


DEFAULT_POLICY = IndexPolicy()


@contextmanager
def single_thread(active: bool = True) -> Iterator[None]:
    """Run FAISS on one OpenMP thread inside the block (the setting is process-wide, so the
    previous value is restored; a race between threads only costs speed, never results)."""
    if not active:
        yield
        return
    before = faiss.omp_get_max_threads()
    faiss.omp_set_num_threads(1)
    try:
        yield
    finally:
        faiss.omp_set_num_threads(before)


def ids_checksum(ids: np.ndarray | Sequence[int]) -> str:
    """SHA-256 of a set of ids (order does not matter): compares id sets, not counts."""
    arr = np.unique(np.asarray(ids, dtype=np.int64))
    return hashlib.sha256(arr.astype("<i8").tobytes()).hexdigest()


class LoadedIndex(NamedTuple):
    """A saved index and the sidecar it was saved with."""

    index: VectorIndex
    generation: int
    epoch: int


def _empty(nq: int) -> tuple[np.ndarray, np.ndarray]:
    return np.zeros((nq, 0), np.float32), np.zeros((nq, 0), np.int64)


def _flat(dim: int) -> faiss.Index:
    return faiss.IndexIDMap2(faiss.IndexFlatIP(dim))


def _ivf(dim: int, ids: np.ndarray, vecs: np.ndarray, policy: IndexPolicy, codes: str = "Flat") -> faiss.Index:
    """An IVF index trained on (a sample of) `vecs`, holding all of them; `codes` "Flat"
    keeps float32 copies, "SQ8" one byte per dimension (of the residual to the list's
    centroid, trained on the same sample)."""
    nlist = policy.nlist(len(vecs))
    index = faiss.index_factory(dim, f"IVF{nlist},{codes}", faiss.METRIC_INNER_PRODUCT)
    # k-means on 40 points per list and 10 iterations: at 100k vectors as good (recall@10
    # 0.989 vs 0.990 at nprobe 64) as 64 points and 25 iterations, in less than half the time
    index.cp.niter = 10
    sample = vecs
    if len(vecs) > 40 * nlist:
        rng = np.random.default_rng(0)
        sample = vecs[np.sort(rng.choice(len(vecs), 40 * nlist, replace=False))]
    index.train(np.ascontiguousarray(sample))
    index.set_direct_map_type(faiss.DirectMap.Hashtable)
    index.nprobe = policy.nprobe
    for i in range(0, len(vecs), 100_000):  # in parts: adding encodes a temporary copy
        index.add_with_ids(np.ascontiguousarray(vecs[i : i + 100_000]), ids[i : i + 100_000])
    return index


class VectorIndex:
    """Inner-product search over L2-normalised vectors, flat, IVF or IVF with 8-bit codes
    (see module docstring).

    Example:
        >>> vi = VectorIndex(384)                                    # doctest: +SKIP
        >>> vi.add([1, 2], vectors); vi.search(query, 10)            # doctest: +SKIP
    """

    def __init__(self, dim: int, policy: IndexPolicy | None = None, kind: IndexKind | None = None):
        """`kind` forces an index type (tests, benchmarks); None chooses by size on save."""
        self.dim = dim
        self.policy = policy or DEFAULT_POLICY
        self.forced_kind = kind
        self.trained_count = 0
        self.index: faiss.Index = _flat(dim)

    def __len__(self) -> int:
        return int(self.index.ntotal)

    @property
    def kind(self) -> IndexKind:
        if isinstance(self.index, faiss.IndexIVFScalarQuantizer):
            return "ivf-sq8"
        return "ivf" if isinstance(self.index, faiss.IndexIVF) else "flat"

    # -- writing ------------------------------------------------------------------------
    def add(self, ids: Sequence[int] | np.ndarray, vectors: np.ndarray) -> None:
        """Add vectors; into an empty index, a batch the policy (or forced kind) wants an
        IVF index for builds that index directly (a whole archive's vectors loaded at
        open), without a float32 flat copy first."""
        if not len(ids):
            return
        vecs = np.ascontiguousarray(vectors, dtype=np.float32)
        ids = np.asarray(ids, dtype=np.int64)
        if len(self) == 0 and self.kind == "flat":
            want = self.forced_kind or self.policy.kind_for(len(ids), "flat")
            if want != "flat" and len(ids) >= 2 * self.policy.nlist(len(ids)):
                self._rebuild(want, ids, vecs)
                return
        self.index.add_with_ids(vecs, ids)

    def remove(self, ids: Sequence[int] | np.ndarray) -> None:
        if len(ids):
            self.index.remove_ids(np.asarray(ids, dtype=np.int64))

    def optimize(self) -> bool:
        """Switch to the index type the policy wants for the current size (or the forced
        one), retraining IVF lists after large growth. Returns True if it rebuilt."""
        want = self.forced_kind or self.policy.kind_for(len(self), self.kind)
        if want != "flat" and len(self) < 2 * self.policy.nlist(len(self)):
            want = "flat"  # too few vectors to train the lists (only with a forced kind)
        stale = want != "flat" and self.kind == want and len(self) > self.policy.retrain_growth * max(self.trained_count, 1)
        if want == self.kind and not stale:
            return False
        ids, vecs = self.export()
        self._rebuild(want, ids, vecs)
        return True

    def _rebuild(self, kind: IndexKind, ids: np.ndarray, vecs: np.ndarray) -> None:
        if kind != "flat":
            self.index = _ivf(self.dim, ids, vecs, self.policy, "SQ8" if kind == "ivf-sq8" else "Flat")
            self.trained_count = len(ids)
        else:
            self.index = _flat(self.dim)
            self.add(ids, vecs)
            self.trained_count = 0
        logger.info("vector index rebuilt as %s over %d vectors", kind, len(ids))

    # -- reading ------------------------------------------------------------------------
    def ids(self) -> np.ndarray:
        if self.kind == "flat":
            return faiss.vector_to_array(self.index.id_map).astype(np.int64)
        inv = self.index.invlists
        parts = [faiss.rev_swig_ptr(inv.get_ids(lst), inv.list_size(lst)).copy()
                 for lst in range(self.index.nlist) if inv.list_size(lst)]
        return np.concatenate(parts).astype(np.int64) if parts else np.zeros(0, np.int64)

    def export(self) -> tuple[np.ndarray, np.ndarray]:
        """All (ids, vectors), e.g. to rebuild as another index type (decoded, so within
        ~1e-3 of the stored ones, for `ivf-sq8`)."""
        if self.kind == "flat":
            n = len(self)
            vecs = faiss.vector_to_array(faiss.downcast_index(self.index.index).codes).view(np.float32).reshape(n, self.dim)
            return self.ids(), vecs.copy()
        ids = self.ids()
        return ids, self._reconstruct(ids)

    def _reconstruct(self, ids: np.ndarray) -> np.ndarray:
        if not len(ids):
            return np.zeros((0, self.dim), np.float32)
        return self.index.reconstruct_batch(np.ascontiguousarray(ids, dtype=np.int64))

    def search(self, queries: np.ndarray, n: int, allowed: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
        """Top `n` (scores, ids) per query row; ids are -1 where fewer exist.

        `allowed` restricts the search to those chunk ids (filters)."""
        q = np.ascontiguousarray(np.atleast_2d(queries), dtype=np.float32)
        if len(self) == 0:
            return _empty(len(q))
        with single_thread(len(q) == 1):
            return self._search(q, max(1, min(n, len(self))), allowed)

    def _search(self, q: np.ndarray, n: int, allowed: np.ndarray | None) -> tuple[np.ndarray, np.ndarray]:
        if allowed is None:
            return self.index.search(q, n)
        if len(allowed) == 0:
            return _empty(len(q))
        allowed = np.asarray(allowed, dtype=np.int64)
        n = min(n, len(allowed))
        sel = faiss.IDSelectorBatch(allowed)
        if self.kind == "flat":
            return self.index.search(q, n, params=faiss.SearchParameters(sel=sel))
        if len(allowed) <= self.policy.exact_filter_max:
            return self._exact_subset(q, n, allowed)
        share = len(allowed) / max(len(self), 1)
        nprobe = min(self.index.nlist, math.ceil(self.index.nprobe / max(share, 1e-9)))
        return self.index.search(q, n, params=faiss.SearchParametersIVF(sel=sel, nprobe=nprobe))

    def _exact_subset(self, q: np.ndarray, n: int, allowed: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Exhaustive search over `allowed` (ids absent from the index are ignored)."""
        try:
            ids, vecs = allowed, self._reconstruct(allowed)
        except RuntimeError:  # some allowed id has no vector: keep the ones that do
            found = [(int(i), self.index.reconstruct(int(i))) for i in allowed if self._has(int(i))]
            if not found:
                return _empty(len(q))
            ids = np.array([i for i, _ in found], np.int64)
            vecs = np.stack([v for _, v in found])
        sims = q @ vecs.T
        n = min(n, len(ids))
        top = np.argsort(-sims, axis=1, kind="stable")[:, :n]
        return np.take_along_axis(sims, top, axis=1).astype(np.float32), ids[top]

    def _has(self, i: int) -> bool:
        try:
            self.index.reconstruct(i)
            return True
        except RuntimeError:
            return False

    def scores(self, query: np.ndarray, ids: Sequence[int]) -> dict[int, float]:
        """Cosine of one query with specific chunks (for fusing candidates): exact, or
        from decoded 8-bit codes for `ivf-sq8` (within ~1e-3)."""
        if not len(ids):
            return {}
        out = {}
        q = np.asarray(query, dtype=np.float32).ravel()
        for i in ids:
            i = int(i)
            try:
                out[i] = float(self.index.reconstruct(i) @ q)
            except RuntimeError:  # id not in the index
                continue
        return out

    # -- persistence --------------------------------------------------------------------
    def sidecar(self, generation: int, model_id: str, epoch: int = 0) -> dict[str, object]:
        ids = self.ids()
        side: dict[str, object] = {"generation": generation, "epoch": epoch, "count": len(self), "model_id": model_id,
                                   "dim": self.dim, "type": _SIDECAR_NAMES[self.kind], "ids_sha256": ids_checksum(ids)}
        if self.kind != "flat":
            side.update(nlist=int(self.index.nlist), nprobe=int(self.index.nprobe), trained_count=self.trained_count)
        return side

    def save(self, path: Path, generation: int, model_id: str, epoch: int = 0) -> None:
        """Choose the index type for the current size (see `optimize`), then atomically
        write the index and its sidecar (temp file + rename each). `generation` must be
        the store generation this index was built at. A crash between the two renames
        leaves a sidecar whose checksum does not match the file: `load` refuses it."""
        self.optimize()
        data = faiss.serialize_index(self.index)
        side = self.sidecar(generation, model_id, epoch)
        side["sha256"] = hashlib.sha256(data).hexdigest()
        tmp = path.with_name(path.name + ".tmp")
        with open(tmp, "wb") as f:
            f.write(data.tobytes())
        os.replace(tmp, path)
        crash_point("vectors-file-written")
        stmp = path.with_name(path.name + ".json.tmp")
        stmp.write_text(json.dumps(side, ensure_ascii=False), encoding="utf-8")
        os.replace(stmp, path.with_name(path.name + ".json"))

    @staticmethod
    def read_sidecar(path: Path) -> dict[str, Any] | None:
        """The sidecar of `path` if it is a readable JSON object, else None."""
        try:
            side = json.loads(path.with_name(path.name + ".json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return side if isinstance(side, dict) else None

    @classmethod
    def load(
        cls, path: Path, dim: int, model_id: str, epoch: int = 0, policy: IndexPolicy | None = None
    ) -> LoadedIndex | None:
        """The saved index with the generation it was built at, if the file is intact (its
        bytes match the sidecar's checksum, its ids the sidecar's id checksum) and was made
        by `model_id` at `dim` in vector `epoch`; else None (the caller rebuilds)."""
        side = cls.read_sidecar(path)
        if side is None:
            logger.info("vector index %s has no usable sidecar; rebuilding from the store", path)
            return None
        label = (side.get("model_id"), side.get("dim"), side.get("epoch", 0))
        if label != (model_id, dim, epoch) or side.get("type", "flat-ip") not in SIDECAR_TYPES \
                or not isinstance(side.get("generation"), int) or not isinstance(side.get("sha256"), str):
            logger.info("vector index %s is for another model, epoch or format (%s); rebuilding", path, side)
            return None
        try:
            data = path.read_bytes()
            if hashlib.sha256(data).hexdigest() != side["sha256"]:
                logger.warning("vector index %s is damaged (checksum mismatch); rebuilding from the store", path)
                return None
            index = faiss.deserialize_index(np.frombuffer(data, dtype=np.uint8))
        except (OSError, ValueError, RuntimeError) as e:
            logger.info("vector index %s unusable (%s); rebuilding from the store", path, e)
            return None
        if index.d != dim:
            return None
        obj = cls(dim, policy)
        obj.index = index
        if obj.kind != "flat":
            index.nprobe = obj.policy.nprobe  # the running code's policy wins over the saved one
            obj.trained_count = int(side.get("trained_count") or len(obj))
        if ids_checksum(obj.ids()) != side.get("ids_sha256") or len(obj) != side.get("count"):
            logger.warning("vector index %s holds other ids than its sidecar says; rebuilding", path)
            return None
        return LoadedIndex(obj, side["generation"], int(side.get("epoch", 0)))
