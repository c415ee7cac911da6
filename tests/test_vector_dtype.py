"""Compact vector storage (f16, int8): kernels against numpy on every ISA, exact search over
the stored values, the int8 scale as data arrives, and every Index feature for every dtype."""

from __future__ import annotations

import numpy as np
import pytest

from ragtune import HashingEmbeddings, Index, _core

DTYPES = ["f32", "f16", "int8"]
COMPACT = ["f16", "int8"]


@pytest.fixture
def each_isa():
    """Runs the body once per ISA this CPU has, then restores automatic selection."""
    def run(body):
        try:
            for isa in _core.simd_info()["available"]:
                _core.force_isa(isa)
                body(isa)
        finally:
            _core.force_isa(None)
    return run


def clustered(n: int, dim: int, seed: int = 0) -> np.ndarray:
    """Vectors around 20 centres: neighbours mean something, as with real embeddings."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(20, dim))
    return (centres[rng.integers(0, 20, n)] + 0.35 * rng.normal(size=(n, dim))).astype(np.float32)


@pytest.mark.parametrize("dim", [1, 7, 31, 128, 129, 384, 1000])
def test_compact_dot_kernels_match_numpy_on_every_isa(dim, each_isa):
    rng = np.random.default_rng(dim)
    query = rng.normal(size=dim).astype(np.float32)
    halves = rng.normal(scale=3.0, size=(9, dim)).astype(np.float16)
    halves[0, : min(dim, 3)] = [6e-8, -6e-5, 65504.0][: min(dim, 3)]  # a subnormal, a tiny normal, the largest
    codes = rng.integers(-127, 128, size=(9, dim)).astype(np.int8)
    want_half = halves.astype(np.float64) @ query.astype(np.float64)
    want_code = codes.astype(np.float64) @ query.astype(np.float64)

    def check(isa):
        got_half = _core._kernel_dot_f16(query, halves.view(np.uint16))
        got_code = _core._kernel_dot_i8(query, codes)
        scale = np.abs(halves.astype(np.float64)) @ np.abs(query) + 1.0
        assert np.all(np.abs(got_half - want_half) <= 1e-5 * scale), isa
        assert np.all(np.abs(got_code - want_code) <= 1e-5 * (np.abs(codes) @ np.abs(query) + 1.0)), isa

    each_isa(check)


@pytest.mark.parametrize("dtype", COMPACT)
@pytest.mark.parametrize("metric", ["cosine", "ip", "l2"])
def test_exact_search_is_exact_over_the_stored_values(dtype, metric, each_isa):
    """get() returns the decoded rows; exact search must rank them as numpy does."""
    data = clustered(3000, 48, seed=1)
    queries = clustered(12, 48, seed=2)
    index = _core.VectorIndex(dim=48, metric=metric, dtype=dtype, min_graph_size=10**9)
    index.put(data, np.arange(3000))
    stored = index.get(np.arange(3000)).astype(np.float64)
    q = queries.astype(np.float64)
    if metric == "cosine":
        q /= np.linalg.norm(q, axis=1, keepdims=True)
    want = q @ stored.T if metric != "l2" else -((q[:, None, :] - stored[None]) ** 2).sum(-1)
    best = np.argsort(-want, axis=1, kind="stable")[:, :10]

    def check(isa):
        scores, slots = index.search(queries, 10, mode="exact")
        assert np.allclose(scores, np.take_along_axis(want, best, 1), rtol=1e-4, atol=1e-3), isa
        for qi, (row, expected) in enumerate(zip(slots, best)):
            # the same slots up to ties: each returned slot scores what the expected one does
            assert np.allclose(want[qi][row], want[qi][expected], rtol=1e-5, atol=1e-5), isa

    each_isa(check)


@pytest.mark.parametrize("dtype", COMPACT)
def test_stored_values_are_close_to_the_input(dtype):
    data = clustered(2000, 64, seed=3)
    index = _core.VectorIndex(dim=64, metric="ip", dtype=dtype)
    index.put(data, np.arange(2000))
    stored = index.get(np.arange(2000))
    if dtype == "f16":
        assert np.array_equal(stored, data.astype(np.float16).astype(np.float32))
    else:
        step = np.abs(data).max(axis=0) / 127  # one code step per dimension
        assert np.all(np.abs(stored - data) <= step / 2 + 1e-6)


def test_int8_scale_widens_as_data_arrives_and_recodes_what_is_stored():
    rng = np.random.default_rng(4)
    small = rng.uniform(-1, 1, size=(500, 32)).astype(np.float32)
    large = rng.uniform(-10, 10, size=(500, 32)).astype(np.float32)
    index = _core.VectorIndex(dim=32, metric="ip", dtype="int8", min_graph_size=300)
    index.put(small, np.arange(500))
    index.put(large, np.arange(500, 1000))  # every dimension's range grows ten times
    stored = index.get(np.arange(1000))
    ranges = np.maximum(np.abs(large).max(axis=0), 1.25 * np.abs(small).max(axis=0))
    step = ranges / 127
    # the new rows: one rounding in the wide scale; the old rows: rounded twice (old scale, then new)
    assert np.all(np.abs(stored[500:] - large) <= step / 2 + 1e-5)
    assert np.all(np.abs(stored[:500] - small) <= step + np.abs(small).max(axis=0) / 254 + 1e-5)
    assert np.abs(stored[500:]).max() <= np.abs(large).max() * 1.0001  # nothing clipped
    scores, slots = index.search(large[:20], 1, mode="exact")
    assert slots[:, 0].tolist() == list(range(500, 520))


def test_f16_refuses_values_it_cannot_hold_and_keeps_what_it_had():
    index = _core.VectorIndex(dim=4, metric="ip", dtype="f16")
    index.put(np.ones((2, 4), np.float32), np.arange(2))
    with pytest.raises(ValueError, match="65504.*vector_dtype='f32'"):
        index.put(np.full((1, 4), 1e6, np.float32), np.array([0]))
    assert np.array_equal(index.get(np.arange(2)), np.ones((2, 4), np.float32))
    with pytest.raises(ValueError, match="dtype must be"):
        _core.VectorIndex(dim=4, metric="ip", dtype="bf16")


@pytest.mark.parametrize("dtype", COMPACT)
def test_graph_recall_inserts_deletes_and_filters(dtype):
    data = clustered(6000, 64, seed=5)
    queries = clustered(50, 64, seed=6)

    def graph_recall(kind):
        index = _core.VectorIndex(dim=64, metric="cosine", dtype=kind, min_graph_size=3000)
        # One thread: the same graph every run. Built from the decoded rows, then the second
        # half inserted through the compact distances.
        index.put(data[:3000], np.arange(3000), threads=1)
        index.put(data[3000:], np.arange(3000, 6000), threads=1)
        assert index.has_graph
        _, exact = index.search(queries, 10, mode="exact")
        _, graph = index.search(queries, 10, mode="hnsw", ef=200)
        return index, np.mean([len(set(a) & set(b)) / 10 for a, b in zip(exact, graph)])

    index, recall = graph_recall(dtype)
    assert recall >= 0.9 and recall >= graph_recall("f32")[1] - 0.03
    index.remove(np.arange(0, 6000, 3))
    allowed = np.zeros(6000, bool)
    allowed[1::2] = True
    _, hits = index.search(queries, 10, mode="hnsw", filter=_core.SlotFilter(allowed))
    assert np.all(hits % 3 != 0) and np.all(hits % 2 == 1)


@pytest.mark.parametrize("dtype", COMPACT)
def test_vector_files_round_trip_and_refuse_damage(dtype, tmp_path):
    data = clustered(5000, 32, seed=7)
    index = _core.VectorIndex(dim=32, metric="l2", dtype=dtype, min_graph_size=1000)
    index.put(data, np.arange(5000))
    index.save(str(tmp_path / "v.bin"), str(tmp_path / "g.bin"))
    loaded = _core.VectorIndex.load(str(tmp_path / "v.bin"), str(tmp_path / "g.bin"))
    assert loaded.dtype == dtype and loaded.has_graph
    assert np.array_equal(loaded.get(np.arange(5000)), index.get(np.arange(5000)))
    for mode in ("exact", "hnsw"):
        assert all(np.array_equal(a, b) for a, b in zip(loaded.search(data[:9], 5, mode=mode),
                                                       index.search(data[:9], 5, mode=mode)))
    raw = bytearray((tmp_path / "v.bin").read_bytes())
    # the last row's last element: -128 is no int8 code; 0x7C00 is an f16 infinity
    if dtype == "int8":
        raw[-1] = 0x80
    else:
        raw[-2:] = (0x7C00).to_bytes(2, "little")
    (tmp_path / "bad.bin").write_bytes(bytes(raw))
    with pytest.raises(ValueError, match="not a valid ragtune vector file"):
        _core.VectorIndex.load(str(tmp_path / "bad.bin"), str(tmp_path / "none.bin"))
    (tmp_path / "cut.bin").write_bytes(bytes(raw[:-7]))
    with pytest.raises(ValueError, match="truncated or corrupted"):
        _core.VectorIndex.load(str(tmp_path / "cut.bin"), str(tmp_path / "none.bin"))


@pytest.mark.parametrize("dtype", DTYPES)
def test_every_index_feature_works_for_every_dtype(dtype, tmp_path):
    texts = [f"document {i} about {'cats' if i % 2 else 'dogs'} and topic {i % 7}" for i in range(400)]
    index = Index(embedding=HashingEmbeddings(dim=64), vector_dtype=dtype, exact_below=100)
    ids = index.add(texts, metadatas=[{"pet": "cat" if i % 2 else "dog"} for i in range(400)],
                    ids=[f"d{i}" for i in range(400)])
    assert repr(index).count("vector_dtype") == (dtype != "f32")
    for mode in ("dense", "bm25", "hybrid"):
        hits = index.search("cats and topic 3", k=5, mode=mode, filter={"pet": "cat"})
        assert len(hits) == 5 and all(h.metadata["pet"] == "cat" for h in hits)
    assert index.search("document 12 about dogs and topic 5", k=1)[0].id == "d12"
    index.delete(["d12"])
    assert all(h.id != "d12" for h in index.search("document 12 about dogs and topic 5", k=5))
    index.save(tmp_path / "ix")
    loaded = Index.load(tmp_path / "ix")
    assert loaded.settings["vector_dtype"] == dtype and len(loaded) == 399
    query = "dogs and topic 4"
    assert [h.id for h in loaded.search(query, k=8)] == [h.id for h in index.search(query, k=8)]
    assert ids[0] in {h.id for h in loaded.search(texts[0], k=3)}
    with pytest.raises(ValueError, match="vector_dtype must be"):
        Index(vector_dtype="float16")


def test_compact_dtypes_shrink_the_vectors():
    data = clustered(4000, 384, seed=8)
    sizes = {}
    for dtype in DTYPES:
        index = Index(embedding=HashingEmbeddings(dim=384), vector_dtype=dtype, embedding_cache=0)
        index.add([f"t{i}" for i in range(4000)], vectors=data)
        sizes[dtype] = index._vectors.memory()["vectors"]
    assert sizes["f16"] == pytest.approx(sizes["f32"] / 2, rel=0.01)
    assert sizes["int8"] == pytest.approx(sizes["f32"] / 4, rel=0.01)


@pytest.mark.parametrize("metric", ["cosine", "l2"])
def test_rescoring_ranks_candidates_by_their_float32_rows_kept_on_disk(tmp_path, metric):
    data = clustered(6000, 96, seed=9)
    queries = clustered(40, 96, seed=10)
    plain = _core.VectorIndex(dim=96, metric=metric, dtype="f32", min_graph_size=10**9)
    plain.put(data, np.arange(6000))
    truth_scores, truth = plain.search(queries, 10, mode="exact")
    coarse = _core.VectorIndex(dim=96, metric=metric, dtype="int8", min_graph_size=10**9)
    coarse.put(data, np.arange(6000))
    fine = _core.VectorIndex(dim=96, metric=metric, dtype="int8", rescore=True, min_graph_size=10**9)
    fine.put(data, np.arange(6000))
    assert fine.rescore and not coarse.rescore
    _, rough = coarse.search(queries, 10, mode="exact")
    scores, slots = fine.search(queries, 10, mode="exact")
    agreement = np.mean([len(set(a) & set(b)) / 10 for a, b in zip(slots, truth)])
    assert agreement > np.mean([len(set(a) & set(b)) / 10 for a, b in zip(rough, truth)])
    assert agreement >= 0.99
    np.testing.assert_allclose(scores[slots == truth], truth_scores[slots == truth], rtol=1e-5, atol=1e-5)
    assert fine.memory()["mapped"] == 6000 * 96 * 4  # the float32 rows: file pages, not the process's own
    fine.save(str(tmp_path / "v.bin"), str(tmp_path / "g.bin"), str(tmp_path / "e.bin"))
    for mmap in (False, True):
        loaded = _core.VectorIndex.load(str(tmp_path / "v.bin"), str(tmp_path / "g.bin"), mmap=mmap,
                                        exact_path=str(tmp_path / "e.bin"))
        assert loaded.rescore
        assert all(np.array_equal(a, b) for a, b in zip(loaded.search(queries, 10, mode="exact"), (scores, slots)))
        loaded.put(data[:3] * 2, np.array([6000, 6001, 6002]))  # the saved file is copied before it changes
        assert loaded.search(data[:1] * 2, 1, mode="exact")[1][0, 0] in (0, 6000)
    again = _core.VectorIndex.load(str(tmp_path / "v.bin"), str(tmp_path / "g.bin"), exact_path=str(tmp_path / "e.bin"))
    assert len(again) == 6000  # the file on disk was never written
    with pytest.raises(ValueError, match="compact rows"):
        _core.VectorIndex(dim=4, metric="ip", rescore=True)


def test_index_rescore_setting_round_trips(tmp_path):
    texts = [f"entry {i} about topic {i % 13}" for i in range(300)]
    index = Index(embedding=HashingEmbeddings(dim=64), vector_dtype="int8", rescore=True, exact_below=100)
    index.add(texts)
    index.save(tmp_path / "ix")
    for mmap in (False, True):
        loaded = Index.load(tmp_path / "ix", mmap=mmap)
        assert loaded.settings["rescore"] is True
        assert [h.id for h in loaded.search("topic 5", k=5)] == [h.id for h in index.search("topic 5", k=5)]
        loaded.verify()
    with pytest.raises(ValueError, match="rescore=True"):
        Index(rescore=True)
