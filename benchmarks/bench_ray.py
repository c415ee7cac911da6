"""ragtune's pipeline on one machine vs on Ray Data with 1 and 2 workers, on the same
corpus in one run, with the outputs checked equal.

Corpus: linux-doc-6.1's reST sources (3,183 files, 24 MB once decompressed into
``benchmarks/out/linux-doc-text``), chunked by ``RecursiveChunker(1000, 150)``.

1. Whole corpus, HashingEmbeddings(dim=384): read, chunk, embed, build the index and
   save it. Single process: ``documents_by_source`` + ``split_many`` +
   ``encode`` + ``Index.add(vectors=)`` + ``save`` (threads=1 for the 1-worker
   comparison, 2 for the 2-worker one). Ray: ``read_documents`` -> ``chunk`` ->
   ``embed`` -> ``write_index`` (one shard per worker, saved; opening it afterwards is
   not timed, as the single process's index is not read back either), on a local
   cluster of 1 and then 2 CPUs (cluster start timed apart).
2. MiniLM on a subset (the first ``--minilm-chunks`` chunks): the single-process
   embedder (torch on 1 and on 2 threads) against ``embed`` with 1 and 2 actors.
3. Checks: the sharded index holds the same ids and vectors as the single index, and
   exact dense, BM25 and hybrid search of 50 queries give identical hits and scores;
   Ray's MiniLM vectors equal the local ones (to 1e-5).

    .venv/bin/python benchmarks/bench_ray.py [--minilm-chunks 2000]
"""

from __future__ import annotations

import argparse
import gzip
import importlib.metadata as md
import os
import platform
import shutil
import time
import warnings
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
import ray  # noqa: E402

from ragtune import HashingEmbeddings, Index, RecursiveChunker  # noqa: E402
from ragtune.cli.files import documents_by_source  # noqa: E402
from ragtune.embeddings import MiniLMEmbeddings  # noqa: E402
from ragtune.integrations import ray as rt  # noqa: E402

LINUX = Path("/usr/share/doc/linux-doc-6.1/Documentation")
OUT = Path(__file__).resolve().parent / "out" / "ray"
TEXT = Path(__file__).resolve().parent / "out" / "linux-doc-text"


def corpus() -> Path:
    """linux-doc's .rst.gz files decompressed once into a folder of .rst files."""
    marker = TEXT / ".complete"
    if not marker.exists():
        shutil.rmtree(TEXT, ignore_errors=True)
        for path in sorted(LINUX.rglob("*.rst.gz")):
            target = TEXT / path.relative_to(LINUX).with_suffix("")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(gzip.decompress(path.read_bytes()))
        marker.touch()
    return TEXT


def single_process(folder: Path, chunker: RecursiveChunker, embedder, out: Path, threads: int):
    start = time.perf_counter()
    documents = documents_by_source([str(folder)], follow_links=False)
    chunks = [c for doc in chunker.split_many(list(documents.values()), sources=list(documents), threads=threads)
              for c in doc]
    vectors = embedder.encode([c.text for c in chunks])
    index = Index(embedding=embedder, threads=threads, embedding_cache=0)
    index.add(chunks, vectors=vectors)
    index.save(out)
    return index, chunks, time.perf_counter() - start


def on_ray(folder: Path, chunker: RecursiveChunker, embedder, out: Path, workers: int):
    start = time.perf_counter()
    ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False, configure_logging=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    started = time.perf_counter()
    try:
        vectors = rt.embed(rt.chunk(rt.read_documents([folder]), chunker), embedder, batch_size=256,
                           concurrency=workers)
        rt.write_index(vectors, out, shards=workers, embedding=embedder, load=False)
        done = time.perf_counter()
    finally:
        ray.shutdown()
    return rt.ShardedIndex.load(out, embedding=embedder), started - start, done - started


def identical(sharded, whole, queries: list[str]) -> bool:
    if sharded.ids() != whole.ids():
        return False
    if not np.array_equal(np.vstack([s.vectors(s.ids()) for s in sharded.shards]), whole.vectors(whole.ids())):
        return False
    for mode in ("dense", "bm25", "hybrid"):
        got = sharded.search_many(queries, k=10, mode=mode, exact=True)
        want = whole.search_many(queries, k=10, mode=mode, exact=True)
        if [[(h.id, h.score) for h in q] for q in got] != [[(h.id, h.score) for h in q] for q in want]:
            return False
    return True


def minilm(chunks: list, count: int) -> None:
    texts = [c.text for c in chunks[:count]]
    import torch

    times, local = {}, None
    for threads in (1, 2):
        torch.set_num_threads(threads)
        embedder = MiniLMEmbeddings()
        embedder.encode(texts[:8])  # load the model before timing
        start = time.perf_counter()
        local = embedder.encode(texts)
        times[f"local {threads} thread(s)"] = time.perf_counter() - start
    for workers in (1, 2):
        ray.init(num_cpus=workers, include_dashboard=False, log_to_driver=False, configure_logging=False)
        ray.data.DataContext.get_current().enable_progress_bars = False
        try:
            ds = ray.data.from_items([{"doc": 0, "index": n, "text": t} for n, t in enumerate(texts)],
                                     override_num_blocks=max(workers * 4, 8))
            start = time.perf_counter()
            rows = rt.embed(ds, "minilm", batch_size=64, concurrency=workers).take_all()
            times[f"Ray, {workers} actor(s)"] = time.perf_counter() - start
        finally:
            ray.shutdown()
        got = np.vstack([r["vector"] for r in sorted(rows, key=lambda r: r["index"])])
        print(f"  MiniLM on Ray ({workers} actors) vs here: max |difference| {np.abs(got - local).max():.2e}")
    print(f"\nMiniLM, {len(texts)} chunks (model load included for Ray's actors, not for local):")
    for name, seconds in times.items():
        print(f"  {name:24s} {seconds:7.1f} s  {len(texts) / seconds:7.1f} chunks/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--minilm-chunks", type=int, default=2000)
    args = parser.parse_args()
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs; versions: " + ", ".join(
        f"{p} {md.version(p)}" for p in ("ragtune", "ray", "pyarrow", "torch")))
    folder = corpus()
    chunker = RecursiveChunker(chunk_size=1000, chunk_overlap=150)
    embedder = HashingEmbeddings(dim=384)
    shutil.rmtree(OUT, ignore_errors=True)
    queries: list[str] = []
    rows = []
    whole = chunks = None
    for workers in (1, 2):
        whole, chunks, alone = single_process(folder, chunker, embedder, OUT / f"single-{workers}", workers)
        sharded, startup, took = on_ray(folder, chunker, embedder, OUT / f"ray-{workers}", workers)
        if not queries:
            queries = [c.text.split("\n")[0][:80] for c in chunks[:: max(1, len(chunks) // 50)]][:50]
        rows.append((workers, len(chunks), alone, startup, took, identical(sharded, whole, queries)))
    print(f"\nWhole corpus: {rows[0][1]} chunks; hashing embedder; read + chunk + embed + index + save")
    print(f"{'workers':>8} {'single (s)':>11} {'Ray (s)':>8} {'Ray start':>10} {'chunks/s single':>16} "
          f"{'chunks/s Ray':>13} {'Ray / single':>13} {'equal':>6}")
    for workers, n, alone, startup, took, same in rows:
        print(f"{workers:>8} {alone:>11.1f} {took:>8.1f} {startup:>10.1f} {n / alone:>16.0f} {n / took:>13.0f} "
              f"{took / alone:>13.2f} {str(same):>6}")
    print(f"Ray's overhead at 1 worker: {100 * (rows[0][4] / rows[0][2] - 1):+.0f}% (goal: at most +15%); "
          f"scaling 1 -> 2 workers on Ray: {rows[0][4] / rows[1][4]:.2f}x")
    minilm(chunks, args.minilm_chunks)


if __name__ == "__main__":
    main()
