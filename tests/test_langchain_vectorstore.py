"""LangChain's own standard test suites, unmodified, against ragtune's store and retriever."""

from collections.abc import Generator
from typing import Any

import pytest
from langchain_core.vectorstores import VectorStore
from langchain_tests.integration_tests import RetrieversIntegrationTests, VectorStoreIntegrationTests

from ragtune import Index
from ragtune.embeddings import HashingEmbeddings
from ragtune.integrations.langchain import RagtuneRetriever, RagtuneVectorStore


class TestRagtuneVectorStore(VectorStoreIntegrationTests):
    @pytest.fixture()
    def vectorstore(self) -> Generator[VectorStore, None, None]:  # type: ignore[override]
        yield RagtuneVectorStore(self.get_embeddings())


class TestRagtuneVectorStoreOnGraph(VectorStoreIntegrationTests):
    """The same suite with the HNSW graph in use from the first document."""

    @pytest.fixture()
    def vectorstore(self) -> Generator[VectorStore, None, None]:  # type: ignore[override]
        yield RagtuneVectorStore(self.get_embeddings(), exact_below=0)


def _filled_index() -> Index:
    index = Index(embedding=HashingEmbeddings(dim=128))
    index.add([f"document number {i} about retrieval and fine-tuning" for i in range(20)],
              metadatas=[{"i": i} for i in range(20)])
    return index


class TestRagtuneRetriever(RetrieversIntegrationTests):
    @property
    def retriever_constructor(self) -> type[RagtuneRetriever]:
        return RagtuneRetriever

    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return {"index": _filled_index()}

    @property
    def retriever_query_example(self) -> str:
        return "retrieval"


class TestRagtuneHybridRetriever(TestRagtuneRetriever):
    @property
    def retriever_constructor_params(self) -> dict[str, Any]:
        return {"index": _filled_index(), "mode": "hybrid"}


def test_store_extras(tmp_path):
    store = RagtuneVectorStore.from_texts(["apples are red", "bananas are yellow", "cherries are red"],
                                          HashingEmbeddings(dim=64), metadatas=[{"c": "r"}, {"c": "y"}, {"c": "r"}],
                                          ids=["a", "b", "c"])
    scored = store.similarity_search_with_relevance_scores("red apples", k=2)
    assert all(0 <= s <= 1 for _, s in scored)
    assert [d.id for d in store.similarity_search("fruit", k=3, filter={"c": "y"})] == ["b"]
    assert len(store.max_marginal_relevance_search("red", k=2, fetch_k=3)) == 2
    for search_type, kwargs in [("similarity", {"k": 2}), ("mmr", {"k": 2}),
                                ("similarity_score_threshold", {"score_threshold": 0.0, "k": 2})]:
        docs = store.as_retriever(search_type=search_type, search_kwargs=kwargs).invoke("red")
        assert 1 <= len(docs) <= 2
    store.save_local(tmp_path / "store")
    again = RagtuneVectorStore.load_local(tmp_path / "store", HashingEmbeddings(dim=64))
    assert again.get_by_ids(["a", "zz"])[0].page_content == "apples are red"
    with pytest.raises(ValueError, match="needs the ids"):
        store.delete()
