"""The FAISS wrapper: exact flat search below the size threshold, IVF above it, with
remove, exact `scores`, filters and save/load working the same on both."""

from __future__ import annotations

import json

import numpy as np
import pytest

from qa.vectors import IndexPolicy, VectorIndex

DIM = 32
SMALL = IndexPolicy(flat_max=2_000, lists_per_sqrt=1.0, nprobe=8, exact_filter_max=300)


def clustered(n: int, seed: int = 0, centers: int = 50) -> np.ndarray:
    """Unit vectors around `centers` directions: a stand-in for topic-clustered embeddings."""
    rng = np.random.default_rng(seed)
    c = rng.normal(size=(centers, DIM))
    x = c[rng.integers(0, centers, n)] + 0.35 * rng.normal(size=(n, DIM))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def ids_for(n: int) -> np.ndarray:
    return np.arange(n, dtype=np.int64) * 7 + 3  # sparse ids, like chunk ids after deletions


@pytest.fixture(params=["flat", "ivf", "ivf-sq8"])
def index(request) -> tuple[VectorIndex, np.ndarray, np.ndarray]:
    n = 3_000
    vecs, ids = clustered(n), ids_for(n)
    vi = VectorIndex(DIM, SMALL, kind=request.param)
    vi.add(ids, vecs)
    assert vi.kind == request.param and not vi.optimize()
    return vi, ids, vecs


def tol(vi: VectorIndex) -> float:
    """How close a cosine from the index is to the exact one: 8-bit codes decode approximately."""
    return 2e-2 if vi.kind == "ivf-sq8" else 1e-5


def test_search_finds_itself_and_scores_are_exact(index):
    vi, ids, vecs = index
    s, i = vi.search(vecs[10], 5)
    assert i[0][0] == ids[10] and s[0][0] == pytest.approx(1.0, abs=tol(vi))
    got = vi.scores(vecs[10], [int(ids[10]), int(ids[20]), 999_999])
    assert set(got) == {int(ids[10]), int(ids[20])}
    assert got[int(ids[20])] == pytest.approx(float(vecs[20] @ vecs[10]), abs=tol(vi))


def test_remove_and_ids(index):
    vi, ids, vecs = index
    vi.remove(ids[:100])
    assert len(vi) == len(ids) - 100
    assert set(vi.ids().tolist()) == set(ids[100:].tolist())
    _, i = vi.search(vecs[5], 10)
    assert ids[5] not in i[0]
    assert vi.scores(vecs[5], [int(ids[5])]) == {}


@pytest.mark.parametrize("n_allowed", [1, 40, 2_500])
def test_filters_return_only_allowed_and_the_exact_best(index, n_allowed):
    vi, ids, vecs = index
    rng = np.random.default_rng(1)
    allowed = rng.choice(ids, n_allowed, replace=False)
    q = vecs[0]
    s, i = vi.search(q, 10, allowed)
    got = [x for x in i[0] if x >= 0]
    assert got and set(got) <= set(allowed.tolist())
    pos = {int(v): k for k, v in enumerate(ids)}
    best = max(allowed, key=lambda a: float(vecs[pos[int(a)]] @ q))
    assert got[0] == best  # the best allowed vector is never missed, even with IVF
    assert vi.search(q, 10, np.zeros(0, np.int64))[1].shape == (1, 0)


def test_auto_kind_follows_size_and_sidecar_records_it(tmp_path):
    vi = VectorIndex(DIM, SMALL)
    vi.add(ids_for(1_500), clustered(1_500))
    path = tmp_path / "vectors.faiss"
    vi.save(path, 1, "m")
    assert vi.kind == "flat"
    assert json.loads((tmp_path / "vectors.faiss.json").read_text())["type"] == "flat-ip"
    more = clustered(1_000, seed=2)
    vi.add(ids_for(2_500)[1_500:], more)
    vi.save(path, 2, "m")
    side = json.loads((tmp_path / "vectors.faiss.json").read_text())
    assert vi.kind == "ivf" and side["type"] == "ivf-flat-ip" and side["count"] == 2_500 and side["nlist"] > 0
    got = VectorIndex.load(path, DIM, "m", policy=SMALL)
    assert got is not None and got.generation == 2
    loaded = got.index
    assert loaded.kind == "ivf" and len(loaded) == 2_500
    assert loaded.search(more[0], 1)[1][0][0] == ids_for(2_500)[1_500]
    assert VectorIndex.load(path, DIM, "other-model", policy=SMALL) is None
    # shrinking well below the threshold goes back to exact search
    loaded.remove(ids_for(2_500)[:1_600])
    loaded.save(path, 4, "m")
    assert loaded.kind == "flat" and len(loaded) == 900


def test_large_sizes_keep_8bit_codes_and_the_sidecar_says_so(tmp_path):
    """Past `sq8_min` the IVF lists hold 8-bit codes; the kind survives save/load and is
    kept when the index shrinks a little below the line (no flapping)."""
    policy = IndexPolicy(flat_max=2_000, lists_per_sqrt=1.0, nprobe=8, sq8_min=4_000)
    assert [policy.kind_for(n, "flat") for n in (1_999, 2_000, 3_999, 4_000)] == ["flat", "ivf", "ivf", "ivf-sq8"]
    assert [policy.kind_for(n, "ivf-sq8") for n in (2_500, 999)] == ["ivf-sq8", "flat"]
    vecs, ids = clustered(4_500, seed=5), ids_for(4_500)
    vi = VectorIndex(DIM, policy)
    vi.add(ids, vecs)
    assert vi.kind == "ivf-sq8"
    path = tmp_path / "vectors.faiss"
    vi.save(path, 3, "m")
    side = json.loads((tmp_path / "vectors.faiss.json").read_text())
    assert side["type"] == "ivf-sq8-ip" and side["count"] == 4_500
    loaded = VectorIndex.load(path, DIM, "m", policy=policy)
    assert loaded is not None and loaded.index.kind == "ivf-sq8"
    assert loaded.index.search(vecs[7], 1)[1][0][0] == ids[7]
    assert path.stat().st_size < 0.5 * 4_500 * DIM * 4  # codes, not float32 copies


def test_a_large_first_batch_builds_the_ivf_index_directly():
    """Loading a whole archive into an empty index must not hold a flat float32 copy first
    (at 1M chunks that copy alone is 1.5 GB)."""
    vi = VectorIndex(DIM, SMALL)
    vi.add(ids_for(3_000), clustered(3_000))
    assert vi.kind == "ivf" and vi.trained_count == 3_000 and not vi.optimize()
    small = VectorIndex(DIM, SMALL)
    small.add(ids_for(1_000), clustered(1_000))
    assert small.kind == "flat"


@pytest.mark.parametrize("kind", ["ivf", "ivf-sq8"])
def test_ivf_kinds_recall_against_flat(kind):
    vecs, ids = clustered(5_000, seed=3), ids_for(5_000)
    queries = clustered(200, seed=4)
    flat, approx = VectorIndex(DIM, SMALL, kind="flat"), VectorIndex(DIM, SMALL, kind=kind)
    for vi in (flat, approx):
        vi.add(ids, vecs)
    assert approx.kind == kind
    truth, got = flat.search(queries, 10)[1], approx.search(queries, 10)[1]
    assert np.mean([len(set(t) & set(g)) / 10 for t, g in zip(truth, got)]) >= 0.9


def test_export_round_trips(index):
    vi, ids, vecs = index
    got_ids, got = vi.export()
    order = np.argsort(got_ids)
    assert np.array_equal(got_ids[order], ids)
    if vi.kind == "ivf-sq8":  # decoded 8-bit codes: each vector's cosine to itself close to 1
        self_cos = (got[order] * vecs).sum(axis=1)
        assert np.abs(self_cos - 1).max() < 0.05 and np.abs(self_cos - 1).mean() < 0.005
    else:
        assert np.allclose(got[order], vecs, atol=1e-6)


def test_sample_archive_uses_the_exact_index(sample_archive_ro):
    vi = sample_archive_ro._vector_index()
    assert vi.kind == "flat" and len(vi) == sample_archive_ro.info().vectors


def test_archive_switches_to_ivf_past_the_threshold_and_keeps_working(sample_archive, monkeypatch):
    """Through the real archive: a (lowered) threshold makes the next save build IVF;
    search, filters, remove and reopening keep working on it."""
    import qa.vectors
    from qa import Archive

    query = "總統接見史瓦帝尼王國大使呈遞到任國書"
    n = sample_archive.info().vectors
    monkeypatch.setattr(qa.vectors, "DEFAULT_POLICY", IndexPolicy(flat_max=n // 2, nprobe=16))
    before = [h.article_id for h in sample_archive.search(query, 5, "dense")]
    victim = next(a.id for a in sample_archive.articles() if a.id not in before)
    sample_archive.remove(victim)  # a change, so the index is saved, choosing its type
    side = json.loads((sample_archive.path / "vectors.faiss.json").read_text())
    assert side["type"] == "ivf-flat-ip" and side["count"] == sample_archive.info().vectors < n
    assert sample_archive._vector_index().kind == "ivf"
    assert [h.article_id for h in sample_archive.search(query, 5, "dense")][0] == before[0]
    hits = sample_archive.search(query, 5, "hybrid", date_from="2022-01-01", date_to="2022-12-31")
    assert hits and all(h.citation.date.startswith("2022") for h in hits)
    sample_archive.close()
    reopened = Archive.open(sample_archive.path)
    try:
        assert reopened._vector_index().kind == "ivf"
        assert reopened.search(query, 1, "dense")[0].article_id == before[0]
    finally:
        reopened.close()
