"""What an Index holds in memory, by part: vectors (one copy each), the HNSW graph,
BM25, the stored records and the embedding cache."""

from __future__ import annotations

import sys
from collections.abc import Iterable
from dataclasses import dataclass, fields
from typing import Any


@dataclass(frozen=True, slots=True)
class IndexMemory:
    """Bytes held by an :class:`~ragtune.index.Index`, by part.

    ``vectors`` is the rows (float32, half or int8 codes with their scale, as the
    index's ``vector_dtype`` says) plus their norms and the live-slot map: the only
    copy, which the HNSW graph reads by slot. ``graph`` is the graph's links and
    hnswlib's bookkeeping per element (locks, levels, the label map). ``bm25`` is the
    vocabulary and postings. ``records`` is the ids, texts and metadata in Python
    objects, shared objects counted once. ``embedding_cache`` is the cached vectors.
    ``mapped`` is what an index opened with ``Index.load(mmap=True)`` reads in place from
    its files (vectors, the graph's base layer): page-cache pages, shared by every process
    that maps the same snapshot, resident once touched. The C++ parts count allocated
    capacity. The Python parts are ``sys.getsizeof`` sums, so they do not include the
    allocator's own overhead.

    Examples
    --------
    >>> from ragtune import HashingEmbeddings, Index
    >>> index = Index(embedding=HashingEmbeddings(dim=64))
    >>> _ = index.add([f"text number {i}" for i in range(100)])
    >>> memory = index.memory()
    >>> memory.vectors >= 100 * 64 * 4, memory.graph, memory.total == sum(memory.parts().values())
    (True, 0, True)
    """

    vectors: int = 0
    graph: int = 0
    bm25: int = 0
    records: int = 0
    embedding_cache: int = 0
    mapped: int = 0
    count: int = 0

    def parts(self) -> dict[str, int]:
        """Bytes by part (``count`` excluded)."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "count"}

    @property
    def total(self) -> int:
        return sum(self.parts().values())

    @property
    def per_vector(self) -> float:
        """Bytes per stored document, all parts together."""
        return self.total / self.count if self.count else 0.0

    def __repr__(self) -> str:
        shown = ", ".join(f"{name}={value / 1e6:.1f} MB" for name, value in self.parts().items())
        return f"IndexMemory({self.total / 1e6:.1f} MB for {self.count} documents: {shown})"


def python_bytes(objects: Iterable[Any]) -> int:
    """``sys.getsizeof`` of each object and, for records, of their fields and metadata
    (one level into dicts, lists and tuples); an object reached twice counts once."""
    seen: set[int] = set()
    total = 0

    def add(value: Any, depth: int) -> None:
        nonlocal total
        if value is None or id(value) in seen:
            return
        seen.add(id(value))
        total += sys.getsizeof(value)
        if depth == 0:
            return
        if isinstance(value, dict):
            for key, item in value.items():
                add(key, depth - 1)
                add(item, depth - 1)
        elif isinstance(value, (list, tuple)):
            for item in value:
                add(item, depth - 1)
        elif hasattr(value, "__slots__"):
            for name in value.__slots__:
                add(getattr(value, name, None), depth - 1)

    for obj in objects:
        add(obj, 3)
    return total
