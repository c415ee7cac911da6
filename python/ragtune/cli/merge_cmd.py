"""``ragtune merge BASE ADAPTER [ADAPTER ...] OUT``: LoRA adapters into a base checkpoint."""

from __future__ import annotations

import argparse
from dataclasses import asdict
from typing import Any


def run_merge(args: argparse.Namespace) -> dict[str, Any]:
    from ..lora import merge, unmerge

    *adapters, out = args.adapters_and_out
    if not adapters:
        raise ValueError("give at least one adapter folder before the output folder: ragtune merge BASE ADAPTER OUT")
    options = dict(dtype=args.dtype, shard_size=args.shard_size, require_finite=args.require_finite,
                   threads=args.threads, progress=not args.quiet and not args.json, weights=args.weights)
    if args.unmerge:
        report = unmerge(args.base, adapters, out, **options)
    else:
        report = merge(args.base, adapters, out, method=args.method, density=args.density,
                       majority_sign=args.majority_sign, rank=args.rank, seed=args.seed, **options)
    if not args.json:
        print(report.summary())
    return asdict(report) | {"gb_per_second": report.gb_per_second}


def add_merge_command(commands: Any) -> None:
    parser = commands.add_parser(
        "merge",
        help="merge PEFT LoRA adapters into a safetensors checkpoint",
        description="Merge PEFT LoRA adapter(s) into a base safetensors checkpoint, streaming one tensor at a time. "
        "Example: ragtune merge ./SmolLM2-135M ./my-adapter ./merged --dtype bf16 --shard-size 2GB",
    )
    parser.add_argument(
        "base", help="base checkpoint folder (model.safetensors or a sharded index) or .safetensors file"
    )
    parser.add_argument("adapters_and_out", nargs="+", metavar="ADAPTER... OUT",
                        help="one or more PEFT adapter folders, then the new output folder")
    parser.add_argument("--dtype", choices=["bf16", "fp16", "fp32"], help="output dtype (default: the base's)")
    parser.add_argument("--shard-size", default="5GB", help="largest shard, e.g. 2GB or 500MB (default 5GB)")
    parser.add_argument("--weights", type=float, nargs="+", help="one weight per adapter (default 1 each)")
    parser.add_argument("--method", default="linear",
                        choices=["linear", "cat", "svd", "ties", "dare_linear", "dare_ties", "magnitude_prune"],
                        help="how several adapters combine (default: linear, the exact weighted sum)")
    parser.add_argument("--density", type=float, help="fraction kept by ties / dare / magnitude_prune")
    parser.add_argument("--majority-sign", default="total", choices=["total", "frequency"])
    parser.add_argument("--rank", type=int, help="rank kept by --method svd")
    parser.add_argument("--seed", type=int, default=0, help="seed for DARE's random pruning")
    parser.add_argument("--unmerge", action="store_true", help="subtract the adapter(s) instead")
    parser.add_argument("--require-finite", action="store_true", help="fail if a merged weight is NaN or infinite")
    parser.add_argument("--threads", type=int, default=0, help="threads (0 = all cores)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(run=run_merge)
