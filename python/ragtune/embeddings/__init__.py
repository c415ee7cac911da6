"""Embeddings: text to vectors.

- :class:`MiniLMEmbeddings` — the default: all-MiniLM-L6-v2, offline, on the CPU.
- :class:`HashingEmbeddings` — model-free feature hashing in C++.
- Any LangChain ``Embeddings`` object or a callable is accepted where an embedder is.

All of them implement LangChain's ``Embeddings`` interface.
"""

from __future__ import annotations

from .base import Embedder, ExternalEmbeddings, resolve_embedding
from .hashing import HashingEmbeddings
from .minilm import MiniLMEmbeddings
from .window import EmbedderWindow

__all__ = ["Embedder", "EmbedderWindow", "ExternalEmbeddings", "HashingEmbeddings", "MiniLMEmbeddings",
           "resolve_embedding"]
