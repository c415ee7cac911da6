"""``ragtune chunk FOLDER``: chunk a folder of documents and summarise."""

from __future__ import annotations

import argparse
import time
from pathlib import Path
from typing import Any

from ..chunking import RecursiveChunker
from .files import iter_documents


def run_chunk(args: argparse.Namespace) -> dict[str, Any]:
    documents = list(iter_documents(Path(args.folder), follow_links=args.follow_links))
    if not documents:
        raise ValueError(f"no .txt/.md/.rst/.html documents under {args.folder}")
    chunker = RecursiveChunker(chunk_size=args.chunk_size, chunk_overlap=args.chunk_overlap)
    names = [name for name, _ in documents]
    texts = [text for _, text in documents]
    started = time.perf_counter()
    chunked = chunker.split_many(texts, sources=names, threads=args.threads)
    seconds = time.perf_counter() - started
    chunks = [c for doc in chunked for c in doc]
    megabytes = sum(len(t.encode("utf-8")) for t in texts) / 1e6
    summary = {
        "documents": len(texts),
        "megabytes": round(megabytes, 2),
        "chunks": len(chunks),
        "seconds": round(seconds, 4),
        "mb_per_second": round(megabytes / seconds, 1) if seconds > 0 else None,
        "examples": [
            {"citation": c.citation(), "start": c.start, "end": c.end, "text": c.text[:120]}
            for c in chunks[:: max(1, len(chunks) // max(1, args.examples))][: args.examples]
        ],
    }
    if not args.json:
        print(f"{chunker!r}")
        print(f"{summary['documents']} documents, {summary['megabytes']} MB -> {summary['chunks']} chunks "
              f"in {summary['seconds']} s ({summary['mb_per_second']} MB/s)")
        for example in summary["examples"]:
            preview = example["text"].replace("\n", " ")
            print(f"  [{example['citation']}] {preview[:100]}")
    return summary


def add_chunk_command(commands: Any) -> None:
    parser = commands.add_parser("chunk", help="chunk a folder of documents and print a summary")
    parser.add_argument("folder", help="folder of .txt/.md/.rst/.html files")
    parser.add_argument("--chunk-size", type=int, default=1000)
    parser.add_argument("--chunk-overlap", type=int, default=200)
    parser.add_argument("--threads", type=int, default=0, help="0 = all cores")
    parser.add_argument("--examples", type=int, default=5, help="how many chunks to show (0 = none)")
    parser.add_argument("--follow-links", action="store_true", help="follow links that leave the folder")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(run=run_chunk)
