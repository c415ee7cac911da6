"""``ragtune index FOLDER... --out DIR``: chunk, embed and index a folder of documents."""

from __future__ import annotations

import argparse
import warnings
from pathlib import Path
from typing import Any

from ..chunking import RecursiveChunker
from ..embeddings import HashingEmbeddings, MiniLMEmbeddings
from ..index import Index
from ..index.persistence import CURRENT
from .files import documents_by_source


def make_embedder(name: str | None, *, progress: bool | None = None) -> Any:
    """The embedder a CLI flag names; None (no flag): the one a saved index was built with."""
    if name is None:
        return None
    if name == "minilm":
        return MiniLMEmbeddings(show_progress=progress)
    if name == "hashing":
        return HashingEmbeddings()
    raise ValueError(f"unknown embedder {name!r}: choose minilm or hashing")


def make_chunker(args: argparse.Namespace, embedder: Any) -> RecursiveChunker:
    """Chunks in the embedder's tokens sized to its window (the default), or in characters."""
    if args.chunk_unit == "chars":
        return RecursiveChunker.in_characters(chunk_size=args.chunk_size, chunk_overlap=args.chunk_overlap)
    return RecursiveChunker.for_embedder(embedder, chunk_size=args.chunk_size, chunk_overlap=args.chunk_overlap)


def run_index(args: argparse.Namespace) -> dict[str, Any]:
    """Build the index, or bring an existing one in step with the folders (only new text is embedded)."""
    documents = documents_by_source(args.folders, follow_links=args.follow_links)  # e.g. faq/windows.rst.txt
    if not documents:
        raise ValueError(f"no .txt/.md/.rst/.html documents under {', '.join(args.folders)}")
    existing = (Path(args.out) / CURRENT).exists()
    # A new index uses MiniLM unless told otherwise; an existing one keeps the embedder it was built with.
    embedder = make_embedder(args.embedder or (None if existing else "minilm"), progress=False if args.json else None)
    index = (Index.load(args.out, embedding=embedder, threads=args.threads) if existing
             else Index(embedding=embedder, threads=args.threads, vector_dtype=args.vector_dtype or "f32"))
    if existing and args.vector_dtype not in (None, index.settings["vector_dtype"]):
        raise ValueError(f"{args.out} stores its vectors as {index.settings['vector_dtype']}; --vector-dtype "
                         f"applies to a new index (build one in another folder to change it)")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        report = index.sync(documents, chunker=make_chunker(args, index.embedding), cleanup=args.cleanup,
                            path=args.out)
    stats = index.stats()
    summary = {**report.to_dict(), "documents": len(documents), "chunks": len(index), "index": str(args.out),
               "updated": existing, "embedder": repr(index.embedding), "over_window": stats["over_window"],
               "seconds": round(report.seconds, 1)}
    if not args.json:
        for warning in caught:
            print(f"warning: {warning.message}")
        verb = "updated" if existing else "indexed"
        print(f"{verb} {len(documents)} documents as {len(index)} chunks with {index.embedding!r} -> {args.out}\n"
              f"  {report.summary()}")
    return summary


def add_index_command(commands: Any) -> None:
    parser = commands.add_parser(
        "index", help="chunk, embed and index folders of documents; on an existing index, embed only what changed")
    parser.add_argument("folders", nargs="+", help="folders of .txt/.md/.rst/.html files")
    parser.add_argument("--out", required=True, help="folder to save the index to (an existing index is updated)")
    parser.add_argument("--chunk-size", type=int, default=None,
                        help="in --chunk-unit; default: the embedder's window (254 MiniLM tokens) or 1000 chars")
    parser.add_argument("--chunk-overlap", type=int, default=None, help="default: 15%% of the chunk size")
    parser.add_argument("--chunk-unit", choices=["tokens", "chars"], default="tokens",
                        help="measure chunks in the embedder's tokens (default) or in characters")
    parser.add_argument("--cleanup", choices=["full", "incremental"], default="full",
                        help="full: drop sources no longer in the folders (default); incremental: keep them")
    parser.add_argument("--embedder", default=None, choices=["minilm", "hashing"],
                        help="a new index: minilm (default) or hashing; an existing index keeps its own")
    parser.add_argument("--vector-dtype", choices=["f32", "f16", "int8"], default=None,
                        help="a new index: how vectors are stored (f32 default; f16 half, int8 a quarter of "
                             "the memory)")
    parser.add_argument("--threads", type=int, default=0, help="0 = all cores")
    parser.add_argument("--follow-links", action="store_true", help="follow links that leave the folder")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(run=run_index)
