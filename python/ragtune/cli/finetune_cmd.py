"""``ragtune finetune BASE DATA --out ADAPTER``: train a LoRA adapter on RAFT or chat data."""

from __future__ import annotations

import argparse
import sys
from typing import Any


def run_finetune(args: argparse.Namespace) -> dict[str, Any]:
    from ..finetune import TrainingDiverged, TrainingInterrupted, train_lora

    targets = args.target_modules[0] if args.target_modules == ["all-linear"] else args.target_modules
    try:
        report = train_lora(
            args.base, args.data, args.out, r=args.r, alpha=args.alpha, dropout=args.dropout,
            target_modules=targets, use_rslora=args.rslora, use_dora=args.dora, epochs=args.epochs,
            max_steps=args.max_steps, learning_rate=args.lr, warmup=args.warmup, scheduler=args.scheduler,
            batch_size=args.batch_size, gradient_accumulation=args.grad_accum, max_seq_len=args.max_seq_len,
            micro_batch_tokens=args.micro_batch_tokens or "auto",
            group_by_length=not args.no_group_by_length, gradient_checkpointing=args.gradient_checkpointing,
            eval_data=args.eval_data, eval_fraction=args.eval_fraction, system_prompt=args.system_prompt,
            chat_template=args.chat_template, seed=args.seed, device=args.device, dtype=args.dtype,
            threads=args.threads, checkpoint_every=args.checkpoint_every, resume=not args.no_resume,
            keep_checkpoints=args.keep_checkpoints, progress=not args.quiet and not args.json)
    except TrainingInterrupted as stop:
        # The message says where the checkpoint is and how to go on; 130 is the shell's Ctrl-C status.
        print(f"ragtune finetune: {stop}", file=sys.stderr)
        args.exit_code = 130
        return {"status": "interrupted", "checkpoint": str(stop.checkpoint), "steps": stop.report.steps}
    except TrainingDiverged as failure:
        print(f"ragtune finetune: {failure}", file=sys.stderr)
        args.exit_code = 1
        return {"status": "diverged", "checkpoint": str(failure.checkpoint) if failure.checkpoint else None,
                "steps": failure.report.steps}
    if not args.json:
        print(report.summary())
    return report.to_dict()


def add_finetune_command(commands: Any) -> None:
    parser = commands.add_parser(
        "finetune", help="train a LoRA adapter on RAFT or chat data (PEFT folder + training.json)",
        description="Train a LoRA adapter on a causal LM in safetensors. DATA is a JSONL or Parquet file that "
        "ragtune raft wrote (hf, chat or completion format) or any chat / prompt-completion JSONL. Loss on the "
        "assistant's tokens only; RAFT distractors are cut to fit --max-seq-len. Checkpoints every "
        "--checkpoint-every steps; rerun the same command to resume a killed or interrupted run. "
        "Example: ragtune finetune ./SmolLM2-135M train.jsonl --out ./faq-adapter --epochs 2 --threads 2",
        epilog="exit codes: 0 trained, 1 the loss diverged (last good checkpoint kept), 2 bad input, "
               "3 file error (e.g. disk full: the previous checkpoint is intact), 130 interrupted (checkpoint saved)")
    parser.add_argument("base", help="folder with the base causal LM (safetensors) and its tokenizer")
    parser.add_argument("data", help="training data: .jsonl or .parquet (hf, chat or completion records)")
    parser.add_argument("--out", required=True, help="new (or empty) folder for the adapter")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--max-steps", type=int, help="stop after this many optimizer steps")
    parser.add_argument("--r", type=int, default=16, help="LoRA rank (default 16)")
    parser.add_argument("--alpha", type=float, default=32, help="LoRA alpha (default 32)")
    parser.add_argument("--dropout", type=float, default=0.05)
    parser.add_argument("--target-modules", nargs="+", default=["all-linear"],
                        help="module names to adapt (default: all-linear)")
    parser.add_argument("--rslora", action="store_true", help="scale by alpha/sqrt(r) (rsLoRA)")
    parser.add_argument("--dora", action="store_true", help="weight-decomposed LoRA (DoRA)")
    parser.add_argument("--lr", type=float, default=2e-4, help="peak learning rate (default 2e-4)")
    parser.add_argument("--warmup", type=float, default=0.03, help="warm-up: fraction of steps (<1) or steps")
    parser.add_argument("--scheduler", default="linear", choices=["linear", "cosine", "constant_with_warmup",
                                                                  "constant"])
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--grad-accum", type=int, default=1, help="batches per optimizer step")
    parser.add_argument("--max-seq-len", type=int, default=1024, help="tokens per example (default 1024)")
    parser.add_argument("--micro-batch-tokens", type=int,
                        help="padded tokens per forward pass (same step, less memory; default: --max-seq-len on "
                             "the CPU, whole batches on a GPU)")
    parser.add_argument("--no-group-by-length", action="store_true", help="batch in plain random order")
    parser.add_argument("--gradient-checkpointing", action="store_true", help="less memory, more time")
    parser.add_argument("--eval-data", help="held-out data (default: --eval-fraction of DATA)")
    parser.add_argument("--eval-fraction", type=float, default=0.1, help="share held out (default 0.1)")
    parser.add_argument("--system-prompt", help="system message for RAFT and prompt-completion data")
    parser.add_argument("--chat-template", help="'chatml', or a .jinja file, for tokenizers without a template")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--device", default="auto", help="auto (CUDA when present), cpu, cuda, cuda:N")
    parser.add_argument("--dtype", default="auto", choices=["auto", "bf16", "fp32"])
    parser.add_argument("--threads", type=int, default=0, help="CPU threads for torch (0 = torch's default)")
    parser.add_argument("--checkpoint-every", type=int, default=50, help="steps between checkpoints (0: none)")
    parser.add_argument("--no-resume", action="store_true", help="refuse to continue a run found in --out")
    parser.add_argument("--keep-checkpoints", action="store_true", help="keep --out/checkpoints when done")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--json", action="store_true", help="print the report as JSON")
    parser.set_defaults(run=run_finetune)
