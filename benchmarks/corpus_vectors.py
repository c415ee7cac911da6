"""Real MiniLM vectors for the index benchmarks: linux-doc-6.1 reST chunked by
ragtune (200 characters, no overlap), the first N chunks embedded with the default
MiniLM embedder. Embedding 100k chunks takes ~15-30 minutes on 2 cores, so the
result is cached in benchmarks/out/ (never committed) and reused.

    .venv/bin/python benchmarks/corpus_vectors.py --count 100000
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import time
from pathlib import Path

import numpy as np

LINUX_DOCS = Path("/usr/share/doc/linux-doc-6.1/Documentation")
OUT = Path(__file__).parent / "out"


def chunk_texts(count: int, skip: int = 0) -> list[str]:
    from ragtune import RecursiveChunker

    texts = []
    for path in sorted(LINUX_DOCS.rglob("*.rst.gz")):
        with gzip.open(path, "rb") as f:
            texts.append(f.read().decode("utf-8", errors="replace"))
    chunker = RecursiveChunker(chunk_size=200, chunk_overlap=0)
    chunks = [c.text for doc in chunker.split_many(texts) for c in doc if len(c.text) >= 40]
    if len(chunks) < skip + count:
        raise SystemExit(f"only {len(chunks)} chunks available, asked for {skip + count}")
    return chunks[skip : skip + count]


def load_or_build(count: int) -> tuple[list[str], np.ndarray]:
    """(texts, float32 unit vectors (count, 384)), from the cache when present."""
    vectors_path = OUT / f"linuxdoc_minilm_{count}.npy"
    texts_path = OUT / f"linuxdoc_minilm_{count}.json"
    if vectors_path.exists() and texts_path.exists():
        return json.loads(texts_path.read_text()), np.load(vectors_path)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from ragtune import MiniLMEmbeddings

    texts = chunk_texts(count)
    started = time.perf_counter()
    vectors = MiniLMEmbeddings(batch_size=128, show_progress=True).encode(texts)
    print(f"embedded {count} chunks in {time.perf_counter() - started:.0f} s")
    OUT.mkdir(parents=True, exist_ok=True)
    np.save(vectors_path, vectors)
    texts_path.write_text(json.dumps(texts))
    return texts, vectors


def load_queries(corpus_count: int, count: int) -> tuple[list[str], np.ndarray]:
    """Query texts and vectors: the `count` chunks right after the corpus (never indexed)."""
    vectors_path = OUT / f"linuxdoc_minilm_queries_{corpus_count}_{count}.npy"
    texts_path = OUT / f"linuxdoc_minilm_queries_{corpus_count}_{count}.json"
    if vectors_path.exists() and texts_path.exists():
        return json.loads(texts_path.read_text()), np.load(vectors_path)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    from ragtune import MiniLMEmbeddings

    texts = chunk_texts(count, skip=corpus_count)
    vectors = MiniLMEmbeddings(batch_size=128).encode(texts)
    OUT.mkdir(parents=True, exist_ok=True)
    np.save(vectors_path, vectors)
    texts_path.write_text(json.dumps(texts))
    return texts, vectors


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=100_000)
    args = parser.parse_args()
    texts, vectors = load_or_build(args.count)
    print(f"{len(texts)} texts, vectors {vectors.shape} {vectors.dtype}")
