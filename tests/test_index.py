"""ragtune.Index: search exactness, filters, updates, persistence, bad input."""

import numpy as np
import pytest
from corpora import python_docs

from ragtune import Chunk, HashingEmbeddings, Index, RecursiveChunker
from ragtune import _core


def random_index(n=2000, dim=24, metric="cosine", exact_below=500, seed=0):
    rng = np.random.default_rng(seed)
    vectors = rng.normal(size=(n, dim)).astype(np.float32)
    index = Index(embedding=HashingEmbeddings(dim=dim), metric=metric, exact_below=exact_below)
    index.add([f"doc {i}" for i in range(n)], ids=[str(i) for i in range(n)], vectors=vectors,
              metadatas=[{"group": i % 10, "even": i % 2 == 0, "name": f"n{i}"} for i in range(n)])
    return index, vectors


def brute_force(vectors, query, k, metric, allowed=None):
    if metric == "cosine":
        v = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
        scores = v @ (query / np.linalg.norm(query))
    elif metric == "ip":
        scores = vectors @ query
    else:
        scores = -((vectors - query) ** 2).sum(axis=1)
    order = np.lexsort((np.arange(len(scores)), -scores))
    if allowed is not None:
        order = [i for i in order if allowed[i]]
    return [str(i) for i in order[:k]], scores


@pytest.mark.parametrize("metric", ["cosine", "ip", "l2"])
def test_exact_search_equals_numpy(metric):
    index, vectors = random_index(metric=metric)
    rng = np.random.default_rng(1)
    for query in rng.normal(size=(10, vectors.shape[1])).astype(np.float32):
        expected, scores = brute_force(vectors, query, 10, metric)
        hits = index.search_by_vector(query, k=10, exact=True)
        assert [h.id for h in hits] == expected
        np.testing.assert_allclose([h.score for h in hits], scores[[int(i) for i in expected]], rtol=1e-4, atol=1e-4)


def test_graph_search_recall_and_threads_invariance():
    index, vectors = random_index(n=5000, dim=16, exact_below=1000)
    queries = np.random.default_rng(2).normal(size=(40, 16)).astype(np.float32)
    found = 0
    for q in queries:
        expected, _ = brute_force(vectors, q, 10, "cosine")
        found += len(set(expected) & {h.id for h in index.search_by_vector(q, k=10, ef=200)})
    assert found >= 0.95 * 400


@pytest.mark.parametrize(
    ("spec", "predicate"),
    [
        ({"group": 3}, lambda i: i % 10 == 3),
        ({"group": {"$in": [1, 2]}, "even": True}, lambda i: i % 10 in (1, 2) and i % 2 == 0),
        ({"$or": [{"group": {"$lt": 2}}, {"name": "n77"}]}, lambda i: i % 10 < 2 or i == 77),
        ({"$not": {"group": {"$gte": 1}}}, lambda i: i % 10 == 0),
        ({"group": {"$ne": 5, "$nin": [6, 7]}}, lambda i: i % 10 not in (5, 6, 7)),
        ({"$and": [{"group": {"$gt": 7}}, {"even": False}]}, lambda i: i % 10 > 7 and i % 2 == 1),
        ({"missing": {"$ne": 1}}, lambda i: True),
        ({"missing": 1}, lambda i: False),
        ({"name": {"$gt": 5}}, lambda i: False),  # comparing str with int is false, not an error
    ],
)
def test_filters_return_min_k_matches_and_only_matches(spec, predicate):
    index, vectors = random_index(n=3000, exact_below=500)
    allowed = np.array([predicate(i) for i in range(3000)])
    query = np.random.default_rng(3).normal(size=vectors.shape[1]).astype(np.float32)
    for k in (1, 10, 50):
        hits = index.search_by_vector(query, k=k, filter=spec)
        assert len(hits) == min(k, int(allowed.sum()))
        assert all(allowed[int(h.id)] for h in hits)
        expected, _ = brute_force(vectors, query, k, "cosine", allowed)
        exact = index.search_by_vector(query, k=k, filter=spec, exact=True)
        assert [h.id for h in exact] == expected


def test_one_percent_filter_on_graph_still_returns_k():
    index, vectors = random_index(n=6000, exact_below=100)
    hits = index.search_by_vector(vectors[0], k=20, filter={"name": {"$in": [f"n{i}" for i in range(0, 6000, 100)]}})
    assert len(hits) == 20 and all(int(h.id) % 100 == 0 for h in hits)


def test_overwrite_delete_and_slot_reuse_keep_memory_bounded():
    index, vectors = random_index(n=1000, exact_below=200)
    slots_before = index._vectors.slot_count
    rng = np.random.default_rng(4)
    for round_ in range(5):
        victims = [str(i) for i in rng.choice(1000, size=300, replace=False)]
        assert index.delete(victims) == 300
        assert index.delete(victims) == 0  # deleting missing ids is a no-op
        index.add(["x"] * 300, ids=victims, vectors=rng.normal(size=(300, vectors.shape[1])))
    assert len(index) == 1000 and index._vectors.slot_count == slots_before
    new = rng.normal(size=vectors.shape[1]).astype(np.float32)
    index.add(["replaced"], ids=["5"], vectors=[new])
    assert index.search_by_vector(new, k=1, exact=True)[0].id == "5"
    assert index.get(["5"])[0].text == "replaced" and len(index) == 1000


def test_bm25_scores_equal_bm25s_on_the_same_tokens():
    bm25s = pytest.importorskip("bm25s")
    docs = list(python_docs().values())[:200]
    core = _core.BM25Index()
    tokens = [core.tokenize(d) for d in docs]
    core.put_tokens(tokens, np.arange(len(docs)))
    reference = bm25s.BM25()  # defaults: method="lucene", k1=1.5, b=0.75
    reference.index(tokens, show_progress=False)
    for query in ["how to install python on windows", "dictionary keys ordering", "unicode strings encode decode"]:
        q = core.tokenize(query)
        expected = reference.get_scores(q)
        scores, slots = core.search_tokens([q], len(docs))
        got = np.zeros(len(docs), dtype=np.float64)
        for s, v in zip(slots[0], scores[0]):
            if s >= 0:
                got[s] = v
        np.testing.assert_allclose(got, expected, rtol=1e-5, atol=1e-5)


def test_bm25_updates_track_live_documents():
    fresh, churned = _core.BM25Index(), _core.BM25Index()
    texts = ["alpha beta", "beta gamma", "gamma delta", "delta alpha"]
    fresh.put(texts[2:], np.array([2, 3]))
    churned.put(texts, np.arange(4))
    churned.remove(np.array([0, 1]))
    churned.put(["gamma delta"], np.array([2]))  # replace with the same text
    a, b = fresh.search(["alpha gamma"], 4), churned.search(["alpha gamma"], 4)
    np.testing.assert_allclose(a[0], b[0])
    assert (a[1] == b[1]).all()


def test_hybrid_and_mmr_on_real_chunks():
    texts = list(python_docs().items())[:40]
    chunks = RecursiveChunker(chunk_size=500, chunk_overlap=50).split_many([t for _, t in texts],
                                                                          sources=[n for n, _ in texts])
    index = Index(embedding=HashingEmbeddings(dim=256))
    ids = index.add([c for doc in chunks for c in doc])
    assert len(ids) == len(index) == sum(map(len, chunks))
    hybrid = index.search("list comprehension syntax", k=5, mode="hybrid")
    dense = [h.id for h in index.search("list comprehension syntax", k=50, mode="dense")]
    sparse = [h.id for h in index.search("list comprehension syntax", k=50, mode="bm25")]
    assert len(hybrid) == 5 and all(h.id in dense or h.id in sparse for h in hybrid)
    assert hybrid == sorted(hybrid, key=lambda h: -h.score)
    hit = hybrid[0]
    original = dict(texts)[hit.source]
    assert original[hit.start : hit.end] == hit.text and hit.citation().startswith(hit.source + ":")
    mmr = index.max_marginal_relevance("list comprehension syntax", k=5, fetch_k=30, lambda_mult=0.3)
    assert len(mmr) == 5 and len({h.id for h in mmr}) == 5


def test_save_load_round_trip_and_atomic_snapshots(tmp_path):
    index, vectors = random_index(n=800, exact_below=100)
    path = tmp_path / "ix"
    first = index.save(path)
    index.delete(["1", "2"])
    second = index.save(path)
    assert not first.exists() and second.exists()
    loaded = Index.load(path, embedding=HashingEmbeddings(dim=vectors.shape[1]))
    assert len(loaded) == 798 and "1" not in loaded
    q = vectors[10]
    assert [h.id for h in loaded.search_by_vector(q, k=5)] == [h.id for h in index.search_by_vector(q, k=5)]
    assert loaded.get(["10"])[0].metadata == {"group": 0, "even": True, "name": "n10"}
    # A crash mid-save leaves a staging folder behind: the last good snapshot still loads.
    (path / "snapshot-000099.tmp").mkdir()
    (path / "snapshot-000099.tmp" / "vectors.bin").write_bytes(b"partial")
    assert len(Index.load(path, embedding=HashingEmbeddings(dim=vectors.shape[1]))) == 798


@pytest.mark.parametrize("damage", ["flip", "truncate", "delete", "manifest"])
def test_damaged_files_are_clear_errors(tmp_path, damage):
    index, vectors = random_index(n=600, exact_below=100)
    snapshot = index.save(tmp_path / "ix")
    target = snapshot / ("graph.bin" if damage != "manifest" else "manifest.json")
    if damage == "flip":
        data = bytearray(target.read_bytes())
        data[len(data) // 2] ^= 0xFF
        target.write_bytes(bytes(data))
    elif damage == "truncate":
        target.write_bytes(target.read_bytes()[:100])
    elif damage == "delete":
        target.unlink()
    else:
        target.write_text("{ not json")
    with pytest.raises(ValueError, match="corrupted|truncated|missing|checksum"):
        Index.load(tmp_path / "ix", embedding=HashingEmbeddings(dim=vectors.shape[1]))


def test_refuses_foreign_folders(tmp_path):
    (tmp_path / "photos").mkdir()
    (tmp_path / "photos" / "cat.jpg").write_bytes(b"\xff\xd8")
    index, _ = random_index(n=10)
    with pytest.raises(OSError, match="not a ragtune index"):
        index.save(tmp_path / "photos")
    with pytest.raises(FileNotFoundError, match="no saved ragtune index"):
        Index.load(tmp_path / "photos")


def test_bad_input_is_a_clear_error():
    index, vectors = random_index(n=100)
    with pytest.raises(ValueError, match="24 dimensions|shape"):
        index.search_by_vector(np.ones(5), k=1)
    with pytest.raises(ValueError, match="NaN or infinity"):
        index.add(["x"], vectors=[[np.nan] * 24])
    with pytest.raises(ValueError, match="holds 24"):
        index.add(["x"], vectors=[[1.0] * 7])
    with pytest.raises(KeyError, match="unknown ids"):
        index.get(["nope"])
    assert index.get(["nope", "3"], missing="skip")[0].id == "3"
    with pytest.raises(ValueError, match="unknown filter operator"):
        index.search_by_vector(vectors[0], filter={"group": {"$regex": "x"}})
    with pytest.raises(TypeError, match="a filter is a dict"):
        index.search_by_vector(vectors[0], filter=["group"])
    with pytest.raises(ValueError, match="mode must be"):
        index.search("x", mode="sparse")
    with pytest.raises(ValueError, match="k must be >= 1"):
        index.search("x", k=0)
    with pytest.raises(ValueError, match="ids must be unique"):
        index.add(["a", "b"], ids=["same", "same"])
    with pytest.raises(ValueError, match="metadatas has 1 entries for 2"):
        index.add(["a", "b"], metadatas=[{}])
    with pytest.raises(TypeError, match="must be str, Chunk or Document"):
        index.add([42])
    with pytest.raises(ValueError, match="metric must be"):
        Index(embedding=HashingEmbeddings(), metric="manhattan")
    assert Index(embedding=HashingEmbeddings()).search("nothing indexed yet") == []


def test_chunks_keep_citations_and_metadata():
    text = "alpha beta gamma\n\ndelta epsilon"
    chunks = RecursiveChunker(chunk_size=18, chunk_overlap=0).split(text, source="greek.txt")
    index = Index(embedding=HashingEmbeddings(dim=64))
    ids = index.add(chunks, metadatas=[{"lang": "el"}] * len(chunks))
    assert ids == ["greek.txt#0", "greek.txt#1"]
    hit = index.search("delta", k=1, mode="bm25")[0]
    assert hit.citation() == "greek.txt:3-3" and hit.metadata == {"lang": "el"}
    assert isinstance(chunks[0], Chunk)


def test_exact_scores_do_not_depend_on_slots_or_query_batches():
    """A vector scores the same against a query whatever slot it sits in and however the
    queries are batched: every pair is summed in one order (synced and fresh indexes agree)."""
    rng = np.random.default_rng(5)
    vectors = rng.normal(size=(37, 384)).astype(np.float32)
    table = {f"q{i}": v for i, v in enumerate(rng.normal(size=(6, 384)).astype(np.float32))}
    ids = [f"v{i}" for i in range(37)]

    def build(order):
        index = Index(embedding=lambda texts: [table[t] for t in texts], exact_below=10_000)
        index.add([f"t{i}" for i in order], ids=[ids[i] for i in order], vectors=vectors[order])
        return index

    first, shuffled = build(np.arange(37)), build(rng.permutation(37))
    batched = [{h.id: h.score for h in hits} for hits in first.search_many(list(table), k=37, exact=True)]
    assert batched == [{h.id: h.score for h in hits} for hits in shuffled.search_many(list(table), k=37, exact=True)]
    for q, scores in zip(table, batched):
        assert {h.id: h.score for h in shuffled.search_by_vector(table[q], k=37, exact=True)} == scores


def test_fusion_gives_tied_scores_one_rank_and_breaks_fused_ties_by_the_given_key():
    from ragtune.index.fusion import reciprocal_rank_fusion

    fused = reciprocal_rank_fusion([[7, 2], [5]], [1.0, 1.0], k=3, scores=[[0.5, 0.5], [1.0]],
                                   tiebreak=lambda slot: {7: "c", 2: "a", 5: "b"}[slot])
    assert [slot for slot, _ in fused] == [2, 5, 7] and len({score for _, score in fused}) == 1
    unscored = reciprocal_rank_fusion([[7, 2], [5]], [1.0, 1.0], k=3)  # ranks by position, ties by slot
    assert [slot for slot, _ in unscored] == [5, 7, 2]


def test_a_saved_index_remembers_its_embedder_and_refuses_another(tmp_path):
    from langchain_core.embeddings import DeterministicFakeEmbedding

    from ragtune.embeddings import MiniLMEmbeddings

    built = Index(embedding=HashingEmbeddings(dim=96, bigrams=False))
    built.add(["cats purr", "dogs bark"], ids=["c", "d"])
    built.save(tmp_path / "ix")
    loaded = Index.load(tmp_path / "ix")  # no embedder given: the saved one is rebuilt
    assert repr(loaded.embedding) == "HashingEmbeddings(dim=96, bigrams=False)"
    assert [h.id for h in loaded.search("dogs bark", k=1)] == ["d"]
    for other in (HashingEmbeddings(dim=96), MiniLMEmbeddings()):
        with pytest.raises(ValueError, match=r"built with HashingEmbeddings\(dim=96, bigrams=False\), not "):
            Index.load(tmp_path / "ix", embedding=other)
    external = Index(embedding=DeterministicFakeEmbedding(size=16))
    external.add(["alpha"], ids=["a"])
    external.save(tmp_path / "ext")
    with pytest.raises(ValueError, match="DeterministicFakeEmbedding.*pass the same embedder"):
        Index.load(tmp_path / "ext")
    assert Index.load(tmp_path / "ext", embedding=DeterministicFakeEmbedding(size=16)).get(["a"])[0].text == "alpha"


def test_batched_fusion_equals_the_per_query_fusion_with_ties_and_padding():
    from ragtune.index.fusion import fuse_rankings, reciprocal_rank_fusion

    rng = np.random.default_rng(11)
    for depth, k, weights in ((12, 5, (1.0, 1.0)), (30, 30, (0.3, 2.0)), (8, 50, (1.0, 0.0)), (1, 1, (1.0, 1.0))):
        queries, slots_total = 40, 60
        order = rng.permutation(slots_total)
        rankings = []
        for _ in range(2):
            slots = np.array([rng.choice(slots_total, size=depth, replace=False) for _ in range(queries)])
            scores = -np.sort(-rng.integers(0, 4, size=(queries, depth)).astype(np.float32), axis=1)  # many ties
            cut = rng.integers(0, depth + 1, size=queries)
            slots[np.arange(depth)[None, :] >= cut[:, None]] = -1  # padding at the ends of rows
            rankings.append((scores, slots))
        bounds, slots, scores = fuse_rankings(rankings, weights, k=k, order=order)
        for q in range(queries):
            expected = reciprocal_rank_fusion(
                [[s for s in r[1][q].tolist() if s >= 0] for r in rankings], weights, k=k,
                tiebreak=lambda s: order[s], scores=[r[0][q].tolist() for r in rankings])
            got = list(zip(slots[bounds[q]:bounds[q + 1]].tolist(), scores[bounds[q]:bounds[q + 1]].tolist()))
            assert got == expected, (q, got, expected)


def _with_rows_inside(graph: bytes, rows: np.ndarray) -> bytes:
    """A slot-only graph file rewritten as ragtune wrote graphs before format version 2:
    each element's row between its links and its label."""
    import struct

    count, size_per_element, label_offset, offset_data = struct.unpack_from("<QQQQ", graph, 16)
    dim = rows.shape[1]
    old = bytearray(graph[:96])
    struct.pack_into("<QQ", old, 24, offset_data + dim * 4 + 8, offset_data + dim * 4)
    for i in range(count):
        element = graph[96 + i * size_per_element:96 + (i + 1) * size_per_element]
        (slot,) = struct.unpack_from("<Q", element, offset_data)
        old += element[:offset_data] + rows[slot].tobytes() + element[offset_data:]
    return bytes(old + graph[96 + count * size_per_element:])


def test_a_version_1_snapshot_still_loads_and_searches_the_same(tmp_path):
    import hashlib
    import json

    index, vectors = random_index(n=1500, exact_below=100)
    snapshot = index.save(tmp_path / "ix")
    graph = snapshot / "graph.bin"
    rows = index._vectors.get(np.arange(1500, dtype=np.int64))
    graph.write_bytes(_with_rows_inside(graph.read_bytes(), rows))
    manifest = json.loads((snapshot / "manifest.json").read_text())
    manifest["version"] = 1
    manifest["files"]["graph.bin"] = {"bytes": graph.stat().st_size,
                                      "sha256": hashlib.sha256(graph.read_bytes()).hexdigest()}
    (snapshot / "manifest.json").write_text(json.dumps(manifest))
    loaded = Index.load(tmp_path / "ix", embedding=HashingEmbeddings(dim=vectors.shape[1]))
    for q in vectors[:20]:
        assert [(h.id, h.score) for h in loaded.search_by_vector(q, k=5)] == \
            [(h.id, h.score) for h in index.search_by_vector(q, k=5)]
    manifest["version"] = 3
    (snapshot / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="format version 3; this ragtune reads version 1 or 2: upgrade"):
        Index.load(tmp_path / "ix", embedding=HashingEmbeddings(dim=vectors.shape[1]))


def test_the_graph_holds_no_vectors_and_old_graph_files_still_load(tmp_path):
    """One copy of each vector: the graph file keeps links and slots only (graphs saved
    before that layout, with every vector inside, are converted on load and search the same)."""
    import struct

    rng = np.random.default_rng(5)
    dim, n = 32, 3000
    vectors = rng.normal(size=(n, dim)).astype(np.float32)
    index = _core.VectorIndex(dim=dim, metric="cosine", m=8, ef_construction=64, min_graph_size=0)
    index.put(vectors, np.arange(n, dtype=np.int64), threads=2)
    index.save(str(tmp_path / "vectors.bin"), str(tmp_path / "graph.bin"))
    graph = (tmp_path / "graph.bin").read_bytes()
    count, size_per_element, label_offset, offset_data = struct.unpack_from("<QQQQ", graph, 16)
    assert count == n and label_offset == offset_data and size_per_element == offset_data + 8  # links + slot

    # The same graph as ragtune wrote it before: each element's row between its links and its label.
    (tmp_path / "old.bin").write_bytes(_with_rows_inside(graph, index.get(np.arange(n, dtype=np.int64))))

    queries = rng.normal(size=(50, dim)).astype(np.float32)
    new_layout = _core.VectorIndex.load(str(tmp_path / "vectors.bin"), str(tmp_path / "graph.bin"))
    old_layout = _core.VectorIndex.load(str(tmp_path / "vectors.bin"), str(tmp_path / "old.bin"))
    for loaded in (new_layout, old_layout):
        assert loaded.has_graph
        for got, want in zip(loaded.search(queries, 10, mode="hnsw", ef=40, threads=1),
                             index.search(queries, 10, mode="hnsw", ef=40, threads=1)):
            np.testing.assert_array_equal(got, want)
    memory = new_layout.memory()
    assert memory["vectors"] == n * dim * 4 and memory["graph"] > 0 and memory["norms"] == n * 4


def test_memory_reports_each_part_and_one_copy_of_the_vectors():
    index, vectors = random_index(n=5000, exact_below=100)
    memory = index.memory()
    n, dim = vectors.shape
    assert memory.count == 5000 and isinstance(memory.per_vector, float)
    # one copy: rows + norms + the slot map, not a second set of rows inside the graph
    assert n * dim * 4 <= memory.vectors < n * dim * 4 * 1.3
    assert memory.graph > 0 and memory.bm25 > 0 and memory.records > 0
    assert memory.total == sum(memory.parts().values()) and "MB for 5000 documents" in repr(memory)
    index.delete([str(i) for i in range(100)])
    assert index.memory().count == 4900
    assert Index(embedding=HashingEmbeddings(dim=8)).memory().total < 1000


def test_an_upper_level_link_to_an_element_below_that_level_is_refused(tmp_path):
    """The search descends through upper-level links and reads the neighbour's list of the
    same level: a file linking to an element without one must be refused, not searched."""
    import struct

    rng = np.random.default_rng(2)
    index = _core.VectorIndex(dim=8, metric="cosine", m=4, ef_construction=32, min_graph_size=0)
    index.put(rng.normal(size=(400, 8)).astype(np.float32), np.arange(400, dtype=np.int64), threads=1)
    index.save(str(tmp_path / "vectors.bin"), str(tmp_path / "graph.bin"))
    graph = bytearray((tmp_path / "graph.bin").read_bytes())
    count, size_per_element = struct.unpack_from("<QQ", graph, 16)
    max_m = struct.unpack_from("<Q", graph, 56)[0]
    at, levels, lists = 96 + count * size_per_element, [], []
    for _ in range(count):
        (size,) = struct.unpack_from("<I", graph, at)
        levels.append(size // (max_m * 4 + 4))
        lists.append(at + 4)
        at += 4 + size
    upper = next(i for i in range(count) if levels[i] >= 1 and struct.unpack_from("<I", graph, lists[i])[0] & 0xFFFF)
    base_only = next(i for i in range(count) if levels[i] == 0)
    struct.pack_into("<I", graph, lists[upper] + 4, base_only)  # its first level-1 link now points down
    (tmp_path / "graph.bin").write_bytes(bytes(graph))
    with pytest.raises(ValueError, match="below its level"):
        _core.VectorIndex.load(str(tmp_path / "vectors.bin"), str(tmp_path / "graph.bin"))
