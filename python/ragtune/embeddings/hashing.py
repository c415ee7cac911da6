"""HashingEmbeddings: model-free feature hashing in C++ (quick starts, tests)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import _core
from .._inputs import as_int, as_texts, as_threads
from .base import Embedder


class HashingEmbeddings(Embedder):
    """Words (and adjacent word pairs) hashed into ``dim`` buckets with ±1 signs,
    L2-normalised. No model, no download, deterministic across runs and machines;
    similar only in shared vocabulary — use it to start quickly or to test, and
    :class:`MiniLMEmbeddings` for meaning.

    Examples
    --------
    >>> from ragtune.embeddings import HashingEmbeddings
    >>> e = HashingEmbeddings(dim=64)
    >>> e.encode(["red apples", "red apples"]).shape
    (2, 64)
    >>> round(float(e.encode(["red apples"])[0] @ e.encode(["apples red"])[0]), 2) > 0.5
    True
    """

    def __init__(self, *, dim: int = 512, bigrams: bool = True, threads: int = 0) -> None:
        self.dim = as_int(dim, name="dim", minimum=1, maximum=65536)
        self.bigrams = bool(bigrams)
        self.threads = as_threads(threads)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return _core.hash_embed(as_texts(texts), dim=self.dim, bigrams=self.bigrams, threads=self.threads)

    def spec(self) -> dict[str, Any]:
        return {"kind": "hashing", "dim": self.dim, "bigrams": self.bigrams, "normalized": True,
                "identity": self.identity}

    @property
    def identity(self) -> str:
        return f"ragtune-hashing-v1:dim={self.dim}:bigrams={self.bigrams}"

    def __repr__(self) -> str:
        return f"HashingEmbeddings(dim={self.dim}, bigrams={self.bigrams})"
