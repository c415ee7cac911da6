"""``ragtune raft FOLDER... (--faq | --qa PAIRS.jsonl) --out FILE``: a RAFT training set."""

from __future__ import annotations

import argparse
import warnings
from dataclasses import asdict
from pathlib import Path
from typing import Any

from ..chunking import RecursiveChunker
from ..qa import locate_answers
from ..raft import FORMATS, assemble, validate, write_jsonl, write_parquet
from .qa_input import add_document_arguments, documents_and_pairs


def run_raft(args: argparse.Namespace) -> dict[str, Any]:
    documents, pairs = documents_and_pairs(args.folders, faq=args.faq, qa=args.qa, follow_links=args.follow_links)
    pairs = pairs if args.faq else locate_answers(pairs, documents)
    chunker = RecursiveChunker(chunk_size=args.chunk_size, chunk_overlap=args.chunk_overlap)
    chunks = [c for doc in chunker.split_many(list(documents.values()), sources=list(documents)) for c in doc]
    index = None
    if args.strategy != "random":
        from ..embeddings import HashingEmbeddings
        from ..index import Index

        index = Index(embedding=HashingEmbeddings(dim=64))  # hard negatives come from BM25 (mode="bm25")
        index.add(chunks)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        data = assemble(chunks, pairs, distractors=args.distractors, p=args.p, strategy=args.strategy, index=index,
                        mode="bm25", seed=args.seed, documents=documents, threads=args.threads)
    out = Path(args.out)
    writer = write_parquet if out.suffix == ".parquet" else write_jsonl
    written = writer(data.examples, out, args.format)
    report = validate(out, args.format)
    summary = {"documents": len(documents), "chunks": len(chunks), "questions": len(pairs),
               "unmatched_questions": data.report.unmatched, "examples": written, "out": str(out),
               "format": args.format, "report": asdict(data.report), "valid": report.ok,
               "problems": [str(p) for p in report.problems[:10]]}
    if not report.ok:
        args.exit_code = 1
    if not args.json:
        r = data.report
        print(f"{len(pairs)} questions over {len(chunks)} chunks from {len(documents)} documents -> "
              f"{written} {args.format} examples in {out}")
        share = f" ({100 * r.kept_oracle / written:.1f}%)" if written else ""
        print(f"oracle shown in {r.kept_oracle} of {written}{share}, {r.hard_distractors} hard and "
              f"{r.random_distractors} random distractors; left out: {r.dropped_for_quotes} with quotes not in "
              f"the oracle, {r.unmatched} with no chunk holding the answer")
        print("validation: " + ("ok" if report.ok else f"{len(report.problems)} problems, first: {report.problems[0]}"))
    return summary


def add_raft_command(commands: Any) -> None:
    parser = commands.add_parser(
        "raft", help="build a RAFT fine-tuning set (question + oracle + distractors + quoted answer)",
        description="Chunk the folders, take question-answer pairs (FAQ titles ending in '?', or a JSONL file), "
        "find each answer's oracle chunk(s), add distractors and write gorilla-compatible records. "
        "Exit code 1 when the written file fails validation.")
    add_document_arguments(parser)
    parser.add_argument("--out", required=True, help="output .jsonl (or .parquet)")
    parser.add_argument("--format", default="hf", choices=list(FORMATS), help="record layout (default hf, gorilla's)")
    parser.add_argument("--distractors", type=int, default=4, help="distractor chunks per example (paper: 4)")
    parser.add_argument("--p", type=float, default=0.8, help="share of examples that show the oracle (paper: 0.8)")
    parser.add_argument("--strategy", default="random", choices=["random", "hard", "mixed"],
                        help="distractors at random, or hard negatives from BM25")
    parser.add_argument("--chunk-size", type=int, default=1000)
    parser.add_argument("--chunk-overlap", type=int, default=0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=0, help="0 = all cores")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(run=run_raft)
