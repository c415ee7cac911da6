"""Retrieval quality on real data: the Python FAQ as a known-item benchmark.

Each of the Python FAQ's ~175 questions must retrieve the chunk that holds its
answer, from the whole chunked python3.11-doc corpus with the questions
themselves removed (their title lines are blanked, offsets kept). A chunk is
relevant when it overlaps the first 300 characters of the answer (or all of a
shorter answer) in the same file. Reports recall@1/5/10 (= hit rate: at least one
relevant chunk in the top k) and MRR@10 for dense (MiniLM), BM25 and hybrid, for
each chunking: characters (1000/150, the old default) and the embedder's tokens
(``RecursiveChunker.for_embedder``: 254 MiniLM tokens, overlap 38, the new default).

    .venv/bin/python benchmarks/eval_faq.py [--embedder minilm|hashing] [--chunking chars tokens]
"""

from __future__ import annotations

import argparse
import json
import os
import time
import warnings
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

from ragtune import HashingEmbeddings, Index, MiniLMEmbeddings, RecursiveChunker  # noqa: E402
from ragtune.datasets import parse_faq  # noqa: E402

DOCS = Path("/usr/share/doc/python3.11/html/_sources")
ANSWER_PREFIX = 300


def build_corpus() -> tuple[list[str], list[str], list]:
    """(names, texts with FAQ questions blanked, FAQ items)."""
    names, texts, items = [], [], []
    for path in sorted(DOCS.rglob("*.rst.txt")):
        name = str(path.relative_to(DOCS))
        text = path.read_text(encoding="utf-8")
        if name.startswith("faq/"):
            found = parse_faq(text, source=name)
            for item in found:  # blank the question so it cannot be matched verbatim
                text = text[: item.question_start] + " " * len(item.question) + text[item.question_end :]
            items.extend(found)
        names.append(name)
        texts.append(text)
    return names, texts, items


def make_chunker(kind: str, args: argparse.Namespace, embedder) -> RecursiveChunker:
    """The old default (characters) or the new one (the embedder's tokens, sized to its window)."""
    if kind == "chars":
        return RecursiveChunker(chunk_size=args.chunk_size, chunk_overlap=args.chunk_overlap)
    return RecursiveChunker.for_embedder(embedder)


def evaluate(kind: str, args: argparse.Namespace, names, texts, items) -> dict:
    embedder = MiniLMEmbeddings(show_progress=True) if args.embedder == "minilm" else HashingEmbeddings()
    chunker = make_chunker(kind, args, embedder)
    chunks = [c for doc in chunker.split_many(texts, sources=names) for c in doc]
    by_source: dict[str, list] = {}
    for c in chunks:
        by_source.setdefault(c.source, []).append(c)
    relevant = []
    for item in items:
        end = item.start + min(ANSWER_PREFIX, len(item.answer))
        relevant.append({f"{c.source}#{c.index}" for c in by_source[item.source]
                         if c.start < end and c.end > item.start})
    mean_chars = sum(len(c.text) for c in chunks) / len(chunks)
    print(f"[{kind}] {chunker!r}\n  corpus: {len(texts)} documents -> {len(chunks)} chunks of {mean_chars:.0f} "
          f"characters on average; {len(items)} FAQ questions; "
          f"{sum(map(len, relevant)) / len(relevant):.2f} relevant chunks per question")
    index = Index(embedding=embedder, embedding_cache=0)
    started = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # counted below instead
        index.add(chunks)
    seconds = time.perf_counter() - started
    over = index.stats()["over_window"]
    print(f"  indexed with {args.embedder} in {seconds:.0f} s; {over} chunks ({over / len(chunks):.1%}) longer than "
          f"the embedder's window")
    questions = [i.question for i in items]
    results = {}
    for mode in ("dense", "bm25", "hybrid"):
        hits = index.search_many(questions, k=10, mode=mode)
        ranks = []
        for found, wanted in zip(hits, relevant):
            rank = next((r for r, h in enumerate(found, start=1) if h.id in wanted), None)
            ranks.append(rank)
        metrics = {f"recall@{k}": sum(1 for r in ranks if r is not None and r <= k) / len(ranks) for k in (1, 5, 10)}
        metrics["mrr@10"] = sum(1 / r for r in ranks if r is not None) / len(ranks)
        results[mode] = {m: round(v, 4) for m, v in metrics.items()}
        print(f"  {mode:<7} " + "  ".join(f"{m} {v:.3f}" for m, v in results[mode].items()))
    return {"chunker": repr(chunker), "chunks": len(chunks), "mean_chars": round(mean_chars, 1),
            "over_window": over, "index_seconds": round(seconds, 1), "results": results}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--embedder", default="minilm", choices=["minilm", "hashing"])
    parser.add_argument("--chunking", nargs="+", default=["chars", "tokens"], choices=["chars", "tokens"],
                        help="chars: --chunk-size/--chunk-overlap characters (the old default); tokens: "
                             "RecursiveChunker.for_embedder (the embedder's window, 15%% overlap)")
    parser.add_argument("--chunk-size", type=int, default=1000)
    parser.add_argument("--chunk-overlap", type=int, default=150)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()

    names, texts, items = build_corpus()
    runs = {kind: evaluate(kind, args, names, texts, items) for kind in args.chunking}
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps({"embedder": args.embedder, "questions": len(items), "runs": runs}, indent=2))


if __name__ == "__main__":
    main()
