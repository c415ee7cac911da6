"""Writing a Ray Dataset of embedded rows as a sharded ragtune index, shards built in
parallel from the vectors already computed (nothing is embedded twice)."""

from __future__ import annotations

import json
import os
import shutil
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
from .order import ordered

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


def _keys(batch: pa.Table, order: list[str]) -> list[tuple[Any, ...]]:
    return list(zip(*(batch.column(name).to_pylist() for name in order)))


@ray.remote(num_cpus=1)
def _build_shard(part: Any, path: str, payload: tuple[str, Any], settings: dict[str, Any],
                 order: list[str]) -> tuple[bool, int, Any, Any]:
    """Build and save one shard: (in order, documents, first key, last key); a part whose
    rows are not in order is not saved (the caller sorts and builds again)."""
    kind, value = payload
    embedder = embedder_from_spec(value) if kind == "spec" else resolve_embedding(value)
    index = Index(embedding=embedder, threads=1, embedding_cache=0, **settings)
    first = last = None
    for batch in part.iter_batches(batch_size=4096, batch_format="pyarrow"):
        keys = _keys(batch, order)
        if keys and ((last is not None and keys[0] <= last) or any(a >= b for a, b in zip(keys, keys[1:]))):
            return False, len(index), None, None
        if keys:
            first = keys[0] if first is None else first
            last = keys[-1]
        items, ids, metadata = _rows(batch)
        index.add(items, metadatas=metadata, ids=ids, vectors=matrix_of(batch.column("vector")))
    index.save(path)
    return True, len(index), first, last


def _build(ordered: Any, root: Path, count: int, payload: tuple[str, Any], settings: dict[str, Any],
           order: list[str]) -> list[int] | None:
    """Cut ``ordered`` into ``count`` contiguous parts and build them in parallel; the
    sizes, or None when the rows turn out not to be in order."""
    total = ordered.count()
    bounds = [total * n // count for n in range(1, count)]
    parts = ordered.split_at_indices(bounds) if bounds else [ordered]
    built = ray.get([_build_shard.remote(part, str(root / shard_name(n)), payload, settings, order)
                     for n, part in enumerate(parts)])
    keys = [k for _, _, first, last in built if first is not None for k in (first, last)]
    if not all(ok for ok, _, _, _ in built) or any(a >= b for a, b in zip(keys[1::2], keys[2::2])):
        return None
    return [size for _, size, _, _ in built]


def write_index(ds: Any, out: str | os.PathLike[str], *, shards: int = 2, embedding: Any = "minilm",
                load: bool = True, **index_options: Any) -> ShardedIndex | Path:
    """Build a sharded ragtune index from rows with ``id``, ``text`` and ``vector`` (as
    :func:`embed` gives them; ``source``, offsets and ``metadata`` kept when present).

    Rows are put in the order one machine would add them (by ``doc`` and ``index`` when
    the rows have them, else by ``id``): the order :func:`chunk` already gives, which is
    kept rather than re-sorted (a dataset in another order is sorted, a shuffle over the
    cluster). They are cut into ``shards`` contiguous ranges, each
    built by its own Ray task from the given vectors and saved as a ragtune Index under
    ``out/shard-0000i``; ``out/sharded.json`` is written last. The result searches as
    one index (:class:`ShardedIndex`): exact dense, BM25 (scored with the whole corpus's
    statistics) and hybrid results equal one Index over the same rows.

    Parameters
    ----------
    embedding : the embedder the vectors came from (saved with every shard, so queries
        are embedded the same way): "minilm", "hashing", a ragtune or LangChain embedder
    load : return the opened :class:`ShardedIndex` (else the folder, without reading it back)
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
    reserved = sorted({"threads", "embedding_cache", "embedding"} & set(index_options))
    if reserved:
        raise TypeError(f"write_index sets {', '.join(reserved)} itself (one thread per shard task, no cache); "
                        "pass the other Index settings only")
    if embedding in ("minilm", "hashing"):
        from ...embeddings import HashingEmbeddings, MiniLMEmbeddings

        embedding = MiniLMEmbeddings() if embedding == "minilm" else HashingEmbeddings()
    Index(embedding=embedding, **index_options)  # checks the settings before any work is sent out
    rows = ordered(ds)
    columns = rows.columns()
    missing = [c for c in ("id", "text", "vector") if c not in columns]
    if missing:
        raise ValueError(f"rows need the columns id, text and vector (missing: {', '.join(missing)}); "
                         "chunk() and embed() give them")
    total = rows.count()
    if total == 0:
        raise ValueError("no rows to index")
    order = ["doc", "index"] if "doc" in columns and "index" in columns else ["id"]
    count = min(shards, total)
    root.mkdir(parents=True, exist_ok=True)
    payload = _payload(embedding)
    sizes = _build(rows, root, count, payload, index_options, order)
    if sizes is None:  # not in order: sort (a shuffle) and build again
        for n in range(count):
            shutil.rmtree(root / shard_name(n), ignore_errors=True)
        sizes = _build(rows.sort(order).materialize(), root, count, payload, index_options, order)
        if sizes is None:
            for n in range(count):  # leave the folder as it was found, so the call can be retried
                shutil.rmtree(root / shard_name(n), ignore_errors=True)
            raise ValueError(f"rows repeat a key ({', '.join(order)}): give each row a distinct one")
    write_manifest(root, [{"path": shard_name(n), "documents": size} for n, size in enumerate(sizes)],
                   order=order)
    return ShardedIndex.load(root, embedding=embedding) if load else root


__all__ = ["MANIFEST", "write_index"]
