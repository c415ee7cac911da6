"""Index speed: ragtune against numpy, FAISS, hnswlib and bm25s on ~100k real
MiniLM vectors of chunked linux-doc, all in one run on the same data.

- exact search (batch 1 and 64) vs numpy and faiss-cpu IndexFlatIP (same results checked)
- HNSW build time, and recall@10 vs QPS against the hnswlib Python package (same M, ef)
- filtered search at 50% / 10% / 1% selectivity vs hnswlib's Python filter and post-filtering
- BM25 indexing and query speed vs bm25s
- opening a saved 100k index: ragtune Index.load (full, and mmap=True) against hnswlib
  load_index, FAISS read_index (plain and IO_FLAG_MMAP) and usearch restore (plain and
  view=True), and the first search after opening
- memory per vector, build time, QPS and recall@10 at ef 32/64/128 for ragtune's f32, f16
  and int8 storage against hnswlib, FAISS (HNSW flat, HNSW-SQ8) and usearch (f32, f16,
  i8), each engine built in its own process (bench_index_memory.py; --skip-memory skips)

    .venv/bin/python benchmarks/corpus_vectors.py --count 100000   # once: embeds and caches
    .venv/bin/python benchmarks/bench_index.py
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "2")

import argparse  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import time  # noqa: E402
from importlib.metadata import version  # noqa: E402
from pathlib import Path  # noqa: E402

import numpy as np  # noqa: E402

import ragtune  # noqa: E402
from ragtune import _core  # noqa: E402

from bench_index_memory import ENGINES, compare  # noqa: E402
from corpus_vectors import load_or_build, load_queries  # noqa: E402
from timing import timed  # noqa: E402

K = 10
M = 16
EF_CONSTRUCTION = 200
THREADS = 2


def recall(found: np.ndarray, truth: np.ndarray) -> float:
    return float(np.mean([len(set(f[f >= 0]) & set(t)) / len(t) for f, t in zip(found, truth)]))


def row(rows: list, section: str, name: str, value: float, unit: str, note: str = "", ratio: float | None = None):
    rows.append({"section": section, "name": name, "value": round(value, 3), "unit": unit, "note": note,
                 "ratio": None if ratio is None else round(ratio, 2)})
    r = f"{ratio:6.2f}x" if ratio is not None else "       "
    print(f"  {name:<58} {value:12.1f} {unit:<8} {r}  {note}", flush=True)


def exact_section(x: np.ndarray, q: np.ndarray, rows: list) -> np.ndarray:
    import faiss

    faiss.omp_set_num_threads(THREADS)
    print("\n== exact search (inner product on unit vectors = cosine) ==")
    core = _core.VectorIndex(dim=x.shape[1], metric="ip", min_graph_size=10**9)
    core.put(x, np.arange(len(x)))
    flat = faiss.IndexFlatIP(x.shape[1])
    flat.add(x)

    def numpy_search(batch: np.ndarray) -> np.ndarray:
        scores = batch @ x.T
        top = np.argpartition(-scores, K, axis=1)[:, :K]
        order = np.take_along_axis(scores, top, axis=1).argsort(axis=1)[:, ::-1]
        return np.take_along_axis(top, order, axis=1)

    truth = numpy_search(q)
    for batch in (1, 64):
        n_batches = 64 if batch == 1 else len(q) // batch
        chunks = [q[i * batch : (i + 1) * batch] for i in range(n_batches)]
        t_np, _ = timed(lambda: [numpy_search(c) for c in chunks])
        t_faiss, _ = timed(lambda: [flat.search(c, K) for c in chunks])
        t_rt, got = timed(lambda: [core.search(c, K, mode="exact", threads=THREADS)[1] for c in chunks])
        got_ids = np.concatenate(got)
        agree = recall(got_ids, truth[: len(got_ids)])
        queries = n_batches * batch
        row(rows, "exact", f"numpy matmul + argpartition, batch {batch}", queries / t_np, "QPS")
        row(rows, "exact", f"faiss IndexFlatIP, batch {batch}", queries / t_faiss, "QPS")
        row(rows, "exact", f"ragtune exact, batch {batch}", queries / t_rt, "QPS",
            f"top-10 agreement with numpy {agree:.4f}", ratio=t_faiss / t_rt)
    return truth


def hnsw_section(x: np.ndarray, q: np.ndarray, truth: np.ndarray, rows: list) -> tuple:
    import hnswlib

    print(f"\n== HNSW (M={M}, ef_construction={EF_CONSTRUCTION}, {THREADS} threads) ==")
    ids = np.arange(len(x))
    started = time.perf_counter()
    theirs = hnswlib.Index(space="ip", dim=x.shape[1])
    theirs.init_index(max_elements=len(x), M=M, ef_construction=EF_CONSTRUCTION, random_seed=100)
    theirs.add_items(x, ids, num_threads=THREADS)
    t_theirs = time.perf_counter() - started
    started = time.perf_counter()
    ours = _core.VectorIndex(dim=x.shape[1], metric="ip", m=M, ef_construction=EF_CONSTRUCTION, min_graph_size=1)
    ours.put(x, ids, threads=THREADS)
    t_ours = time.perf_counter() - started
    row(rows, "hnsw build", "hnswlib add_items", t_theirs, "s")
    row(rows, "hnsw build", "ragtune put (graph built as it grows)", t_ours, "s", ratio=t_theirs / t_ours)
    for ef in (16, 32, 64, 128, 256):
        theirs.set_ef(ef)
        t_h, found_h = timed(lambda: theirs.knn_query(q, k=K, num_threads=THREADS))
        t_r, found_r = timed(lambda: ours.search(q, K, mode="hnsw", ef=ef, threads=THREADS))
        r_h, r_r = recall(found_h[0].astype(np.int64), truth), recall(found_r[1], truth)
        row(rows, "hnsw search", f"hnswlib ef={ef}", len(q) / t_h, "QPS", f"recall@10 {r_h:.4f}")
        row(rows, "hnsw search", f"ragtune ef={ef}", len(q) / t_r, "QPS", f"recall@10 {r_r:.4f}", ratio=t_h / t_r)
    for ef in (64,):
        theirs.set_ef(ef)
        single = q[:200]
        t_h, _ = timed(lambda: [theirs.knn_query(v, k=K, num_threads=1) for v in single])
        t_r, _ = timed(lambda: [ours.search(v, K, mode="hnsw", ef=ef, threads=1) for v in single])
        row(rows, "hnsw search", f"hnswlib ef={ef}, one query per call", len(single) / t_h, "QPS")
        row(rows, "hnsw search", f"ragtune ef={ef}, one query per call", len(single) / t_r, "QPS", ratio=t_h / t_r)
    return theirs, ours


def filter_section(x: np.ndarray, q: np.ndarray, theirs, ours, rows: list) -> None:
    print("\n== filtered search (k=10, ef=64) ==")
    rng = np.random.default_rng(0)
    queries = q[:200]
    theirs.set_ef(64)
    for selectivity in (0.5, 0.1, 0.01):
        allowed = rng.random(len(x)) < selectivity
        slot_filter = _core.SlotFilter(allowed)
        truth = []
        for v in queries:
            scores = np.where(allowed, x @ v, -np.inf)
            truth.append(np.argsort(-scores)[:K])
        truth = np.array(truth)
        check = allowed.__getitem__
        t_h, found_h = timed(lambda: [theirs.knn_query(v, k=K, num_threads=1, filter=check)[0][0] for v in queries], 1)
        over = int(min(len(x), K / selectivity * 2))
        t_p, found_p = timed(lambda: [[i for i in theirs.knn_query(v, k=over, num_threads=1)[0][0] if allowed[i]][:K]
                                      for v in queries], 1)
        t_r, found_r = timed(lambda: ours.search(queries, K, filter=slot_filter, threads=1), 3)
        short = sum(len(f) < K for f in found_p)
        pct = f"{selectivity:.0%}"
        row(rows, "filter", f"hnswlib Python filter, {pct} allowed", len(queries) / t_h, "QPS",
            f"recall {recall(np.array(found_h, dtype=np.int64), truth):.3f}")
        row(rows, "filter", f"hnswlib + post-filtering (k'={over}), {pct}", len(queries) / t_p, "QPS",
            f"{short} of {len(queries)} queries got fewer than {K}")
        row(rows, "filter", f"ragtune filter bitset, {pct} allowed", len(queries) / t_r, "QPS",
            f"recall {recall(found_r[1], truth):.3f}", ratio=t_h / t_r)


def bm25_section(texts: list[str], query_texts: list[str], rows: list) -> None:
    import bm25s

    print("\n== BM25 (Lucene variant, k1=1.5, b=0.75) ==")
    started = time.perf_counter()
    corpus_tokens = bm25s.tokenize(texts, stopwords=None, show_progress=False)
    reference = bm25s.BM25()
    reference.index(corpus_tokens, show_progress=False)
    t_theirs = time.perf_counter() - started
    started = time.perf_counter()
    ours = _core.BM25Index()
    ours.put(texts, np.arange(len(texts)), threads=THREADS)
    t_ours = time.perf_counter() - started
    row(rows, "bm25 index", f"bm25s tokenize + index ({len(texts)} docs)", t_theirs, "s")
    row(rows, "bm25 index", "ragtune BM25Index.put", t_ours, "s", ratio=t_theirs / t_ours)
    query_tokens = bm25s.tokenize(query_texts, stopwords=None, show_progress=False)
    t_h, _ = timed(lambda: reference.retrieve(query_tokens, k=K, show_progress=False, n_threads=THREADS), 3)
    t_r, _ = timed(lambda: ours.search(query_texts, K, threads=THREADS), 3)
    row(rows, "bm25 query", f"bm25s retrieve ({len(query_texts)} queries, tokenised beforehand)",
        len(query_texts) / t_h, "QPS")
    row(rows, "bm25 query", "ragtune BM25Index.search (tokenising included)", len(query_texts) / t_r, "QPS",
        ratio=t_h / t_r)


def load_section(texts: list[str], x: np.ndarray, q: np.ndarray, rows: list) -> None:
    """Open a saved index of these vectors: what a server or a Ray worker waits for at start."""
    import shutil

    import faiss
    import hnswlib
    from usearch.index import Index as UsearchIndex

    from ragtune import Index, MiniLMEmbeddings

    print(f"\n== opening a saved index of {len(x)} vectors (median of 5 opens; page cache warm) ==")
    folder = Path(__file__).parent / "out" / "load"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    ours = Index(embedding=MiniLMEmbeddings(), m=M, ef_construction=EF_CONSTRUCTION, exact_below=0,
                 embedding_cache=0, threads=THREADS)
    ours.add(texts, ids=[f"c{i}" for i in range(len(texts))], vectors=x)
    ours.save(folder / "ragtune")
    theirs = hnswlib.Index(space="ip", dim=x.shape[1])
    theirs.init_index(max_elements=len(x), M=M, ef_construction=EF_CONSTRUCTION, random_seed=100)
    theirs.add_items(x, np.arange(len(x)), num_threads=THREADS)
    theirs.save_index(str(folder / "hnswlib.bin"))
    flat = faiss.IndexHNSWFlat(x.shape[1], M, faiss.METRIC_INNER_PRODUCT)
    flat.hnsw.efConstruction = EF_CONSTRUCTION
    flat.add(x)
    faiss.write_index(flat, str(folder / "faiss.index"))
    usearch = UsearchIndex(ndim=x.shape[1], metric="ip", dtype="f32", connectivity=M, expansion_add=EF_CONSTRUCTION)
    usearch.add(np.arange(len(x)), x, threads=THREADS)
    usearch.save(str(folder / "usearch.index"))
    del ours, theirs, flat, usearch

    def hnswlib_load():
        index = hnswlib.Index(space="ip", dim=x.shape[1])
        index.load_index(str(folder / "hnswlib.bin"))
        return index

    opens = {
        "hnswlib load_index": hnswlib_load,
        "FAISS read_index": lambda: faiss.read_index(str(folder / "faiss.index")),
        "FAISS read_index, IO_FLAG_MMAP": lambda: faiss.read_index(
            str(folder / "faiss.index"), faiss.IO_FLAG_MMAP | faiss.IO_FLAG_READ_ONLY),
        "usearch restore": lambda: UsearchIndex.restore(str(folder / "usearch.index")),
        "usearch restore, view=True (mapped)": lambda: UsearchIndex.restore(str(folder / "usearch.index"), view=True),
        "ragtune Index.load (records, BM25, vectors, graph)": lambda: Index.load(folder / "ragtune"),
        "ragtune Index.load(mmap=True)": lambda: Index.load(folder / "ragtune", mmap=True),
    }
    hnswlib_seconds = None
    for name, open_it in opens.items():
        times = []
        for _ in range(5):
            started = time.perf_counter()
            index = open_it()
            times.append(time.perf_counter() - started)
            del index
        seconds = float(np.median(times))
        hnswlib_seconds = hnswlib_seconds or seconds
        row(rows, "open", name, seconds * 1000, "ms", ratio=hnswlib_seconds / seconds)
    mapped = Index.load(folder / "ragtune", mmap=True)
    started = time.perf_counter()
    hits = mapped.search_by_vector(q[0], k=K)
    row(rows, "open", "ragtune mapped: first search_by_vector (pages and records read)",
        (time.perf_counter() - started) * 1000, "ms", f"{len(hits)} hits")
    started = time.perf_counter()
    mapped.verify()
    row(rows, "open", "ragtune mapped: verify() (SHA-256 of every file)", (time.perf_counter() - started) * 1000, "ms")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--skip-memory", action="store_true", help="skip the per-engine memory section")
    parser.add_argument("--json", type=Path, default=Path(__file__).parent / "out" / "index.json")
    args = parser.parse_args()
    texts, x = load_or_build(args.count)
    query_texts, q = load_queries(args.count, args.queries)
    info = {"cpu": platform.processor() or platform.machine(), "cores": os.cpu_count(), "ragtune": ragtune.__version__,
            "simd": ragtune.simd_info()["active"], "vectors": list(x.shape)}
    for name in ("faiss-cpu", "hnswlib", "usearch", "bm25s", "numpy"):
        info[name] = version(name)
    print("machine:", json.dumps(info))
    rows: list = []
    truth = exact_section(x, q, rows)
    theirs, ours = hnsw_section(x, q, truth, rows)
    filter_section(x, q, theirs, ours, rows)
    bm25_section(texts, query_texts, rows)
    load_section(texts, x, q, rows)
    memory = []
    if not args.skip_memory:
        print(f"\n== memory, build, QPS and recall by storage (one process per engine, {len(q)} queries) ==")
        memory = compare([args.count], ENGINES, use_real=True)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({"machine": info, "rows": rows, "memory": memory}, indent=2))


if __name__ == "__main__":
    main()
