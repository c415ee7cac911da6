"""RAG or fine-tune, measured on the Python FAQ: ``ragtune.experiment.compare`` with
SmolLM2-135M-Instruct on this machine's CPU.

175 FAQ questions (python3.11-doc ``faq/*.rst.txt``), split by FAQ file into train and
held-out questions; the question headings are blanked out of the index. Arms: base
(closed book), prompt (system prompt + 3 train examples), rag (top-4 hybrid MiniLM +
BM25 chunks), finetune (LoRA r=16 on the train Q/A, one epoch), raft+rag (LoRA r=16 on
RAFT examples of the train split, one epoch, answering with the retrieved chunks).
Prints every arm's F1, exact match, grounding, retrieval recall, latency, cost and
training time with 95% bootstrap intervals, the paired differences, and the advisor's
recommendation from these numbers.

    .venv/bin/python benchmarks/compare_faq.py [--generator FOLDER] [--device cuda] [--epochs 1]
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import os
import platform
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from ragtune.datasets import parse_faq  # noqa: E402
from ragtune.experiment import compare  # noqa: E402

DOCS = Path("/usr/share/doc/python3.11/html/_sources/faq")
OUT = Path(__file__).resolve().parent / "out" / "compare_faq"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--generator", help="local causal LM folder (default SmolLM2-135M-Instruct)")
    parser.add_argument("--device", default="auto")
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--out", type=Path, default=OUT)
    args = parser.parse_args()

    docs = {f"faq/{p.name}": p.read_text(encoding="utf-8") for p in sorted(DOCS.glob("*.rst.txt"))}
    pairs = [q for name, text in docs.items() for q in parse_faq(text, source=name)]
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs; versions: " + ", ".join(
        f"{p} {md.version(p)}" for p in ("ragtune", "torch", "transformers", "peft")))
    # 1,000-character chunks, as measured in RESULTS.md (the default is now the embedder's window).
    result = compare(docs, pairs, generator=args.generator, device=args.device, threads=args.threads, seed=0,
                     chunk_size=1000, chunk_overlap=150, finetune_options={"epochs": args.epochs}, out=args.out)
    result.save()
    print(result.summary())
    table = result.to_pandas()
    columns = [c for c in ("f1", "f1_low", "f1_high", "exact_match", "grounding", "recall", "mrr", "latency_p50_s",
                           "latency_p95_s", "training_s", "adapter_mb", "cost_per_month") if c in table]
    print(table[columns].round(3).to_string())
    print(f"retrieval: {result.retrieval['recall']:.3f} recall@{result.retrieval['k']}, "
          f"MRR {result.retrieval['mrr']:.3f}, {result.retrieval['ms_per_query']:.1f} ms/query")
    for a, b in (("prompt", "base"), ("rag", "base"), ("finetune", "base"), ("raft+rag", "base"),
                 ("raft+rag", "rag"), ("finetune", "rag")):
        print(f"paired F1 difference {a} - {b}: {result.difference(a, b)!r}")
    for arm in result.arms:
        if arm.training:
            print(f"training {arm.name}: {arm.training['seconds']:.0f} s, {arm.training['steps']} steps, "
                  f"{arm.training['examples']} examples, {arm.training['tokens_per_second']:.0f} tokens/s")
    print(result.recommend(knowledge_changes="monthly", needs_citations=True).explain())
    fig = result.plot()
    fig.savefig(args.out / "comparison.png", dpi=110, bbox_inches="tight")
    print(f"total {result.seconds / 60:.1f} min; answers and scores: {args.out / 'comparison.json'}")


if __name__ == "__main__":
    main()
