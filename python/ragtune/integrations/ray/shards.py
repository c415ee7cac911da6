"""Writing a Ray Dataset of embedded rows as a sharded ragtune index, shards built in
parallel from the vectors already computed (nothing is embedded twice)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pyarrow as pa
import ray

from ...chunking.chunk import Chunk
from ...embeddings.base import resolve_embedding
from ...embeddings.spec import embedder_from_spec
from ...index.index import Index
from ...index.sharded import MANIFEST, ShardedIndex, shard_name, write_manifest
from .embed import _payload, matrix_of

_OFFSETS = ("start", "end", "byte_start", "byte_end", "line_start", "line_end", "index")


def _rows(batch: pa.Table) -> tuple[list[Any], list[str], list[dict[str, Any]]]:
    """The items Index.add takes for a batch: Chunks (with their offsets) where the rows
    have them, else texts; their ids and metadata."""
    columns = batch.column_names
    texts = batch.column("text").to_pylist()
    ids = batch.column("id").to_pylist()
    metadata = [json.loads(m) if m else {} for m in batch.column("metadata").to_pylist()] \
        if "metadata" in columns else [{} for _ in texts]
    if all(name in columns for name in _OFFSETS):
        values = {name: batch.column(name).to_pylist() for name in _OFFSETS}
        sources = batch.column("source").to_pylist() if "source" in columns else [None] * len(texts)
        items: list[Any] = [Chunk(text, *(values[name][n] for name in _OFFSETS), source=sources[n])
                            for n, text in enumerate(texts)]
    else:
        items = texts
    return items, ids, metadata


@ray.remote(num_cpus=1)
def _build_shard(part: Any, path: str, payload: tuple[str, Any], settings: dict[str, Any]) -> int:
    kind, value = payload
    embedder = embedder_from_spec(value) if kind == "spec" else resolve_embedding(value)
    index = Index(embedding=embedder, threads=1, embedding_cache=0, **settings)
    for batch in part.iter_batches(batch_size=4096, batch_format="pyarrow"):
        items, ids, metadata = _rows(batch)
        index.add(items, metadatas=metadata, ids=ids, vectors=matrix_of(batch.column("vector")))
    index.save(path)
    return len(index)


def write_index(ds: Any, out: str | os.PathLike[str], *, shards: int = 2, embedding: Any = "minilm",
                **index_options: Any) -> ShardedIndex:
    """Build a sharded ragtune index from rows with ``id``, ``text`` and ``vector`` (as
    :func:`embed` gives them; ``source``, offsets and ``metadata`` kept when present).

    Rows are put in the order one machine would add them (by ``doc`` and ``index`` when
    the rows have them, else by ``id``) and cut into ``shards`` contiguous ranges, each
    built by its own Ray task from the given vectors and saved as a ragtune Index under
    ``out/shard-0000i``; ``out/sharded.json`` is written last. The result searches as
    one index (:class:`ShardedIndex`): exact dense, BM25 (scored with the whole corpus's
    statistics) and hybrid results equal one Index over the same rows.

    Parameters
    ----------
    embedding : the embedder the vectors came from (saved with every shard, so queries
        are embedded the same way): "minilm", "hashing", a ragtune or LangChain embedder
    index_options : :class:`ragtune.Index` settings (metric, m, ef_construction, ...)

    Examples
    --------
    >>> index = write_index(embed(chunks), "corpus-index", shards=8)   # doctest: +SKIP
    >>> index.search("how do I pin a version?", k=5, mode="hybrid")    # doctest: +SKIP
    """
    root = Path(out)
    if root.exists() and any(root.iterdir()):
        raise FileExistsError(f"{root} is not empty: write a sharded index into a new folder")
    if isinstance(shards, bool) or not isinstance(shards, int) or shards < 1:
        raise ValueError(f"shards must be a positive int, got {shards!r}")
    if embedding in ("minilm", "hashing"):
        from ...embeddings import HashingEmbeddings, MiniLMEmbeddings

        embedding = MiniLMEmbeddings() if embedding == "minilm" else HashingEmbeddings()
    Index(embedding=embedding, **index_options)  # checks the settings before any work is sent out
    columns = ds.columns()
    missing = [c for c in ("id", "text", "vector") if c not in columns]
    if missing:
        raise ValueError(f"rows need the columns id, text and vector (missing: {', '.join(missing)}); "
                         "chunk() and embed() give them")
    order = ["doc", "index"] if "doc" in columns and "index" in columns else ["id"]
    ordered = ds.sort(order).materialize()
    total = ordered.count()
    if total == 0:
        raise ValueError("no rows to index")
    count = min(shards, total)
    bounds = [total * n // count for n in range(1, count)]
    parts = ordered.split_at_indices(bounds) if bounds else [ordered]
    root.mkdir(parents=True, exist_ok=True)
    payload = _payload(embedding)
    sizes = ray.get([_build_shard.remote(part, str(root / shard_name(n)), payload, index_options)
                     for n, part in enumerate(parts)])
    write_manifest(root, [{"path": shard_name(n), "documents": size} for n, size in enumerate(sizes)],
                   order=order)
    return ShardedIndex.load(root, embedding=embedding)


__all__ = ["MANIFEST", "write_index"]
