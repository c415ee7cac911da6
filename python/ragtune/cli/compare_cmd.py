"""``ragtune compare DOCS... (--qa FILE | --faq) --out DIR``: the head-to-head experiment."""

from __future__ import annotations

import argparse
from typing import Any


def run_compare(args: argparse.Namespace) -> dict[str, Any]:
    from ..experiment import compare
    from .index_cmd import make_embedder
    from .qa_input import documents_and_pairs

    documents, pairs = documents_and_pairs(args.folders, faq=args.faq, qa=args.qa, follow_links=args.follow_links)
    training = {"max_steps": args.steps} if args.steps else {}
    if args.epochs:
        training["epochs"] = args.epochs
    result = compare(documents, pairs, generator=args.generator, arms=args.arms, test_fraction=args.test_fraction,
                     k=args.k, embedding=make_embedder(args.embedder), blank_faq_questions=not args.keep_questions,
                     finetune_options=training, max_new_tokens=args.max_new_tokens,
                     max_test_questions=args.max_questions, queries_per_month=args.queries_per_month,
                     threads=args.threads, seed=args.seed, out=args.out, progress=not args.quiet and not args.json)
    saved = result.save()
    recommendation = result.recommend()
    if not args.json:
        print(result.summary())
        print(_table(result.rows()))
        print(recommendation.explain())
        print(f"every answer, its context and scores: {saved}")
    return {"summary": result.rows(), "measurements": result.measurements(), "notes": result.notes,
            "recommendation": recommendation.choice, "saved": str(saved)}


_COLUMNS = (("f1", "F1", "{:.3f}"), ("exact_match", "EM", "{:.3f}"), ("grounding", "grounded", "{:.3f}"),
            ("recall", "recall", "{:.3f}"), ("latency_p50_s", "p50 s", "{:.2f}"), ("latency_p95_s", "p95 s", "{:.2f}"),
            ("training_s", "train s", "{:.0f}"), ("cost_per_month", "$/month", "{:,.2f}"))


def _table(rows: list[dict[str, Any]]) -> str:
    """The summary rows as a fixed-width table ("-" where an arm has no value)."""
    lines = [f"{'arm':<13}" + "".join(f"{title:>10}" for _, title, _ in _COLUMNS)]
    for row in rows:
        cells = [fmt.format(row[key]) if row.get(key) is not None else "-" for key, _, fmt in _COLUMNS]
        lines.append(f"{row['arm']:<13}" + "".join(f"{c:>10}" for c in cells))
    return "\n".join(lines)


def add_compare_command(commands: Any) -> None:
    from ..experiment import ARMS, DEFAULT_ARMS
    from .qa_input import add_document_arguments

    parser = commands.add_parser(
        "compare", help="RAG or fine-tune, measured: every arm on the same held-out questions",
        description="Split the question-answer pairs by source, index the documents, train LoRA adapters on the "
        "train split (Q/A and RAFT), answer the held-out questions with every arm (base, prompt, rag, finetune, "
        "raft+rag, long_context) and score them (F1, exact match, grounding, retrieval recall, latency, cost) "
        "with bootstrap intervals; then recommend. Rerun with the same --out to resume. "
        "Example: ragtune compare /usr/share/doc/python3.11/html/_sources/faq --faq --out faq-experiment")
    add_document_arguments(parser)
    parser.add_argument("--out", required=True, help="folder for adapters, answers and comparison.json")
    parser.add_argument("--generator", help="local causal LM folder (default: SmolLM2-135M-Instruct)")
    parser.add_argument("--arms", nargs="+", default=list(DEFAULT_ARMS), choices=list(ARMS))
    parser.add_argument("--steps", type=int, help="optimizer steps per trained arm (default: one epoch)")
    parser.add_argument("--epochs", type=int, help="epochs per trained arm")
    parser.add_argument("--k", type=int, default=4, help="chunks retrieved per question (default 4)")
    parser.add_argument("--test-fraction", type=float, default=0.2)
    parser.add_argument("--max-questions", type=int, help="score only the first N held-out questions")
    parser.add_argument("--max-new-tokens", type=int, default=128)
    parser.add_argument("--embedder", default="minilm", choices=["minilm", "hashing"])
    parser.add_argument("--keep-questions", action="store_true",
                        help="index FAQ headings as they are (by default each question is blanked out of the index)")
    parser.add_argument("--queries-per-month", type=float, default=10_000)
    parser.add_argument("--threads", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--quiet", action="store_true", help="no progress bars")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(run=run_compare)
