"""RAFT speed against plain Python, on the same input in one run.

Sampling only: ragtune's C++ sampler against a plain-Python implementation of the
reference algorithm (gorilla raft/: oracle + k uniform distractors, oracle kept with
probability P, shuffled). Input: 1M questions over 1M chunks, one oracle each, k=4.
"hard" takes distractors from 20 precomputed neighbours per question (as an index
search would give them; generated here so the benchmark measures assembly, not search).

End to end (``--end-to-end``, see bench_raft_files.py): ``assemble`` + ``write_jsonl``
of real linux-doc chunks, every format, against a plain-Python loop sampling the
same way and writing the same records with ``json.dumps``.

    .venv/bin/python benchmarks/bench_raft.py [--items 1000000]
    .venv/bin/python benchmarks/bench_raft.py --end-to-end [--examples 100000 1000000]
"""

from __future__ import annotations

import argparse
import json
import os
import random
from pathlib import Path

import numpy as np

import ragtune
from ragtune import _core
from timing import timed

K = 4
P = 0.8
NEIGHBOURS = 20


def maybe_drop_oracle(docs: list[int], oracle: int, chunks: int, rng: random.Random) -> None:
    """With probability 1 - P the oracle (docs[0]) is replaced by another distractor."""
    if rng.random() >= P:
        while True:
            c = rng.randrange(chunks)
            if c != oracle and c not in docs:
                docs[0] = c
                return


def python_reference(
    oracles: list[int], chunks: int, seed: int, ranked: list[list[int]] | None = None
) -> list[list[int]]:
    """The reference algorithm, written plainly but without gorilla's O(N) list copies:
    distractors are uniform draws, or (hard) the first non-oracle ranked neighbours."""
    rng = random.Random(seed)
    out = []
    for n, oracle in enumerate(oracles):
        pool = iter(ranked[n]) if ranked is not None else iter(lambda: rng.randrange(chunks), None)
        docs = [oracle]
        for c in pool:
            if len(docs) == K + 1:
                break
            if c != oracle and c not in docs:
                docs.append(c)
        maybe_drop_oracle(docs, oracle, chunks, rng)
        rng.shuffle(docs)
        out.append(docs)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--chunks", type=int, default=1_000_000)
    parser.add_argument("--json", type=Path, default=Path(__file__).parent / "out" / "raft.json")
    parser.add_argument("--end-to-end", action="store_true", help="assemble + write real records (every format)")
    parser.add_argument("--examples", type=int, nargs="+", default=[100_000, 1_000_000])
    parser.add_argument("--out-dir", type=Path, default=Path("/dev/shm") if Path("/dev/shm").is_dir() else None,
                        help="where the files are written (default: /dev/shm, so the disk does not decide)")
    parser.add_argument("--formats", nargs="+", default=["hf", "completion", "chat", "eval"])
    args = parser.parse_args()
    if args.end_to_end:
        from bench_raft_files import end_to_end

        end_to_end(args.examples, args.formats, args.out_dir or Path(__file__).parent / "out")
        return
    rng = np.random.default_rng(0)
    oracles = rng.integers(0, args.chunks, size=args.items)
    neighbours = rng.integers(0, args.chunks, size=(args.items, NEIGHBOURS))
    neighbours[:, 0] = oracles  # an index ranks the oracle itself first: it must be skipped
    offsets = np.arange(args.items + 1, dtype=np.int64)
    candidate_offsets = np.arange(0, (args.items + 1) * NEIGHBOURS, NEIGHBOURS, dtype=np.int64)
    oracle_list = oracles.tolist()
    print(json.dumps({"items": args.items, "chunks": args.chunks, "k": K, "p": P, "cores": os.cpu_count(),
                      "ragtune": ragtune.__version__}))
    rows = {}
    t_py, _ = timed(lambda: python_reference(oracle_list, args.chunks, 1), 1)
    rows["python reference, random"] = t_py
    for threads in (1, 2):
        t, out = timed(lambda: _core.raft_assemble(args.chunks, offsets, oracles, distractors=K, p=P, seed=1,
                                                   threads=threads), 3)
        rows[f"ragtune random, {threads} thread(s)"] = t
    assert int(out["kept_oracle"].sum()) == round(P * args.items)
    t_pyh, _ = timed(lambda: python_reference(oracle_list, args.chunks, 1, neighbours.tolist()), 1)
    rows["python reference, hard"] = t_pyh
    for threads in (1, 2):
        t, out = timed(lambda: _core.raft_assemble(args.chunks, offsets, oracles, distractors=K, p=P, seed=1,
                                                   strategy="hard", candidate_offsets=candidate_offsets,
                                                   candidate_ids=neighbours.ravel(), threads=threads), 3)
        rows[f"ragtune hard, {threads} thread(s)"] = t
    for name, seconds in rows.items():
        base = t_py if "random" in name else t_pyh
        print(f"  {name:<34} {seconds:8.3f} s  {args.items / seconds:14,.0f} examples/s  {base / seconds:8.1f}x")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps({name: args.items / s for name, s in rows.items()}, indent=2))


if __name__ == "__main__":
    main()
