"""Searches in parallel with each other and alongside adds, deletes and saves."""

import threading
import time

import numpy as np

from ragtune import HashingEmbeddings, Index


def test_searches_run_alongside_writes_and_saves(tmp_path):
    dim = 16
    rng = np.random.default_rng(0)
    index = Index(embedding=HashingEmbeddings(dim=dim), exact_below=300)
    base = rng.normal(size=(1000, dim)).astype(np.float32)
    index.add([f"text {i}" for i in range(1000)], ids=[f"d{i}" for i in range(1000)], vectors=base,
              metadatas=[{"n": i} for i in range(1000)])
    stop = time.monotonic() + 3.0
    errors: list[BaseException] = []
    counts = {"search": 0, "write": 0, "save": 0}

    def guard(fn):
        def run():
            try:
                fn()
            except BaseException as error:  # noqa: BLE001 - reported by the test
                errors.append(error)
        return run

    def searcher(seed):
        local = np.random.default_rng(seed)
        while time.monotonic() < stop:
            q = local.normal(size=dim).astype(np.float32)
            hits = index.search_by_vector(q, k=10, filter={"n": {"$lt": 900}} if seed % 2 else None)
            assert len(hits) == 10
            for h in hits:  # every hit is a consistent record: its id, text and metadata agree
                assert h.text == f"text {h.id[1:]}" and h.metadata["n"] == int(h.id[1:])
            index.search(f"text {seed}", k=5, mode="bm25")
            counts["search"] += 1

    def writer():
        local = np.random.default_rng(99)
        while time.monotonic() < stop:
            ids = [f"d{i}" for i in local.choice(1000, size=20, replace=False)]
            index.delete(ids)
            index.add([f"text {i[1:]}" for i in ids], ids=ids, vectors=local.normal(size=(20, dim)),
                      metadatas=[{"n": int(i[1:])} for i in ids])
            counts["write"] += 1

    def saver():
        while time.monotonic() < stop:
            index.save(tmp_path / "ix")
            counts["save"] += 1

    threads = [threading.Thread(target=guard(lambda s=s: searcher(s))) for s in range(4)]
    threads += [threading.Thread(target=guard(writer)), threading.Thread(target=guard(saver))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]
    assert counts["search"] > 0 and counts["write"] > 0 and counts["save"] > 0
    assert len(index) == 1000
    # The last save saw the index between some delete and add, or after both: nothing else.
    loaded = Index.load(tmp_path / "ix", embedding=HashingEmbeddings(dim=dim))
    assert len(loaded) in (980, 1000)
    assert all(h.text == f"text {h.id[1:]}" for h in loaded.search_by_vector(base[0], k=50))
