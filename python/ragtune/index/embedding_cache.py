"""Vectors the embedder already produced, keyed by the embedder's identity and a
digest of the text, so re-indexing a text never embeds it twice.

The cache holds the embedder's raw output (before any normalisation the index
applies), so a reused vector is bit-identical to embedding the text again. It is
bounded: past ``limit`` entries the least recently used go first. Saved with the
index as two plain ``.npy`` arrays (digests and vectors, oldest first; loaded
with ``allow_pickle=False`` and memory-mapped, so a loaded cache costs no memory
until a sync reads it) — no pickle anywhere.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from .._files import write_file

KEYS_FILE = "embedding-cache-keys.npy"
VECTORS_FILE = "embedding-cache-vectors.npy"
DIGEST_BYTES = 16
DEFAULT_LIMIT = 250_000


def text_digest(text: str) -> bytes:
    """16-byte BLAKE2b of the text's UTF-8 (collisions are out of reach at any corpus size)."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=DIGEST_BYTES).digest()


class EmbeddingCache:
    """Raw vectors by text digest for one embedder identity.

    Examples
    --------
    >>> import numpy as np
    >>> cache = EmbeddingCache("demo-embedder", limit=2)
    >>> cache.put(["a", "b"], np.eye(2, dtype=np.float32))
    >>> vectors, missing = cache.take(["b", "c"])
    >>> vectors[0].tolist(), missing
    ([0.0, 1.0], [1])
    """

    def __init__(self, identity: str, *, limit: int = DEFAULT_LIMIT) -> None:
        self.identity = identity
        self.limit = int(limit)
        self.dim: int | None = None
        self._keys = np.zeros((0, DIGEST_BYTES), dtype=np.uint8)  # may be a read-only memory map
        self._vectors = np.zeros((0, 0), dtype=np.float32)         # may be a read-only memory map
        self._row_of: dict[bytes, int] | None = {}
        self._used: list[int] = []  # last use per row (a tick), for eviction
        self._tick = 0
        self._new_keys: list[bytes] = []
        self._new_vectors: list[np.ndarray] = []

    def memory_bytes(self) -> int:
        """Bytes of cached keys and vectors (a memory-mapped file counts at its size)."""
        return int(self._keys.nbytes + self._vectors.nbytes + sum(v.nbytes for v in self._new_vectors)
                   + len(self._new_keys) * DIGEST_BYTES)

    def __len__(self) -> int:
        # Keys are unique across the saved and the new rows, so no lookup table is needed
        # (stats() on a loaded index must not build one).
        return len(self._keys) + len(self._new_keys)

    def _rows(self) -> dict[bytes, int]:
        # Built on first use: a loaded cache that no sync touches costs nothing.
        if self._row_of is None:
            self._row_of = {bytes(k): i for i, k in enumerate(self._keys)}
        return self._row_of

    def _vector(self, row: int) -> np.ndarray:
        base = len(self._keys)
        return self._vectors[row] if row < base else self._new_vectors[row - base]

    def take(self, texts: Sequence[str]) -> tuple[list[np.ndarray | None], list[int]]:
        """Cached vectors of ``texts`` (None where missing) and the positions missing."""
        rows = self._rows()
        self._tick += 1
        found: list[np.ndarray | None] = []
        missing = []
        for position, text in enumerate(texts):
            row = rows.get(text_digest(text))
            if row is None:
                found.append(None)
                missing.append(position)
            else:
                self._used[row] = self._tick
                found.append(np.array(self._vector(row), dtype=np.float32))
        return found, missing

    def put(self, texts: Sequence[str], vectors: np.ndarray) -> None:
        """Remember the embedder's vectors of ``texts`` (one row each)."""
        if self.limit <= 0 or not len(texts):
            return
        if self.dim is None:
            self.dim = int(vectors.shape[1])
        elif vectors.shape[1] != self.dim:
            raise ValueError(f"the embedder returned {vectors.shape[1]}-d vectors; its cache holds {self.dim}-d ones")
        rows = self._rows()
        self._tick += 1
        for text, vector in zip(texts, vectors):
            key = text_digest(text)
            row = rows.get(key)
            if row is None:
                row = len(self._keys) + len(self._new_keys)
                rows[key] = row
                self._new_keys.append(key)
                self._new_vectors.append(np.array(vector, dtype=np.float32))
                self._used.append(self._tick)
            else:
                self._used[row] = self._tick
        if len(rows) > self.limit + max(1024, self.limit // 4):  # trim in steps, not per call
            self._compact()

    def _compact(self) -> None:
        """Keep the ``limit`` most recently used entries, oldest first, in plain arrays."""
        rows = self._rows()
        order = sorted(rows.values(), key=lambda r: self._used[r])[-self.limit:] if self.limit > 0 else []
        base = len(self._keys)
        keys = np.zeros((len(order), DIGEST_BYTES), dtype=np.uint8)
        vectors = np.zeros((len(order), self.dim or 0), dtype=np.float32)
        for i, row in enumerate(order):
            keys[i] = np.frombuffer(self._keys[row].tobytes() if row < base else self._new_keys[row - base],
                                    dtype=np.uint8)
            vectors[i] = self._vector(row)
        used = [self._used[r] for r in order]
        self._keys, self._vectors, self._used = keys, vectors, used
        self._new_keys, self._new_vectors = [], []
        self._row_of = {bytes(k): i for i, k in enumerate(keys)}

    # -- persistence ------------------------------------------------------------------

    def save(self, folder: Path) -> dict[str, object]:
        """Write the two arrays into ``folder``; returns what the manifest records."""
        self._compact()
        for name, array in ((KEYS_FILE, self._keys), (VECTORS_FILE, self._vectors)):
            buffer = io.BytesIO()
            np.save(buffer, np.ascontiguousarray(array), allow_pickle=False)
            write_file(folder / name, buffer.getvalue())
        return {"identity": self.identity, "dim": self.dim, "entries": len(self._keys), "limit": self.limit}

    @classmethod
    def load(cls, folder: Path, info: dict[str, object], *, limit: int) -> EmbeddingCache:
        """The cache saved in ``folder`` (ValueError when its arrays are not what ``info`` says)."""
        identity, dim, entries = info.get("identity"), info.get("dim"), info.get("entries")
        if (not isinstance(identity, str) or not isinstance(entries, int)
                or (dim is not None and not isinstance(dim, int))):
            raise ValueError("the embedding cache's description is damaged")
        cache = cls(identity, limit=limit)
        keys = np.load(folder / KEYS_FILE, mmap_mode="r", allow_pickle=False)
        vectors = np.load(folder / VECTORS_FILE, mmap_mode="r", allow_pickle=False)
        if (keys.dtype != np.uint8 or keys.shape != (entries, DIGEST_BYTES) or vectors.dtype != np.float32
                or vectors.ndim != 2 or vectors.shape[0] != entries or (entries and vectors.shape[1] != dim)):
            raise ValueError(f"the embedding cache's arrays have shapes {keys.shape} and {vectors.shape}, "
                             f"not {entries} entries of {dim} dimensions")
        cache.dim = dim
        cache._keys, cache._vectors = keys, vectors
        cache._used = list(range(entries))  # saved oldest first
        cache._tick = entries
        cache._row_of = None
        return cache

    def __repr__(self) -> str:
        return f"EmbeddingCache({len(self)} vectors of {self.identity!r}, limit={self.limit:,})"
