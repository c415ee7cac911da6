"""A sharded index searches as one: shards of contiguous ranges, merged by (score,
position), BM25 scored with the whole corpus's statistics — results equal one Index
over every document, on the real Python FAQ, bit for bit."""

from __future__ import annotations

import json

import numpy as np
import pytest
from corpora import python_docs

from ragtune import Chunk, HashingEmbeddings, Index, RecursiveChunker
from ragtune.index import ShardedIndex
from ragtune.index.sharded import MANIFEST, shard_name, write_manifest

QUERIES = ["How do I make an executable from a Python script?", "Why are default values shared between objects?",
           "global interpreter lock threads", "How can I sort a list of tuples?", "the the of and"]


@pytest.fixture(scope="module")
def corpus():
    docs = {k: v for k, v in sorted(python_docs().items()) if k.startswith("faq/")}
    chunks = [c for d in RecursiveChunker(chunk_size=600, chunk_overlap=60).split_many(
        list(docs.values()), sources=list(docs)) for c in d]
    embedder = HashingEmbeddings(dim=128)
    vectors = embedder.encode([c.text for c in chunks])
    metadatas = [{"kind": "programming" if "programming" in c.source else "other"} for c in chunks]
    return chunks, vectors, metadatas, embedder


def build(tmp_path, corpus, bounds):
    chunks, vectors, metadatas, embedder = corpus
    whole = Index(embedding=embedder, exact_below=10**9)
    whole.add(chunks, metadatas=metadatas, vectors=vectors)
    entries = []
    for n, (a, b) in enumerate(zip(bounds, bounds[1:])):
        shard = Index(embedding=embedder, exact_below=10**9)
        shard.add(chunks[a:b], metadatas=metadatas[a:b], vectors=vectors[a:b])
        shard.save(tmp_path / shard_name(n))
        entries.append({"path": shard_name(n), "documents": b - a})
    write_manifest(tmp_path, entries)
    return whole, ShardedIndex.load(tmp_path)


def same(a, b):
    return [[(h.id, h.score, h.text, h.citation()) for h in hits] for hits in a] == \
        [[(h.id, h.score, h.text, h.citation()) for h in hits] for hits in b]


@pytest.mark.parametrize("mode", ["dense", "bm25", "hybrid"])
def test_shards_search_exactly_as_one_index(tmp_path, corpus, mode):
    n = len(corpus[0])
    whole, sharded = build(tmp_path, corpus, [0, n // 5, n // 2, n // 2 + 3, n])
    assert len(sharded) == len(whole) == n and sharded.ids() == whole.ids()
    for k in (1, 7, 40):
        assert same(sharded.search_many(QUERIES, k=k, mode=mode, exact=True),
                    whole.search_many(QUERIES, k=k, mode=mode, exact=True))
    filtered = {"kind": "programming"}
    assert same(sharded.search_many(QUERIES, k=9, mode=mode, filter=filtered, exact=True),
                whole.search_many(QUERIES, k=9, mode=mode, filter=filtered, exact=True))


def test_mapped_shards_search_exactly_as_one_index(tmp_path, corpus):
    n = len(corpus[0])
    whole, _ = build(tmp_path, corpus, [0, n // 3, n])
    mapped = ShardedIndex.load(tmp_path, mmap=True)
    for mode in ("dense", "bm25", "hybrid"):
        assert same(mapped.search_many(QUERIES, k=9, mode=mode, exact=True),
                    whole.search_many(QUERIES, k=9, mode=mode, exact=True))
    assert mapped.ids() == whole.ids()


def test_ties_and_lookups_follow_one_index(tmp_path, corpus):
    chunks, vectors, metadatas, embedder = corpus
    # The same texts again under other ids: equal scores, broken by position as one index breaks them.
    copies = [Chunk(c.text, c.start, c.end, c.byte_start, c.byte_end, c.line_start, c.line_end, c.index,
                    source="copy/" + c.source) for c in chunks[:50]]
    doubled = (chunks + copies, np.vstack([vectors, vectors[:50]]), metadatas + metadatas[:50], embedder)
    whole, sharded = build(tmp_path, doubled, [0, 30, len(chunks) + 10, len(chunks) + 50])
    for mode in ("dense", "bm25", "hybrid"):
        assert same(sharded.search_many(QUERIES, k=60, mode=mode, exact=True),
                    whole.search_many(QUERIES, k=60, mode=mode, exact=True))
    ids = [chunks[3].source + "#" + str(chunks[3].index), "copy/" + chunks[40].source + "#" + str(chunks[40].index)]
    assert [h.text for h in sharded.get(ids)] == [h.text for h in whole.get(ids)]
    assert sharded.get(["nope"], missing="skip") == [] and ids[1] in sharded and "nope" not in sharded
    with pytest.raises(KeyError, match="no document with id 'nope'"):
        sharded.get(["nope"])
    assert [h.id for h in sharded.search_by_vector(vectors[5], k=5, exact=True)] == \
        [h.id for h in whole.search_by_vector(vectors[5], k=5, exact=True)]
    assert "ShardedIndex(" in repr(sharded) and "in 3 shards" in repr(sharded)


def test_damaged_manifests_are_named(tmp_path, corpus):
    n = len(corpus[0])
    build(tmp_path, corpus, [0, n // 2, n])
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    manifest["shards"][1]["documents"] += 1
    (tmp_path / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="the manifest says"):
        ShardedIndex.load(tmp_path)
    manifest["shards"][1]["path"] = "../elsewhere"
    (tmp_path / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="shard 1 is damaged"):
        ShardedIndex.load(tmp_path)
    (tmp_path / MANIFEST).write_text("{not json")
    with pytest.raises(ValueError):
        ShardedIndex.load(tmp_path)
    with pytest.raises(FileNotFoundError):
        ShardedIndex.load(tmp_path / "missing")
    with pytest.raises(ValueError, match="at least one shard"):
        ShardedIndex([])


def test_shards_that_cannot_be_one_index_are_refused(tmp_path, corpus):
    chunks, vectors, metadatas, embedder = corpus
    n = len(chunks)
    _, sharded = build(tmp_path, corpus, [0, n // 2, n])
    sharded.shards[0].add(["a document added behind the sharded index's back"], ids=["late"],
                          vectors=vectors[:1])
    with pytest.raises(ValueError, match="changed after the sharded index was opened"):
        sharded.search("anything", mode="bm25")
    one = Index(embedding=embedder)
    one.add(chunks[:5], vectors=vectors[:5])
    again = Index(embedding=embedder)
    again.add(chunks[3:8], vectors=vectors[3:8])
    with pytest.raises(ValueError, match="repeats an id of an earlier shard"):
        ShardedIndex([one, again])
    other = Index(embedding=HashingEmbeddings(dim=64))
    other.add(chunks[10:12])
    with pytest.raises(ValueError, match="different dimensions"):
        ShardedIndex([one, other])
    shard = Index(embedding=embedder)
    shard.add(chunks[:3], vectors=vectors[:3])
    with pytest.raises(ValueError, match="smaller than this index's own"):
        shard._bm25.search_tokens([["python"]], 3, corpus=(1, 1, {"python": 1}))


@pytest.mark.parametrize("name", ["..", ".", "", "a/b", "..\\\\x"])
def test_manifest_paths_stay_inside_the_folder(tmp_path, corpus, name):
    n = len(corpus[0])
    build(tmp_path, corpus, [0, n])
    manifest = json.loads((tmp_path / MANIFEST).read_text())
    manifest["shards"][0]["path"] = name
    (tmp_path / MANIFEST).write_text(json.dumps(manifest))
    with pytest.raises(ValueError, match="shard 0 is damaged"):
        ShardedIndex.load(tmp_path)
