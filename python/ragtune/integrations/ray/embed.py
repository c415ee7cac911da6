"""Embedding a Ray Dataset: an actor pool, each actor loading the embedder once."""

from __future__ import annotations

from typing import Any

import numpy as np
import pyarrow as pa
import ray

from ...embeddings.base import Embedder, resolve_embedding
from ...embeddings.spec import embedder_from_spec


def vector_column(matrix: np.ndarray) -> pa.FixedSizeListArray:
    """A (n, dim) float32 matrix as a fixed-size list column, without copying row by row."""
    matrix = np.ascontiguousarray(matrix, dtype=np.float32)
    return pa.FixedSizeListArray.from_arrays(pa.array(matrix.reshape(-1)), matrix.shape[1])


def matrix_of(column: Any) -> np.ndarray:
    """The (n, dim) float32 matrix of a fixed-size list column (what :func:`embed` writes)."""
    column = column.combine_chunks() if isinstance(column, pa.ChunkedArray) else column
    if not pa.types.is_fixed_size_list(column.type):
        raise TypeError(f"the vector column must be a fixed-size list of float32, got {column.type}")
    values = column.flatten().to_numpy(zero_copy_only=False).astype(np.float32, copy=False)
    return values.reshape(len(column), column.type.list_size)


def _payload(embedder: Any) -> tuple[str, Any]:
    """What travels to the actors: a ragtune embedder's spec (rebuilt there, so a model
    folder is read by each actor rather than pickled), or the object itself."""
    if isinstance(embedder, dict):
        return "spec", embedder
    resolved = resolve_embedding(embedder)
    spec = resolved.spec()
    if spec.get("kind") in ("minilm", "hashing"):
        return "spec", spec
    return "object", embedder


class _EmbedActor:
    """Loads the embedder once; embeds the ``text`` column of each batch into ``vector``."""

    def __init__(self, payload: tuple[str, Any], threads: int) -> None:
        kind, value = payload
        self.embedder: Embedder = embedder_from_spec(value) if kind == "spec" else resolve_embedding(value)
        try:  # as many torch threads as CPUs Ray gave the actor, not one per core of the machine
            import torch

            torch.set_num_threads(threads)
        except ImportError:
            pass

    def __call__(self, batch: pa.Table) -> pa.Table:
        texts = batch.column("text").to_pylist()
        matrix = np.asarray(self.embedder.encode(texts), dtype=np.float32)
        if matrix.ndim != 2 or matrix.shape[0] != len(texts) or not np.isfinite(matrix).all():
            raise ValueError(f"the embedder returned an array of shape {matrix.shape} (or non-finite values) for "
                             f"{len(texts)} texts")
        if "vector" in batch.column_names:
            batch = batch.drop_columns(["vector"])
        return batch.append_column("vector", vector_column(matrix))


def embed(ds: Any, embedder: Any = "minilm", *, batch_size: int = 64, concurrency: int = 1,
          num_cpus: float = 1) -> Any:
    """Add a ``vector`` column (fixed-size list of float32) holding the embedding of each
    row's ``text``, computed by a pool of ``concurrency`` Ray actors that each load the
    embedder once.

    Parameters
    ----------
    embedder : "minilm" (the default, offline all-MiniLM-L6-v2), "hashing", any ragtune
        embedder, or any LangChain ``Embeddings`` (sent to each actor as it is)
    batch_size : texts per call of the embedder
    concurrency : actors in the pool (each holds one copy of the model)
    num_cpus : CPUs Ray reserves per actor (and torch threads inside it)

    An actor that dies (killed, out of memory) is restarted by Ray and its batch retried
    (Ray Data's actor pools restart actors without limit), so the output stays
    complete, with no row twice (tested by killing one).

    Examples
    --------
    >>> vectors = embed(chunks, "minilm", concurrency=4)     # doctest: +SKIP
    >>> vectors.schema()                                     # doctest: +SKIP
    """
    if embedder == "minilm":
        from ...embeddings import MiniLMEmbeddings

        embedder = MiniLMEmbeddings()
    elif embedder == "hashing":
        from ...embeddings import HashingEmbeddings

        embedder = HashingEmbeddings()
    for name, value in (("batch_size", batch_size), ("concurrency", concurrency)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    if not num_cpus > 0:
        raise ValueError(f"num_cpus must be positive, got {num_cpus!r}")
    return ds.map_batches(
        _EmbedActor, fn_constructor_kwargs={"payload": _payload(embedder), "threads": max(1, int(num_cpus))},
        batch_size=batch_size, batch_format="pyarrow", compute=ray.data.ActorPoolStrategy(size=concurrency),
        num_cpus=num_cpus)
