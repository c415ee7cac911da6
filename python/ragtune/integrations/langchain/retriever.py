"""RagtuneRetriever: a LangChain retriever for dense, BM25 or hybrid search with filters."""

from __future__ import annotations

from typing import Any, Literal

from langchain_core.callbacks import CallbackManagerForRetrieverRun
from langchain_core.documents import Document
from langchain_core.retrievers import BaseRetriever
from pydantic import ConfigDict

from ...index import Index
from .vectorstore import to_document


class RagtuneRetriever(BaseRetriever):
    """Retrieve from a ragtune :class:`~ragtune.Index`.

    Each Document carries the hit's score in ``metadata["score"]``. ``k``, ``mode``
    and ``filter`` can also be given per call: ``retriever.invoke(q, k=3, mode="bm25")``.

    Examples
    --------
    >>> from ragtune import Index
    >>> from ragtune.embeddings import HashingEmbeddings
    >>> from ragtune.integrations.langchain import RagtuneRetriever
    >>> index = Index(embedding=HashingEmbeddings(dim=64))
    >>> _ = index.add(["tea is brewed", "coffee is roasted"], ids=["t", "c"])
    >>> [d.id for d in RagtuneRetriever(index=index, k=1, mode="hybrid").invoke("roasted coffee")]
    ['c']
    """

    model_config = ConfigDict(arbitrary_types_allowed=True)

    index: Index
    k: int = 4
    mode: Literal["dense", "bm25", "hybrid"] = "dense"
    filter: dict[str, Any] | None = None
    fetch_k: int | None = None
    weights: tuple[float, float] = (1.0, 1.0)

    def _get_relevant_documents(self, query: str, *, run_manager: CallbackManagerForRetrieverRun,
                                **kwargs: Any) -> list[Document]:
        hits = self.index.search(
            query,
            k=kwargs.get("k", self.k),
            filter=kwargs.get("filter", self.filter),
            mode=kwargs.get("mode", self.mode),
            fetch_k=kwargs.get("fetch_k", self.fetch_k),
            weights=kwargs.get("weights", self.weights),
        )
        documents = []
        for hit in hits:
            document = to_document(hit)
            document.metadata["score"] = hit.score
            documents.append(document)
        return documents
