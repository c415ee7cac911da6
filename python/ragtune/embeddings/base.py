"""What every ragtune embedder is: LangChain's ``Embeddings`` interface (when
LangChain is installed; the same two methods otherwise) plus a fast ``encode``
that returns a float32 matrix."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from .window import EmbedderWindow

try:
    from langchain_core.embeddings import Embeddings as _LangChainEmbeddings
except ImportError:  # pragma: no cover - LangChain is an optional extra

    class _LangChainEmbeddings(ABC):  # type: ignore[no-redef]
        """Stand-in with LangChain's method names, used when langchain-core is absent."""

        @abstractmethod
        def embed_documents(self, texts: list[str]) -> list[list[float]]: ...

        @abstractmethod
        def embed_query(self, text: str) -> list[float]: ...


class Embedder(_LangChainEmbeddings):
    """Base class of ragtune's embedders.

    Subclasses implement :meth:`encode`; LangChain's ``embed_documents`` and
    ``embed_query`` come from it.
    """

    #: Length of every vector this embedder returns.
    dim: int

    @abstractmethod
    def encode(self, texts: Sequence[str]) -> np.ndarray:
        """Embed texts into a (len(texts), dim) float32 array."""

    def encode_query(self, text: str) -> np.ndarray:
        """Embed one query (some models embed queries differently; these do not)."""
        return self.encode([text])[0]

    @property
    def window(self) -> EmbedderWindow | None:
        """How many tokens the model reads (and the tokenizer counting them), or None
        when it reads text of any length."""
        return None

    @property
    def identity(self) -> str | None:
        """A string that changes whenever the vectors could change (model, weights,
        settings), or None when that cannot be known. Cached vectors are reused only
        under the same identity."""
        return None

    def spec(self) -> dict[str, Any]:
        """What an index saves about its embedder: ``kind`` and what rebuilds it
        (:func:`ragtune.embeddings.spec.embedder_from_spec`), dimension, identity."""
        return {"kind": "external", "class": f"{type(self).__module__}.{type(self).__qualname__}",
                "dim": getattr(self, "dim", 0) or None, "identity": self.identity}

    def embed_documents(self, texts: list[str]) -> list[list[float]]:
        return self.encode(texts).tolist()

    def embed_query(self, text: str) -> list[float]:
        return self.encode_query(text).tolist()


class ExternalEmbeddings(Embedder):
    """Wraps a LangChain ``Embeddings`` object or a callable ``list[str] -> vectors``."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.dim = 0  # learnt from the first result

    def _check(self, matrix: Any, count: int) -> np.ndarray:
        array = np.asarray(matrix, dtype=np.float32)
        if array.ndim != 2 or array.shape[0] != count:
            raise ValueError(f"the embedding returned shape {array.shape} for {count} texts; expected ({count}, dim)")
        if self.dim and array.shape[1] != self.dim:
            raise ValueError(f"the embedding returned {array.shape[1]}-d vectors after {self.dim}-d ones")
        if not np.isfinite(array).all():
            raise ValueError("the embedding returned NaN or infinite values")
        self.dim = int(array.shape[1])
        return array

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        texts = list(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if hasattr(self.inner, "embed_documents"):
            return self._check(self.inner.embed_documents(texts), len(texts))
        return self._check(self.inner(texts), len(texts))

    def encode_query(self, text: str) -> np.ndarray:
        if hasattr(self.inner, "embed_query"):
            return self._check([self.inner.embed_query(text)], 1)[0]
        return self.encode([text])[0]

    def spec(self) -> dict[str, Any]:
        kind = type(self.inner)
        return {"kind": "external", "class": f"{kind.__module__}.{kind.__qualname__}", "dim": self.dim or None,
                "identity": self.identity}

    @property
    def identity(self) -> str | None:
        # A LangChain embedder names its model; a bare callable cannot be identified.
        model = next((getattr(self.inner, a) for a in ("model", "model_name", "model_id", "deployment")
                      if isinstance(getattr(self.inner, a, None), str)), None)
        if model is None:
            return None
        kind = type(self.inner)
        return f"{kind.__module__}.{kind.__qualname__}:{model}"

    def __repr__(self) -> str:
        return f"ExternalEmbeddings({self.inner!r})"


def resolve_embedding(embedding: Any) -> Embedder:
    """An Embedder from what the user passed: None (the default MiniLM), an Embedder,
    a LangChain Embeddings object, or a callable."""
    if embedding is None:
        from .minilm import MiniLMEmbeddings

        return MiniLMEmbeddings()
    if isinstance(embedding, Embedder):
        return embedding
    if hasattr(embedding, "embed_documents") or callable(embedding):
        return ExternalEmbeddings(embedding)
    raise TypeError(
        f"embedding must be a ragtune or LangChain embedder or a callable, got {type(embedding).__name__}"
    )


EmbeddingLike = Embedder | Callable[[list[str]], Any] | Any
