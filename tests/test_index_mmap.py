"""Index.load(mmap=True): the same answers as a full load, files never written, checksums on
verify(), damage reported (never followed) and changes copied into memory."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest

from ragtune import HashingEmbeddings, Index
from ragtune.index.persistence import current_snapshot


def build(tmp_path, dtype="f32", n=600):
    texts = [f"note {i} on {'rivers' if i % 3 else 'mountains'} in region {i % 11}" for i in range(n)]
    index = Index(embedding=HashingEmbeddings(dim=48), vector_dtype=dtype, exact_below=200)
    index.add(texts, metadatas=[{"kind": "river" if i % 3 else "mountain", "n": i} for i in range(n)],
              ids=[f"n{i}" for i in range(n)])
    index.delete(["n5", "n6"])
    index.save(tmp_path / "ix")
    return index, tmp_path / "ix"


def digests(folder):
    snapshot = current_snapshot(folder)
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(snapshot.iterdir())}


@pytest.mark.parametrize("dtype", ["f32", "f16", "int8"])
def test_mapped_index_answers_as_a_full_load(tmp_path, dtype):
    _, folder = build(tmp_path, dtype)
    full, mapped = Index.load(folder), Index.load(folder, mmap=True)
    assert len(mapped) == len(full) == 598 and mapped.settings == full.settings
    queries = ["rivers in region 4", "note 17 on mountains", "region 9"]
    for mode in ("dense", "bm25", "hybrid"):
        for spec in (None, {"kind": "mountain"}):
            a = full.search_many(queries, k=7, mode=mode, filter=spec)
            b = mapped.search_many(queries, k=7, mode=mode, filter=spec)
            assert [[(h.id, h.score, h.text, h.metadata) for h in row] for row in a] == \
                [[(h.id, h.score, h.text, h.metadata) for h in row] for row in b]
    assert [h.id for h in mapped.get(["n7", "n599"])] == ["n7", "n599"]
    assert "n5" not in mapped and "n8" in mapped and sorted(mapped.ids()) == sorted(full.ids())
    mapped.verify()


def test_changes_to_a_mapped_index_never_reach_its_files(tmp_path):
    _, folder = build(tmp_path)
    before = digests(folder)
    mapped = Index.load(folder, mmap=True)
    mapped.add(["a new note on glaciers"], ids=["g1"])
    mapped.add(["note 7 rewritten about deserts"], ids=["n7"])
    mapped.delete(["n8", "n9"])
    assert digests(folder) == before
    assert mapped.search("glaciers", k=1, mode="bm25")[0].id == "g1"
    assert mapped.search("deserts rewritten", k=1)[0].id == "n7"
    assert "n8" not in mapped and len(mapped) == 597
    mapped.save(tmp_path / "copy")
    again = Index.load(tmp_path / "copy", mmap=True)
    assert len(again) == 597 and again.get(["g1"])[0].text == "a new note on glaciers"
    Index.load(folder).verify()  # the original snapshot is intact


def flip(path, offset):
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x5A
    path.write_bytes(bytes(data))


def test_a_damaged_record_is_reported_when_read_and_by_verify(tmp_path):
    built, folder = build(tmp_path)
    snapshot = current_snapshot(folder)
    records = snapshot / "records.jsonl"
    lines = records.read_bytes().split(b"\n")
    target = next(i for i, line in enumerate(lines) if json.loads(line)["id"] == "n42")
    flip(records, sum(len(line) + 1 for line in lines[:target]) + 2)  # inside the line's first key
    mapped = Index.load(folder, mmap=True)  # opens: records are read on demand
    query = "note 7 on rivers in region 7"
    assert [h.id for h in mapped.search(query, k=3)] == [h.id for h in built.search(query, k=3)]  # others read fine
    with pytest.raises(ValueError, match="records.jsonl is corrupted at the record of slot"):
        mapped.get(["n42"])  # the id map reads every record
    with pytest.raises(ValueError, match="records.jsonl does not match its checksum"):
        mapped.verify()
    with pytest.raises(ValueError, match="records.jsonl does not match its checksum"):
        Index.load(folder)


def test_a_damaged_graph_is_refused_at_open_and_damaged_vectors_by_verify(tmp_path):
    _, folder = build(tmp_path, n=800)
    snapshot = current_snapshot(folder)
    vectors = snapshot / "vectors.bin"
    flip(vectors, vectors.stat().st_size - 3)
    mapped = Index.load(folder, mmap=True)
    assert len(mapped.search("rivers", k=3)) == 3  # wrong scores for one row at worst, never a crash
    with pytest.raises(ValueError, match="vectors.bin does not match its checksum"):
        mapped.verify()
    graph = snapshot / "graph.bin"
    data = bytearray(graph.read_bytes())
    data[96 + 4: 96 + 8] = (10**9).to_bytes(4, "little")  # the first element's first link
    graph.write_bytes(bytes(data))
    with pytest.raises(ValueError, match="HNSW graph file is corrupted"):
        Index.load(folder, mmap=True)


def test_snapshots_without_record_positions_still_open_with_mmap(tmp_path):
    full, folder = build(tmp_path)
    snapshot = current_snapshot(folder)
    manifest = json.loads((snapshot / "manifest.json").read_text())
    del manifest["files"]["records.idx.npy"]  # as ragtune wrote snapshots before mmap=True
    (snapshot / "records.idx.npy").unlink()
    (snapshot / "manifest.json").write_text(json.dumps(manifest))
    mapped = Index.load(folder, mmap=True)
    assert [h.id for h in mapped.search("mountains", k=5)] == [h.id for h in full.search("mountains", k=5)]


def test_a_mapped_index_refuses_another_embedder_at_its_first_embedding(tmp_path):
    _, folder = build(tmp_path)
    mapped = Index.load(folder, embedding=HashingEmbeddings(dim=48, bigrams=False), mmap=True)  # opens
    assert mapped.search("rivers", k=2, mode="bm25")  # BM25 needs no embedder
    with pytest.raises(ValueError, match="built with HashingEmbeddings"):
        mapped.search("rivers", k=2)
    with pytest.raises(ValueError, match="built with HashingEmbeddings"):
        mapped.add(["more text"])


def test_a_mapped_index_outlives_the_snapshot_it_was_opened_from(tmp_path):
    built, folder = build(tmp_path)
    early = Index.load(folder, mmap=True)        # maps snapshot 1; BM25 not read yet
    writer = Index.load(folder)
    writer.add(["a note on lakes"], ids=["lake"])
    writer.save(folder)                          # snapshot 2 replaces snapshot 1, whose files are removed
    assert not (tmp_path / "ix" / "snapshot-000001").exists()
    query = "mountains in region 3"
    assert [h.id for h in early.search(query, k=4, mode="bm25")] == [h.id for h in built.search(query, k=4,
                                                                                                mode="bm25")]
    assert [h.text for h in early.search(query, k=4)] == [h.text for h in built.search(query, k=4)]
    mapped = Index.load(folder, mmap=True)
    mapped.add(["a note on seas"], ids=["sea"])
    mapped.save(folder)
    mapped.verify()                              # the snapshot it just wrote
    assert len(Index.load(folder)) == 600


def test_verify_needs_a_loaded_index():
    with pytest.raises(ValueError, match="not loaded from a folder"):
        Index(embedding=HashingEmbeddings(dim=8)).verify()


def test_mapped_pages_are_shared_not_copied(tmp_path):
    """The vectors of a mapped index are clean file pages (the page cache's, shared with
    every process that maps the snapshot), not memory of the process's own: what it
    dirties stays far below the vector file."""
    index = Index(embedding=HashingEmbeddings(dim=256), embedding_cache=0, exact_below=10**9)
    rng = np.random.default_rng(0)
    index.add([f"t{i}" for i in range(20000)], vectors=rng.normal(size=(20000, 256)).astype(np.float32))
    index.save(tmp_path / "big")
    vectors_bytes = (current_snapshot(tmp_path / "big") / "vectors.bin").stat().st_size

    def private_bytes():
        with open("/proc/self/smaps") as smaps:
            return sum(int(line.split()[1]) * 1024 for line in smaps if line.startswith("Private_Dirty:"))

    before = private_bytes()
    mapped = Index.load(tmp_path / "big", mmap=True)
    mapped.search_many(["t1", "t2"], k=3, mode="dense")  # an exact scan touches every row
    grown = private_bytes() - before
    assert grown < vectors_bytes / 4, (grown, vectors_bytes)
    held = mapped.memory()
    assert held.mapped >= 20000 * 256 * 4 and held.vectors < 20000 * 8 and held.bm25 == 0  # BM25 not read yet
    mapped.search("t3", k=1, mode="bm25")
    assert mapped.memory().bm25 > 0
