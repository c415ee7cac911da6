"""A child process for the SIGKILL tests (tests/test_crash_safety.py): it saves an
index in a loop, or runs one LoRA merge, and acknowledges each finished step on
stdout, so the parent knows what had been promised when it kills the child."""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

BATCH = 200
DIM = 32


def batch_ids(number: int) -> list[str]:
    return [f"b{number}-{j}" for j in range(BATCH)]


def save_loop(folder: Path) -> None:
    from ragtune import HashingEmbeddings, Index

    embedding = HashingEmbeddings(dim=DIM)
    index = Index.load(folder, embedding=embedding) if (folder / "CURRENT").exists() else Index(
        embedding=embedding, exact_below=0)
    number = len(index) // BATCH
    rng = np.random.default_rng(number)
    while True:
        ids = batch_ids(number)
        index.add([f"text {i}" for i in ids], ids=ids, vectors=rng.normal(size=(BATCH, DIM)).astype(np.float32))
        index.save(folder)
        print(f"saved {number}", flush=True)
        number += 1


def merge_once(base: Path, adapter: Path, out: Path) -> None:
    from ragtune.lora import merge

    merge(base, adapter, out, progress=False, shard_size="64MB")
    print("merged", flush=True)


if __name__ == "__main__":
    if sys.argv[1] == "save":
        save_loop(Path(sys.argv[2]))
    else:
        merge_once(Path(sys.argv[2]), Path(sys.argv[3]), Path(sys.argv[4]))
