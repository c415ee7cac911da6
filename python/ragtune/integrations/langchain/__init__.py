"""ragtune inside LangChain pipelines. Needs ``pip install ragtune[langchain]``.

Changing one import line is the whole migration::

    # from langchain_text_splitters import RecursiveCharacterTextSplitter
    from ragtune.integrations.langchain import RecursiveCharacterTextSplitter

and :class:`RagtuneVectorStore` / :class:`RagtuneRetriever` stand where FAISS,
Chroma or a BM25 retriever stood.
"""

from __future__ import annotations

from .retriever import RagtuneRetriever
from .text_splitter import RecursiveCharacterTextSplitter
from .vectorstore import RagtuneVectorStore

__all__ = ["RagtuneRetriever", "RagtuneVectorStore", "RecursiveCharacterTextSplitter"]
