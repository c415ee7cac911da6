"""The default embedder end to end: real MiniLM vectors, real FAQ questions."""

import pytest
from corpora import PYTHON_DOCS

from ragtune import Index, MiniLMEmbeddings
from ragtune.datasets import parse_faq


def test_minilm_index_answers_real_faq_questions():
    items = parse_faq((PYTHON_DOCS / "faq" / "programming.rst.txt").read_text(encoding="utf-8"))[:40]
    index = Index()  # the default: MiniLM, offline
    assert isinstance(index.embedding, MiniLMEmbeddings)
    with pytest.warns(UserWarning, match="longer than the 256 tokens"):  # 1000 characters can exceed the window
        index.add([i.answer[:1000] for i in items], ids=[str(n) for n in range(len(items))])
    assert 0 < index.stats()["over_window"] < len(items)
    assert index.dim == 384
    hits = index.search_many([i.question for i in items], k=5, mode="dense")
    found = sum(str(n) in {h.id for h in found} for n, found in enumerate(hits))
    assert found >= 0.7 * len(items)
    vectors = index.vectors(["0", "1"])
    assert abs(float(vectors[0] @ vectors[0]) - 1.0) < 1e-4  # unit length
    embedded = index.embedding.embed_documents(["a question"])  # LangChain's interface
    assert len(embedded) == 1 and len(embedded[0]) == 384
