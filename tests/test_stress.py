"""Concurrency stress on the Python Index: searchers, writers that replace vectors,
adders of new documents, deleters and savers, all at once. Nothing may crash, no
acknowledged write may be lost, and every search result must match some state of
the index: each hit's score is the similarity to a vector its id really held."""

from __future__ import annotations

import threading
import time

import numpy as np

from ragtune import HashingEmbeddings, Index

DIM = 16
SECONDS = 4.0


def unit(v: np.ndarray) -> np.ndarray:
    return (v / np.linalg.norm(v)).astype(np.float32)


def test_index_under_mixed_concurrent_load(tmp_path):
    rng = np.random.default_rng(1)
    index = Index(embedding=HashingEmbeddings(dim=DIM), exact_below=200, threads=2)
    versions: dict[str, list[np.ndarray]] = {}   # every vector an id has ever been given
    versions_lock = threading.Lock()
    base = [unit(v) for v in rng.normal(size=(600, DIM))]
    for i, v in enumerate(base):
        versions[f"d{i}"] = [v]
    index.add([f"text d{i}" for i in range(600)], ids=[f"d{i}" for i in range(600)], vectors=np.stack(base))
    added: list[str] = []       # ids whose add() returned: must all be present at the end
    deleted: set[str] = set()   # ids a deleter removed (only from the deletable range)
    counts = {"search": 0, "replace": 0, "add": 0, "delete": 0, "save": 0, "checked_hits": 0}
    errors: list[BaseException] = []
    stop = time.monotonic() + SECONDS

    def guarded(fn):
        def run():
            try:
                fn()
            except BaseException as error:  # noqa: BLE001 - collected and re-raised below
                errors.append(error)
        return run

    def searcher(seed: int) -> None:
        local = np.random.default_rng(seed)
        while time.monotonic() < stop:
            q = unit(local.normal(size=DIM))
            hits = index.search_by_vector(q, k=8)
            scores = [h.score for h in hits]
            assert scores == sorted(scores, reverse=True)
            for hit in hits:
                assert hit.text == f"text {hit.id}"
                with versions_lock:
                    candidates = list(versions[hit.id])
                assert any(abs(float(q @ v) - hit.score) < 1e-4 for v in candidates), hit
                counts["checked_hits"] += 1
            index.search(f"text d{seed}", k=5, mode="bm25")
            counts["search"] += 1

    def replacer() -> None:  # new vectors for existing ids 0..299
        local = np.random.default_rng(7)
        while time.monotonic() < stop:
            ids = [f"d{i}" for i in local.choice(300, size=10, replace=False)]
            vectors = [unit(v) for v in local.normal(size=(10, DIM))]
            with versions_lock:  # recorded before the write, so a search can never see an unknown vector
                for id_, v in zip(ids, vectors):
                    versions[id_].append(v)
            index.add([f"text {i}" for i in ids], ids=ids, vectors=np.stack(vectors))
            counts["replace"] += 1

    def adder() -> None:  # brand-new ids, never deleted
        local = np.random.default_rng(8)
        n = 0
        while time.monotonic() < stop:
            ids = [f"new{n + j}" for j in range(5)]
            vectors = [unit(v) for v in local.normal(size=(5, DIM))]
            with versions_lock:
                for id_, v in zip(ids, vectors):
                    versions[id_] = [v]
            index.add([f"text {i}" for i in ids], ids=ids, vectors=np.stack(vectors))
            added.extend(ids)
            n += 5
            counts["add"] += 1

    def deleter() -> None:  # ids 300..599 only
        local = np.random.default_rng(9)
        while time.monotonic() < stop:
            ids = [f"d{i}" for i in local.choice(np.arange(300, 600), size=5, replace=False)]
            index.delete(ids)
            deleted.update(ids)
            counts["delete"] += 1

    def saver() -> None:
        while time.monotonic() < stop:
            index.save(tmp_path / "ix")
            counts["save"] += 1

    threads = [threading.Thread(target=guarded(lambda s=s: searcher(s))) for s in range(3)]
    threads += [threading.Thread(target=guarded(f)) for f in (replacer, adder, deleter, saver)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[0]
    assert all(counts[k] > 0 for k in ("search", "replace", "add", "delete", "save")), counts

    # No lost write: every acknowledged add is there, every deleted id is gone, the rest untouched.
    present = set(index.ids())
    assert set(added) <= present
    assert not (deleted & present)
    assert {f"d{i}" for i in range(300)} <= present
    assert len(present) == 600 - len(deleted) + len(added)
    for id_ in [f"d{i}" for i in range(0, 300, 7)] + added[::11]:
        stored = index.vectors([id_])[0]
        assert np.allclose(stored, versions[id_][-1], atol=1e-6)  # the last write wins

    # The last save is a consistent snapshot: it loads, and every record in it agrees with itself.
    index.save(tmp_path / "ix")
    loaded = Index.load(tmp_path / "ix", embedding=HashingEmbeddings(dim=DIM))
    assert set(loaded.ids()) == present
    print(f"stress: {counts}")
