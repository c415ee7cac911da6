"""``ragtune index FOLDER... --out DIR``: chunk, embed and index a folder of documents."""

from __future__ import annotations

import argparse
import time
from typing import Any

from ..chunking import RecursiveChunker
from ..embeddings import HashingEmbeddings, MiniLMEmbeddings
from ..index import Index
from .files import documents_by_source


def make_embedder(name: str, *, progress: bool | None = None) -> Any:
    if name == "minilm":
        return MiniLMEmbeddings(show_progress=progress)
    if name == "hashing":
        return HashingEmbeddings()
    raise ValueError(f"unknown embedder {name!r}: choose minilm or hashing")


def run_index(args: argparse.Namespace) -> dict[str, Any]:
    started = time.perf_counter()
    documents = documents_by_source(args.folders, follow_links=args.follow_links)  # e.g. faq/windows.rst.txt
    names, texts = list(documents), list(documents.values())
    if not texts:
        raise ValueError(f"no .txt/.md/.rst/.html documents under {', '.join(args.folders)}")
    chunker = RecursiveChunker(chunk_size=args.chunk_size, chunk_overlap=args.chunk_overlap)
    chunks = [c for doc in chunker.split_many(texts, sources=names, threads=args.threads) for c in doc]
    index = Index(embedding=make_embedder(args.embedder, progress=None if args.json else len(chunks) > 256),
                  threads=args.threads)
    index.add(chunks)
    snapshot = index.save(args.out)
    summary = {"documents": len(texts), "chunks": len(chunks), "index": str(args.out), "snapshot": snapshot.name,
               "embedder": args.embedder, "seconds": round(time.perf_counter() - started, 1)}
    if not args.json:
        print(f"indexed {summary['documents']} documents as {summary['chunks']} chunks "
              f"with {args.embedder} in {summary['seconds']} s -> {args.out}")
    return summary


def add_index_command(commands: Any) -> None:
    parser = commands.add_parser("index", help="chunk, embed and index folders of documents")
    parser.add_argument("folders", nargs="+", help="folders of .txt/.md/.rst/.html files")
    parser.add_argument("--out", required=True, help="folder to save the index to")
    parser.add_argument("--chunk-size", type=int, default=1000)
    parser.add_argument("--chunk-overlap", type=int, default=150)
    parser.add_argument("--embedder", default="minilm", choices=["minilm", "hashing"])
    parser.add_argument("--threads", type=int, default=0, help="0 = all cores")
    parser.add_argument("--follow-links", action="store_true", help="follow links that leave the folder")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(run=run_index)
