"""The index: dense vectors (exact and HNSW), BM25 and documents, searched together
with metadata filters, hybrid fusion and MMR, saved crash-safely.

>>> from ragtune import Index
"""

from __future__ import annotations

from .hit import Hit
from .index import Index
from .memory import IndexMemory
from .sharded import ShardedIndex

__all__ = ["Hit", "Index", "IndexMemory", "ShardedIndex"]
