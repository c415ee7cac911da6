"""RagtuneVectorStore: a LangChain ``VectorStore`` backed by a ragtune Index.

Unlike FAISS's LangChain store it filters during the search (always k results
when k documents match), never pickles, and saves crash-safely.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from langchain_core.documents import Document
from langchain_core.embeddings import Embeddings
from langchain_core.vectorstores import VectorStore

from ...embeddings.base import ExternalEmbeddings
from ...index import Hit, Index


def to_document(hit: Hit) -> Document:
    """A LangChain Document for a hit: the stored metadata, plus the chunk position when
    the text came from a ragtune Chunk (``source``, ``start_index``, ``line_start``, ``line_end``)."""
    metadata = dict(hit.metadata)
    if hit.start is not None:
        metadata.setdefault("source", hit.source)
        metadata.setdefault("start_index", hit.start)
        metadata.setdefault("line_start", hit.line_start)
        metadata.setdefault("line_end", hit.line_end)
    return Document(page_content=hit.text, metadata=metadata, id=hit.id)


class RagtuneVectorStore(VectorStore):
    """LangChain vector store on a ragtune :class:`~ragtune.Index`.

    Parameters
    ----------
    embedding : Embeddings, optional
        Any LangChain embeddings (or a ragtune embedder). Default: ragtune's MiniLM.
    index : Index, optional
        Use an existing index instead of creating one.
    **index_options
        Passed to :class:`~ragtune.Index` (``metric``, ``m``, ``ef_search``, ...).

    Examples
    --------
    >>> from langchain_core.embeddings import DeterministicFakeEmbedding
    >>> from ragtune.integrations.langchain import RagtuneVectorStore
    >>> store = RagtuneVectorStore(DeterministicFakeEmbedding(size=16))
    >>> ids = store.add_texts(["alpha", "beta"], metadatas=[{"n": 1}, {"n": 2}], ids=["a", "b"])
    >>> [d.id for d in store.similarity_search("beta", k=1)]
    ['b']
    >>> [d.id for d in store.similarity_search("beta", k=2, filter={"n": 1})]
    ['a']
    """

    def __init__(
        self, embedding: Embeddings | None = None, *, index: Index | None = None, **index_options: Any
    ) -> None:
        if index is not None and (embedding is not None or index_options):
            raise TypeError("pass either an existing index or options to create one, not both")
        self.index = index if index is not None else Index(embedding=embedding, **index_options)

    @property
    def embeddings(self) -> Embeddings:
        embedder = self.index.embedding
        return embedder.inner if isinstance(embedder, ExternalEmbeddings) else embedder

    # -- writing -----------------------------------------------------------------

    def add_texts(self, texts: Iterable[str], metadatas: list[dict] | None = None, *, ids: list[str] | None = None,
                  **kwargs: Any) -> list[str]:
        texts = list(texts)
        ids = [i if i else uuid.uuid4().hex for i in ids] if ids is not None else None
        return self.index.add(texts, metadatas=metadatas, ids=ids)

    def delete(self, ids: list[str] | None = None, **kwargs: Any) -> bool | None:
        if ids is None:
            raise ValueError("delete needs the ids to delete")
        self.index.delete(ids)
        return True

    def get_by_ids(self, ids: Sequence[str], /) -> list[Document]:
        return [to_document(hit) for hit in self.index.get(list(ids), missing="skip")]

    # -- searching ---------------------------------------------------------------

    def similarity_search(self, query: str, k: int = 4, filter: dict | None = None, **kwargs: Any) -> list[Document]:
        return [doc for doc, _ in self.similarity_search_with_score(query, k=k, filter=filter, **kwargs)]

    def similarity_search_with_score(self, query: str, k: int = 4, filter: dict | None = None,
                                     **kwargs: Any) -> list[tuple[Document, float]]:
        """Documents with their score (higher is more similar: cosine similarity by default)."""
        hits = self.index.search(query, k=k, filter=filter, mode=kwargs.pop("mode", "dense"), **kwargs)
        return [(to_document(h), h.score) for h in hits]

    def similarity_search_by_vector(self, embedding: list[float], k: int = 4, filter: dict | None = None,
                                    **kwargs: Any) -> list[Document]:
        return [to_document(h) for h in self.index.search_by_vector(embedding, k=k, filter=filter, **kwargs)]

    def max_marginal_relevance_search(self, query: str, k: int = 4, fetch_k: int = 20, lambda_mult: float = 0.5,
                                      filter: dict | None = None, **kwargs: Any) -> list[Document]:
        hits = self.index.max_marginal_relevance(query, k=k, fetch_k=fetch_k, lambda_mult=lambda_mult, filter=filter)
        return [to_document(h) for h in hits]

    def max_marginal_relevance_search_by_vector(self, embedding: list[float], k: int = 4, fetch_k: int = 20,
                                                lambda_mult: float = 0.5, filter: dict | None = None,
                                                **kwargs: Any) -> list[Document]:
        hits = self.index.max_marginal_relevance(embedding, k=k, fetch_k=fetch_k, lambda_mult=lambda_mult,
                                                 filter=filter)
        return [to_document(h) for h in hits]

    def _select_relevance_score_fn(self) -> Callable[[float], float]:
        """Scores to [0, 1]: similarity clipped at 0 (cosine, ip), 1 / (1 + d²) for L2."""
        if self.index.metric == "l2":
            return lambda score: 1.0 / (1.0 - score)  # score is -d²
        return lambda score: min(1.0, max(0.0, score))

    # -- construction and persistence ---------------------------------------------

    @classmethod
    def from_texts(cls, texts: list[str], embedding: Embeddings, metadatas: list[dict] | None = None, *,
                   ids: list[str] | None = None, **kwargs: Any) -> RagtuneVectorStore:
        store = cls(embedding, **kwargs)
        store.add_texts(texts, metadatas=metadatas, ids=ids)
        return store

    def save_local(self, folder_path: str | os.PathLike[str]) -> None:
        """Save crash-safely (no pickle) to a folder."""
        self.index.save(folder_path)

    @classmethod
    def load_local(
        cls, folder_path: str | os.PathLike[str], embeddings: Embeddings | None = None
    ) -> RagtuneVectorStore:
        """Load what :meth:`save_local` wrote (pass the same embeddings)."""
        return cls(index=Index.load(folder_path, embedding=embeddings))

    def __repr__(self) -> str:
        return f"RagtuneVectorStore({self.index!r})"
