"""Keeping an index in step with edited documents: ragtune's ``Index.sync`` against
LangChain's indexing API and LlamaIndex's ingestion pipeline, on the same edit of
a real corpus, in one run.

Corpus: all of python3.11-doc's reST sources (497 files), chunked by
``RecursiveChunker.for_embedder(MiniLM)`` (254 MiniLM tokens, overlap 38), embedded
with MiniLM. Steps:

1. ragtune builds the index (chunk, embed, index, save), timed end to end.
2. About 1% of the files are edited: text appended to two, a paragraph in the middle
   of two rewritten, one deleted, one added (a linux-doc file).
3. ragtune syncs: ``Index.load`` + ``sync(cleanup="full")`` + save, timed end to end
   (what ``ragtune index DOCS --out DIR`` waits for). It must embed exactly the
   chunks whose text is new.
4. A fresh ragtune index of the edited corpus (the same embedder outputs, replayed)
   must give the same ids and exact scores for the 175 FAQ questions, dense, BM25
   and hybrid, exact mode. A separate check re-embeds the new chunks in another
   batch to show how far MiniLM's own output moves between batches.
5. LangChain's ``index()`` (record manager + RagtuneVectorStore, cleanup="full") and,
   when llama-index-core is installed, LlamaIndex's ``IngestionPipeline`` (docstore,
   upserts and deletes) on the same chunks and the same edit. Their initial builds
   replay ragtune's vectors and are not timed. Their syncs embed with the real MiniLM
   and are timed and counted. LangChain runs twice: with citations in the metadata
   (source and start_index, which change whenever text moves) and with only the source.

    .venv/bin/python benchmarks/bench_sync.py [--under faq]
"""

from __future__ import annotations

import argparse
import gzip
import importlib.metadata as md
import os
import platform
import random
import shutil
import time
import warnings
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402

from ragtune import Index, RecursiveChunker  # noqa: E402
from ragtune.datasets import parse_faq  # noqa: E402
from ragtune.embeddings import Embedder, MiniLMEmbeddings  # noqa: E402

DOCS = Path("/usr/share/doc/python3.11/html/_sources")
ADDED = Path("/usr/share/doc/linux-doc-6.1/Documentation/process/coding-style.rst.gz")
OUT = Path(__file__).resolve().parent / "out" / "sync"


class RecordingMiniLM(MiniLMEmbeddings):
    """MiniLM that remembers every vector it produced (to replay them to the peers' builds)."""

    def __init__(self) -> None:
        super().__init__(show_progress=True)
        self.vectors: dict[str, np.ndarray] = {}
        self.count = 0

    def encode(self, texts):
        out = super().encode(texts)
        self.count += len(texts)
        self.vectors.update(zip(texts, out))
        return out


class Replay(Embedder):
    """Vectors recorded from MiniLM; texts never seen are embedded by MiniLM and counted.
    ``live=True`` embeds everything with MiniLM (the peers' timed syncs)."""

    dim = 384

    def __init__(self, recorded: dict[str, np.ndarray], minilm: MiniLMEmbeddings) -> None:
        self.recorded, self.minilm, self.live, self.embedded = recorded, minilm, False, 0

    def encode(self, texts):
        texts = list(texts)
        missing = [t for t in texts if self.live or t not in self.recorded]
        if missing:
            self.embedded += len(missing)
            fresh = dict(zip(missing, self.minilm.encode(missing)))
        else:
            fresh = {}
        return np.stack([fresh[t] if t in fresh else self.recorded[t] for t in texts]) if texts else np.zeros((0, 384))

    def __repr__(self) -> str:
        return f"Replay({len(self.recorded)} recorded MiniLM vectors, live={self.live})"


def corpus(under: str) -> dict[str, str]:
    return {str(p.relative_to(DOCS)): p.read_text(encoding="utf-8")
            for p in sorted((DOCS / under).rglob("*.rst.txt"))}


def edit(documents: dict[str, str]) -> tuple[dict[str, str], dict[str, list[str]]]:
    """About 1% of the files: append to 2, rewrite a middle paragraph in 2, delete 1, add 1."""
    rng = random.Random(0)
    docs = dict(documents)
    names = [n for n in sorted(docs) if docs[n].count("\n\n") > 10]
    picked = rng.sample(names, 5)
    append, middle, delete = picked[:2], picked[2:4], picked[4:]
    for n in append:
        docs[n] += ("\n\nNote added in this edit: the behaviour described above also applies when the "
                    "interpreter runs with isolated mode enabled, and environment variables are ignored.\n")
    for n in middle:
        paragraphs = docs[n].split("\n\n")
        paragraphs[len(paragraphs) // 2] = ("This paragraph was rewritten in this edit. It now explains the same "
                                            "idea in different words, with a new example and a caveat.")
        docs[n] = "\n\n".join(paragraphs)
    for n in delete:
        del docs[n]
    docs["added/coding-style.rst"] = gzip.decompress(ADDED.read_bytes()).decode("utf-8")
    return docs, {"appended": append, "rewritten": middle, "deleted": delete, "added": ["added/coding-style.rst"]}


def chunk_texts(chunker: RecursiveChunker, documents: dict[str, str]) -> dict[str, list]:
    return dict(zip(documents, chunker.split_many(list(documents.values()), sources=list(documents))))


def faq_questions() -> list[str]:
    return [i.question for p in sorted((DOCS / "faq").glob("*.rst.txt"))
            for i in parse_faq(p.read_text(encoding="utf-8"))]


def compare_results(synced: Index, fresh: Index, questions: list[str]) -> str:
    lines = []
    for mode in ("dense", "bm25", "hybrid"):
        left = synced.search_many(questions, k=10, mode=mode, exact=True)
        right = fresh.search_many(questions, k=10, mode=mode, exact=True)
        same_ids = sum([h.id for h in a] == [h.id for h in b] for a, b in zip(left, right))
        gap = max((abs(x.score - y.score) for a, b in zip(left, right) for x, y in zip(a, b)), default=0.0)
        lines.append(f"  {mode:<6}: {same_ids}/{len(questions)} queries with the same top-10 ids; "
                     f"largest score difference {gap:.2e}")
    return "\n".join(lines)


def langchain_sync(chunks_before, chunks_after, replay: Replay, *, citations: bool) -> dict:
    from langchain_core.documents import Document
    from langchain_core.indexing import InMemoryRecordManager, index

    from ragtune.integrations.langchain import RagtuneVectorStore

    def documents(chunked):
        return [Document(page_content=c.text, metadata={"source": c.source, **(
            {"start_index": c.start} if citations else {})}) for doc in chunked.values() for c in doc]

    manager = InMemoryRecordManager(namespace="bench")
    manager.create_schema()
    store = RagtuneVectorStore(replay, embedding_cache=0)  # ragtune's cache would serve LangChain's re-embeds
    replay.live = False
    built = index(documents(chunks_before), manager, store, cleanup="full", source_id_key="source", batch_size=256)
    replay.live, replay.embedded = True, 0
    started = time.perf_counter()
    result = index(documents(chunks_after), manager, store, cleanup="full", source_id_key="source", batch_size=256)
    seconds = time.perf_counter() - started
    replay.live = False
    return {**result, "embedded": replay.embedded, "seconds": seconds, "built": built["num_added"]}


def llamaindex_sync(chunker, before, after, replay: Replay) -> dict | None:
    try:
        from llama_index.core import Document
        from llama_index.core.embeddings import BaseEmbedding
        from llama_index.core.ingestion import DocstoreStrategy, IngestionPipeline
        from llama_index.core.node_parser import NodeParser
        from llama_index.core.node_parser.node_utils import build_nodes_from_splits
        from llama_index.core.storage.docstore import SimpleDocumentStore
        from llama_index.core.vector_stores import SimpleVectorStore
    except ImportError:
        return None

    class RagtuneSplitter(NodeParser):
        """ragtune's chunker as a LlamaIndex node parser (the same chunks on every side)."""

        def _parse_nodes(self, nodes, show_progress=False, **kwargs):
            out = []
            for node in nodes:
                texts = [c.text for c in chunker.split(node.get_content())]
                out.extend(build_nodes_from_splits(texts, node, id_func=self.id_func))
            return out

    class ReplayEmbedding(BaseEmbedding):
        def _get_query_embedding(self, query):
            return replay.encode([query])[0].tolist()

        async def _aget_query_embedding(self, query):
            return self._get_query_embedding(query)

        def _get_text_embedding(self, text):
            return replay.encode([text])[0].tolist()

        def _get_text_embeddings(self, texts):
            return replay.encode(texts).tolist()

    pipeline = IngestionPipeline(transformations=[RagtuneSplitter(), ReplayEmbedding(embed_batch_size=64)],
                                 docstore=SimpleDocumentStore(), vector_store=SimpleVectorStore(),
                                 docstore_strategy=DocstoreStrategy.UPSERTS_AND_DELETE)
    pipeline.disable_cache = True  # its transformation cache is keyed by whole documents anyway

    def docs(documents):
        # The source stays out of the embedded text, so every side embeds the same chunk texts.
        return [Document(text=t, id_=s, metadata={"source": s}, excluded_embed_metadata_keys=["source"])
                for s, t in documents.items()]

    replay.live = False
    pipeline.run(documents=docs(before))
    replay.live, replay.embedded = True, 0
    started = time.perf_counter()
    nodes = pipeline.run(documents=docs(after))
    seconds = time.perf_counter() - started
    replay.live = False
    return {"nodes_processed": len(nodes), "embedded": replay.embedded, "seconds": seconds,
            "vectors_after": len(pipeline.vector_store.data.embedding_dict)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--under", default=".", help="a folder of python3.11-doc only (a quick run: --under faq)")
    args = parser.parse_args()
    print(f"machine: {platform.machine()}, {os.cpu_count()} CPUs; versions: " + ", ".join(
        f"{p} {md.version(p)}" for p in ("ragtune", "torch", "sentence-transformers", "langchain-core")
    ) + (f", llama-index-core {md.version('llama-index-core')}" if _installed("llama-index-core") else ""))
    documents = corpus(args.under)
    edited, edits = edit(documents)
    print(f"corpus: {len(documents)} files; edit: " + "; ".join(f"{k} {len(v)}" for k, v in edits.items()))
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)
    minilm = RecordingMiniLM()
    chunker = RecursiveChunker.for_embedder(minilm)

    started = time.perf_counter()
    build = Index(embedding=minilm).sync(documents, chunker=chunker, path=OUT / "ix")
    build_seconds = time.perf_counter() - started
    print(f"ragtune build: {build.chunks_total} chunks, {build.chunks_embedded} embedded, {build_seconds:.1f} s")

    before, after = chunk_texts(chunker, documents), chunk_texts(chunker, edited)
    new_texts = {c.text for d in after.values() for c in d} - {c.text for d in before.values() for c in d}
    minilm.count = 0
    started = time.perf_counter()
    index = Index.load(OUT / "ix", embedding=minilm)
    report = index.sync(edited, chunker=chunker, cleanup="full", path=OUT / "ix")
    sync_seconds = time.perf_counter() - started
    sync_embedded = minilm.count
    print(f"ragtune sync (load + sync + save): {report}\n  {sync_seconds:.2f} s = {sync_seconds / build_seconds:.2%} "
          f"of the build; embedded {sync_embedded} chunks, {len(new_texts)} chunk texts are new "
          f"({'equal' if sync_embedded == len(new_texts) else 'NOT equal'})")

    replay = Replay(minilm.vectors, MiniLMEmbeddings())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fresh = Index(embedding=replay)
        fresh.sync(edited, chunker=chunker)
    synced = Index.load(OUT / "ix", embedding=minilm)
    print("fresh build of the edited corpus vs the synced index (exact search, 175 FAQ questions):\n"
          + compare_results(synced, fresh, faq_questions()))
    sample = sorted(new_texts)
    others = [c.text for d in list(before.values())[:40] for c in d][:300]
    again = MiniLMEmbeddings().encode(others + sample)[len(others):]
    drift = float(np.max(np.abs(again - np.stack([minilm.vectors[t] for t in sample])))) if sample else 0.0
    print(f"MiniLM itself: the {len(sample)} new chunks embedded again in another batch move by at most {drift:.2e}")

    rows = [("ragtune Index.sync (load + sync + save)", sync_embedded, sync_seconds)]
    for citations in (True, False):
        lc = langchain_sync(before, after, replay, citations=citations)
        label = "LangChain index(), metadata source + start_index" if citations else \
            "LangChain index(), metadata source only"
        print(f"{label}: {lc}")
        rows.append((label, lc["embedded"], lc["seconds"]))
    llama = llamaindex_sync(chunker, documents, edited, replay)
    if llama is None:
        print("LlamaIndex: llama-index-core is not installed (pip install llama-index-core); skipped")
    else:
        print(f"LlamaIndex IngestionPipeline (docstore, upserts and deletes): {llama}")
        rows.append(("LlamaIndex IngestionPipeline, upserts and deletes", llama["embedded"], llama["seconds"]))
    print(f"\n{'the same edit':<52}{'embedded':>10}{'seconds':>10}{'× ragtune time':>16}")
    for label, embedded, seconds in rows:
        print(f"{label:<52}{embedded:>10}{seconds:>10.2f}{seconds / sync_seconds:>16.1f}")


def _installed(package: str) -> bool:
    try:
        md.version(package)
        return True
    except md.PackageNotFoundError:
        return False


if __name__ == "__main__":
    main()
