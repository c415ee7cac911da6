"""One owner per concept: the LLM call, the citation format and the index defaults
each have one definition that every user of them reads."""

from __future__ import annotations

import inspect

import pytest
from langchain_core.language_models import FakeListChatModel
from langchain_core.messages import AIMessage

from ragtune import HashingEmbeddings, Index, RecursiveChunker, _core
from ragtune.evaluate import LLMJudge
from ragtune.llm import as_completion, reply_text


def test_one_way_to_call_an_llm_for_raft_and_the_judge():
    chat = FakeListChatModel(responses=['{"statements": ["Paris is the capital."]}'])
    assert as_completion(chat)("any prompt") == '{"statements": ["Paris is the capital."]}'
    assert LLMJudge(chat).statements("Capital?", "Paris.") == ["Paris is the capital."]
    blocks = AIMessage(content=[{"type": "text", "text": "Hello "}, {"type": "text", "text": "world"}])
    assert reply_text(blocks) == "Hello world"
    with pytest.raises(TypeError, match="callable prompt -> str or a LangChain Runnable"):
        as_completion(42)
    import ragtune.evaluate.judges as judges
    import ragtune.raft.generate as generate

    assert "as_completion" in inspect.getsource(generate) and "as_completion" in inspect.getsource(judges)
    assert not hasattr(generate, "_as_completion")


def test_a_chunk_and_its_hit_cite_the_same_way():
    text = "Line one.\nLine two.\n\nLine four is here."
    chunks = RecursiveChunker(chunk_size=20, chunk_overlap=0).split(text, source="notes.md")
    index = Index(embedding=HashingEmbeddings(dim=32))
    index.add(chunks)
    hits = {h.text: h for h in index.get(index.ids())}
    assert [hits[c.text].citation() for c in chunks] == [c.citation() for c in chunks]
    assert chunks[-1].citation() == "notes.md:4-4"


def test_index_defaults_come_from_the_core():
    signature = inspect.signature(Index)
    for name in ("m", "ef_construction", "ef_search", "exact_below", "bm25_k1", "bm25_b"):
        assert signature.parameters[name].default == _core.INDEX_DEFAULTS[name], name
    assert _core.BM25Index().k1 == pytest.approx(_core.INDEX_DEFAULTS["bm25_k1"])


def test_one_table_of_safetensors_dtypes():
    from ragtune.lora import units

    assert units.DTYPE_SIZES == _core.SAFETENSORS_DTYPES and units.DTYPE_SIZES["BF16"] == 2
    assert set(units.FLOAT_TYPES) == {"F32", "F16", "BF16"} <= set(units.DTYPE_SIZES)
    with pytest.raises(ValueError, match="unknown safetensors dtype 'F12' \\(expected one of BOOL, U8"):
        _core.CheckpointWriter("/nonexistent/out", [("a", "F12", [1])], 100, {})
