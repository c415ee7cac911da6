"""Chunking a Ray Dataset of documents: ragtune's C++ chunkers, called per batch."""

from __future__ import annotations

import inspect
import json
from typing import Any

import pyarrow as pa

from ...chunking.chunk import chunk_id

#: The columns of a chunk row (metadata as JSON text: its keys vary by chunker).
CHUNK_COLUMNS = ("doc", "id", "source", "index", "text", "start", "end", "byte_start", "byte_end", "line_start",
                 "line_end", "metadata")


def chunks_table(docs: list[int] | None, chunked: list[list[Any]]) -> pa.Table:
    """The Arrow table of chunk rows for documents ``docs`` (their positions; None when
    the documents have none, and the ``doc`` column is left out) split into ``chunked``."""
    rows = [(doc, c) for doc, chunks in zip(docs or [None] * len(chunked), chunked) for c in chunks]
    column: dict[str, Any] = {
        "doc": pa.array([d for d, _ in rows], pa.int64()),
        "id": pa.array([chunk_id(c) for _, c in rows], pa.string()),
        "source": pa.array([c.source for _, c in rows], pa.string()),
        "text": pa.array([c.text for _, c in rows], pa.string()),
        "metadata": pa.array([json.dumps(c.metadata, ensure_ascii=False) if c.metadata else None
                              for _, c in rows], pa.string()),
    }
    for name in ("index", "start", "end", "byte_start", "byte_end", "line_start", "line_end"):
        column[name] = pa.array([getattr(c, name) for _, c in rows], pa.int64())
    return pa.table({name: column[name] for name in CHUNK_COLUMNS if name != "doc" or docs is not None})


def _split(batch: pa.Table, chunker: Any) -> pa.Table:
    texts = batch.column("text").to_pylist()
    sources = batch.column("source").to_pylist()
    # Without a document position, none is made up: numbers per batch would repeat across
    # batches, and write_index orders such rows by id instead.
    docs = batch.column("doc").to_pylist() if "doc" in batch.column_names else None
    # One thread per Ray task: Ray runs as many tasks as the cluster has CPUs. The C++
    # chunker releases the GIL, so the task's other threads (Arrow, Ray's own) keep going.
    options = {"threads": 1} if "threads" in inspect.signature(chunker.split_many).parameters else {}
    return chunks_table(docs, chunker.split_many(texts, sources=sources, **options))


def chunk(ds: Any, chunker: Any, *, batch_size: int | None = 64) -> Any:
    """One row per chunk of each document row (``source``, ``text``; ``doc`` kept when
    present): ``id`` (``source#index``, as :meth:`ragtune.Index.add` names chunks),
    ``text``, code-point, byte and line offsets, ``index`` and ``metadata`` (JSON text) —
    the chunks ``chunker.split_many`` gives on one machine, as Arrow columns.

    ``chunker`` is any ragtune chunker (RecursiveChunker, MarkdownChunker,
    SentenceChunker); it is sent to the workers with the task.

    Examples
    --------
    >>> from ragtune import RecursiveChunker
    >>> chunks = chunk(read_documents(["docs/"]), RecursiveChunker(chunk_size=800, chunk_overlap=100))  # doctest: +SKIP
    """
    if not callable(getattr(chunker, "split_many", None)):
        raise TypeError(f"chunker must be a ragtune chunker (with split_many), got {type(chunker).__name__}")
    if batch_size is not None and (not isinstance(batch_size, int) or batch_size < 1):
        raise ValueError(f"batch_size must be a positive int or None (whole blocks), got {batch_size!r}")
    return ds.map_batches(_split, fn_kwargs={"chunker": chunker}, batch_format="pyarrow", batch_size=batch_size)
