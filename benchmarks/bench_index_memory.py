"""Index memory and growth: ragtune's VectorIndex against hnswlib (same M,
ef_construction, seed), each engine built in its own process so that resident
memory is measured cleanly (RSS after the build minus RSS before, with the input
vectors already loaded).

Data: clustered synthetic unit vectors (200 Gaussian clusters in 384 dimensions,
the shape of sentence embeddings), or the cached 100k MiniLM vectors of linux-doc
(``--real``, after ``benchmarks/corpus_vectors.py --count 100000``). For each size:
build time (2 threads), bytes per vector, QPS on one thread and recall@10 at ef 32,
64 and 128 over 1,000 queries against exact ground truth.

    .venv/bin/python benchmarks/bench_index_memory.py                 # growth: 25k 50k 100k 200k
    .venv/bin/python benchmarks/bench_index_memory.py --sizes 100000 --real
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
    return vectors[:n], load_queries()[:QUERIES]


def resident() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS"):
                return int(line.split()[1]) * 1024
    return 0


def worker(engine: str, n: int, use_real: bool) -> dict:
    x, q = real(n) if use_real else clustered(n)
    truth = np.argsort(-(q @ x.T), axis=1)[:, :K]
    ids = np.arange(len(x), dtype=np.int64)
    import hnswlib  # both imported before the baseline: only the index is measured
    from ragtune import _core

    before = resident()
    started = time.perf_counter()
    if engine == "ragtune":
        index = _core.VectorIndex(dim=x.shape[1], metric="ip", m=M, ef_construction=EF_CONSTRUCTION, min_graph_size=0)
        index.put(x, ids, threads=2)

        def search(ef: int) -> np.ndarray:
            return index.search(q, K, mode="hnsw", ef=ef, threads=1)[1]
    else:
        index = hnswlib.Index(space="ip", dim=x.shape[1])
        index.init_index(max_elements=len(x), M=M, ef_construction=EF_CONSTRUCTION, random_seed=100)
        index.add_items(x, ids, num_threads=2)

        def search(ef: int) -> np.ndarray:
            index.set_ef(ef)
            return index.knn_query(q, k=K, num_threads=1)[0].astype(np.int64)
    build = time.perf_counter() - started
    memory = resident() - before
    out = {"engine": engine, "n": len(x), "build_s": build, "bytes_per_vector": memory / len(x)}
    for ef in EFS:
        best, found = timed(lambda: search(ef))
        out[f"qps_ef{ef}"] = len(q) / best
        hits = [len(set(f) & set(t)) / K for f, t in zip(found.tolist(), truth.tolist())]
        out[f"recall_ef{ef}"] = float(np.mean(hits))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--sizes", type=int, nargs="+", default=[25_000, 50_000, 100_000, 200_000])
    parser.add_argument("--real", action="store_true", help="the cached MiniLM vectors of linux-doc")
    parser.add_argument("--worker", nargs=2, metavar=("ENGINE", "N"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.worker:
        print(json.dumps(worker(args.worker[0], int(args.worker[1]), args.real)))
        return
    import ragtune

    print(json.dumps({"cores": os.cpu_count(), "ragtune": ragtune.__version__, "M": M,
                      "ef_construction": EF_CONSTRUCTION, "data": "MiniLM linux-doc" if args.real else "clustered"}))
    print(f"{'n':>8} {'engine':<8} {'build':>7} {'B/vector':>9} " +
          " ".join(f"{'QPS ef' + str(ef):>10} {'recall':>7}" for ef in EFS))
    for n in args.sizes:
        results = {}
        for engine in ("hnswlib", "ragtune"):
            command = [sys.executable, __file__, "--worker", engine, str(n)] + (["--real"] if args.real else [])
            results[engine] = json.loads(subprocess.run(command, check=True, capture_output=True, text=True)
                                         .stdout.strip().splitlines()[-1])
        for engine, r in results.items():
            cells = " ".join(f"{r[f'qps_ef{ef}']:10.0f} {r[f'recall_ef{ef}']:7.4f}" for ef in EFS)
            print(f"{n:>8,} {engine:<8} {r['build_s']:6.1f}s {r['bytes_per_vector']:9.0f} {cells}", flush=True)
        ours, theirs = results["ragtune"], results["hnswlib"]
        print(f"{'':>8} {'ratio':<8} {theirs['build_s'] / ours['build_s']:6.2f}x "
              f"{ours['bytes_per_vector'] / theirs['bytes_per_vector']:8.2f}x " +
              " ".join(f"{ours[f'qps_ef{ef}'] / theirs[f'qps_ef{ef}']:9.2f}x {'':>7}" for ef in EFS), flush=True)


if __name__ == "__main__":
    main()
