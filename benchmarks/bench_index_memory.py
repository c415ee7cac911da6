"""Index memory and growth: ragtune's VectorIndex (f32, f16, int8 storage) against
hnswlib, FAISS (HNSW flat and HNSW with 8-bit scalar quantisation) and usearch (f32,
f16, i8), with the same M, ef_construction and (where the engine takes one) seed.
Each engine is built in its own process so that resident memory is measured
cleanly (anonymous RSS after the build minus before, with the input vectors already
loaded and every library imported; file-backed pages, such as the float32 rows a
rescoring ragtune index keeps in a file, are shown apart: the kernel can drop them).

Data: clustered synthetic unit vectors (200 Gaussian clusters in 384 dimensions,
the shape of sentence embeddings), or the cached 100k MiniLM vectors of linux-doc
(``--real``, after ``benchmarks/corpus_vectors.py --count 100000``). For each size:
build time (2 threads), bytes per vector, QPS on one thread and recall@10 at ef 32,
64 and 128 over 1,000 queries against exact ground truth.

    .venv/bin/python benchmarks/bench_index_memory.py                 # growth: 25k 50k 100k 200k
    .venv/bin/python benchmarks/bench_index_memory.py --sizes 100000 --real --engines all
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from timing import timed  # noqa: E402

M, EF_CONSTRUCTION, K, QUERIES = 16, 200, 10, 1000
EFS = (32, 64, 128)


def clustered(n: int, dim: int = 384, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(200, dim)).astype(np.float32)
    def draw(count: int) -> np.ndarray:
        x = centres[rng.integers(0, 200, count)] + 0.35 * rng.normal(size=(count, dim)).astype(np.float32)
        return x / np.linalg.norm(x, axis=1, keepdims=True)
    return draw(n), draw(QUERIES)


def real(n: int) -> tuple[np.ndarray, np.ndarray]:
    from corpus_vectors import load_or_build, load_queries

    _, vectors = load_or_build(n)
    return vectors[:n], load_queries(n, QUERIES)[1]


def resident() -> tuple[int, int]:
    """(anonymous, file-backed) resident bytes: the process's own memory, and the page-cache
    pages it maps (ragtune's rescoring rows live in a file: the kernel may drop them)."""
    found = {}
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(("RssAnon", "RssFile")):
                found[line.split(":")[0]] = int(line.split()[1]) * 1024
    return found.get("RssAnon", 0), found.get("RssFile", 0)


# Engine name -> (library, storage). "ragtune" and "hnswlib" stay the growth table's default pair.
ENGINES = ["hnswlib", "ragtune", "ragtune-f16", "ragtune-int8", "ragtune-int8-rescore", "faiss-hnsw", "faiss-hnsw-sq8",
           "usearch-f32", "usearch-f16", "usearch-i8"]


def build(engine: str, x: np.ndarray, q: np.ndarray):
    """Builds the engine's index over x (2 threads); returns search(ef) -> (len(q), K) ids on one thread."""
    ids = np.arange(len(x), dtype=np.int64)
    if engine.startswith("ragtune"):
        from ragtune import _core

        dtype = engine.split("-")[1] if "-" in engine else "f32"
        index = _core.VectorIndex(dim=x.shape[1], metric="ip", m=M, ef_construction=EF_CONSTRUCTION,
                                  min_graph_size=0, dtype=dtype, rescore=engine.endswith("-rescore"))
        index.put(x, ids, threads=2)
        return index, lambda ef: index.search(q, K, mode="hnsw", ef=ef, threads=1)[1]
    if engine == "hnswlib":
        import hnswlib

        index = hnswlib.Index(space="ip", dim=x.shape[1])
        index.init_index(max_elements=len(x), M=M, ef_construction=EF_CONSTRUCTION, random_seed=100)
        index.add_items(x, ids, num_threads=2)

        def search(ef: int) -> np.ndarray:
            index.set_ef(ef)
            return index.knn_query(q, k=K, num_threads=1)[0].astype(np.int64)
        return index, search
    if engine.startswith("faiss"):
        import faiss

        faiss.omp_set_num_threads(2)
        if engine == "faiss-hnsw":
            index = faiss.IndexHNSWFlat(x.shape[1], M, faiss.METRIC_INNER_PRODUCT)
        else:
            index = faiss.IndexHNSWSQ(x.shape[1], faiss.ScalarQuantizer.QT_8bit, M, faiss.METRIC_INNER_PRODUCT)
            index.train(x)  # the per-dimension ranges, learned from the data (as ragtune's int8)
        index.hnsw.efConstruction = EF_CONSTRUCTION
        index.add(x)

        def search(ef: int) -> np.ndarray:
            faiss.omp_set_num_threads(1)
            index.hnsw.efSearch = ef
            return index.search(q, K)[1].astype(np.int64)
        return index, search
    from usearch.index import Index as UsearchIndex

    index = UsearchIndex(ndim=x.shape[1], metric="ip", dtype=engine.partition("-")[2], connectivity=M,
                         expansion_add=EF_CONSTRUCTION)
    index.add(ids, x, threads=2)

    def search(ef: int) -> np.ndarray:
        index.expansion_search = ef
        return np.asarray(index.search(q, K, threads=1).keys, dtype=np.int64)
    return index, search


def worker(engine: str, n: int, use_real: bool) -> dict:
    x, q = real(n) if use_real else clustered(n)
    truth = np.argsort(-(q @ x.T), axis=1)[:, :K]
    import faiss  # noqa: F401  every library imported before the baseline: only the index is measured
    import hnswlib  # noqa: F401
    import usearch.index  # noqa: F401

    from ragtune import _core  # noqa: F401

    anon, files = resident()
    started = time.perf_counter()
    index, search = build(engine, x, q)
    build_s = time.perf_counter() - started
    anon_after, files_after = resident()
    out = {"engine": engine, "n": len(x), "build_s": build_s, "bytes_per_vector": (anon_after - anon) / len(x),
           "file_bytes_per_vector": (files_after - files) / len(x)}
    for ef in EFS:
        best, found = timed(lambda: search(ef))
        out[f"qps_ef{ef}"] = len(q) / best
        hits = [len(set(f) & set(t)) / K for f, t in zip(found.tolist(), truth.tolist())]
        out[f"recall_ef{ef}"] = float(np.mean(hits))
    del index
    return out


def compare(sizes: list[int], engines: list[str], use_real: bool) -> list[dict]:
    """Every engine at every size, each in its own process; prints a table with ratios to hnswlib."""
    print(f"{'n':>8} {'engine':<20} {'build':>7} {'B/vector':>9} {'file B/v':>8} " +
          " ".join(f"{'QPS ef' + str(ef):>10} {'recall':>7}" for ef in EFS) + "   vs hnswlib: memory, QPS ef64")
    results = []
    for n in sizes:
        by_engine = {}
        for engine in ["hnswlib"] + [e for e in engines if e != "hnswlib"]:
            command = [sys.executable, __file__, "--worker", engine, str(n)] + (["--real"] if use_real else [])
            by_engine[engine] = r = json.loads(subprocess.run(command, check=True, capture_output=True, text=True)
                                               .stdout.strip().splitlines()[-1])
            base = by_engine["hnswlib"]
            cells = " ".join(f"{r[f'qps_ef{ef}']:10.0f} {r[f'recall_ef{ef}']:7.4f}" for ef in EFS)
            print(f"{n:>8,} {engine:<20} {r['build_s']:6.1f}s {r['bytes_per_vector']:9.0f} "
                  f"{r['file_bytes_per_vector']:8.0f} {cells}   "
                  f"{r['bytes_per_vector'] / base['bytes_per_vector']:5.2f}x {r['qps_ef64'] / base['qps_ef64']:5.2f}x",
                  flush=True)
            results.append(r)
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[25_000, 50_000, 100_000, 200_000])
    parser.add_argument("--real", action="store_true", help="the cached MiniLM vectors of linux-doc")
    parser.add_argument("--engines", nargs="+", default=["hnswlib", "ragtune", "ragtune-int8"],
                        help=f"any of {', '.join(ENGINES)}, or all")
    parser.add_argument("--worker", nargs=2, metavar=("ENGINE", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker[0], int(args.worker[1]), args.real)))
        return
    engines = ENGINES if args.engines == ["all"] else args.engines
    unknown = set(engines) - set(ENGINES)
    if unknown:
        parser.error(f"unknown engines {sorted(unknown)}; choose from {', '.join(ENGINES)}")
    import ragtune

    print(json.dumps({"cores": os.cpu_count(), "ragtune": ragtune.__version__, "M": M,
                      "ef_construction": EF_CONSTRUCTION, "data": "MiniLM linux-doc" if args.real else "clustered"}))
    compare(args.sizes, engines, args.real)


if __name__ == "__main__":
    main()
