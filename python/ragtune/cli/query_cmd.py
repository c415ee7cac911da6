"""``ragtune query INDEX "question"...``: answer questions with cited passages."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from ..index import Index
from .index_cmd import make_embedder


def run_query(args: argparse.Namespace) -> list[dict[str, Any]]:
    snapshot_settings = Path(args.index)
    if not snapshot_settings.exists():
        raise OSError(f"{args.index} does not exist; build it with: ragtune index FOLDER --out {args.index}")
    # Mapped: a query reads only the pages and records its answers touch, so it starts at once.
    index = Index.load(args.index, embedding=make_embedder(args.embedder), mmap=True)
    answers = []
    for question in args.questions:
        hits = index.search(question, k=args.k, mode=args.mode,
                            filter=json.loads(args.filter) if args.filter else None)
        answers.append({"question": question, "hits": [
            {"citation": h.citation(), "score": round(h.score, 4), "id": h.id, "text": h.text} for h in hits]})
        if not args.json:
            print(f"\nQ: {question}")
            for rank, h in enumerate(hits, start=1):
                preview = " ".join(h.text.split())[: args.width]
                print(f"  {rank}. [{h.citation()}] ({h.score:.3f}) {preview}")
    return answers


def add_query_command(commands: Any) -> None:
    parser = commands.add_parser("query", help="search an index; print hits with citations")
    parser.add_argument("index", help="an index folder written by 'ragtune index'")
    parser.add_argument("questions", nargs="+", help="one or more questions")
    parser.add_argument("-k", type=int, default=3, help="hits per question")
    parser.add_argument("--mode", default="hybrid", choices=["dense", "bm25", "hybrid"])
    parser.add_argument("--filter", help='metadata filter as JSON, e.g. \'{"source": {"$ne": "x"}}\'')
    parser.add_argument("--embedder", default=None, choices=["minilm", "hashing"],
                        help="default: the embedder the index was built with (saved with it)")
    parser.add_argument("--width", type=int, default=160, help="characters of each passage to show")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(run=run_query)
