"""What returning many small Python objects costs: ``Index.search_many`` hits against
the core's own ranking time, and ``retrieval_metrics`` tables against pytrec_eval, on
the same data in one run.

Hits: linux-doc-6.1's reST chunked by ``RecursiveChunker(1000, 150)`` (30,540
chunks) in an Index with the hashing embedder (so embedding is not what is
measured), 5,000 queries (the first 80 characters of every 6th chunk), k = 10 and
100, in dense, BM25 and hybrid mode. "core" is the C++ search alone (the rankings as
arrays); "objects" is the rest of ``search_many``: Hit objects, and the fusion for
hybrid.

Metrics: 5,000 queries with 3 graded relevant documents each, runs of 100 documents,
recall/precision/nDCG/success at 1, 3, 5, 10 and MRR; pytrec_eval gets the same run
as {doc: score} (what it reads).

    .venv/bin/python benchmarks/bench_results.py
"""

from __future__ import annotations

import json
import os
import random

import ragtune
from bench_raft_files import corpus
from ragtune import HashingEmbeddings, Index
from ragtune.evaluate import retrieval_metrics
from ragtune.index.index import search_arguments
from timing import timed


def hits() -> None:
    chunks = corpus()
    index = Index(embedding=HashingEmbeddings(dim=256))
    index.add(chunks)
    queries = [c.text[:80] for c in chunks[::6]][:5000]
    vectors = index._embed_queries(queries)
    print(f"\nsearch_many: {len(queries)} queries over {len(index)} chunks")
    print(f"{'mode':<7} {'k':>4} {'search_many':>12} {'core':>8} {'objects':>8} {'per hit':>9} {'objects/core':>13}")
    for mode in ("dense", "bm25", "hybrid"):
        for k in (10, 100):
            texts, _, depth = search_arguments(queries, k=k, mode=mode, weights=(1.0, 1.0), fetch_k=None)
            embed, _ = timed(lambda: index._embed_queries(queries))
            core, _ = timed(lambda: index._candidates(texts, vectors if mode != "bm25" else None, mode=mode,
                                                     depth=depth, filter=None, ef=None, exact=False))
            total, results = timed(lambda: index.search_many(queries, k=k, mode=mode))
            count = sum(len(r) for r in results)
            objects = total - core - embed
            print(f"{mode:<7} {k:>4} {total:11.3f}s {core:7.3f}s {objects:7.3f}s {1e6 * objects / count:7.2f}µs "
                  f"{objects / core:12.2f}x", flush=True)


def metrics() -> None:
    import pytrec_eval

    rng = random.Random(0)
    docs = [f"d{i}" for i in range(20000)]
    qrels = {f"q{i}": {d: rng.randint(1, 2) for d in rng.sample(docs, 3)} for i in range(5000)}
    run = {q: rng.sample(docs, 100) for q in qrels}
    scored = {q: {d: 100.0 - r for r, d in enumerate(ranked)} for q, ranked in run.items()}
    ours, scores = timed(lambda: retrieval_metrics(run, qrels, k=[1, 3, 5, 10]))
    measures = {"recall.1,3,5,10", "P.1,3,5,10", "ndcg_cut.1,3,5,10", "recip_rank", "success.1,3,5,10"}
    theirs, table = timed(lambda: pytrec_eval.RelevanceEvaluator(qrels, measures).evaluate(scored))
    assert abs(scores["ndcg@10"] - sum(t["ndcg_cut_10"] for t in table.values()) / len(table)) < 1e-12
    print(f"\nretrieval_metrics: {len(qrels)} queries x 100 documents: ragtune {ours:.3f}s, "
          f"pytrec_eval {theirs:.3f}s ({theirs / ours:.2f}x), same nDCG@10")


def main() -> None:
    print(json.dumps({"cores": os.cpu_count(), "ragtune": ragtune.__version__}))
    hits()
    metrics()


if __name__ == "__main__":
    main()
