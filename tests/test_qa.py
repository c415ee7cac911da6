"""One question–answer type: the pairs parse_faq, a JSONL file and generate_qa give go
unchanged into qrels, RAFT assembly and the experiment's split; the old types are
deprecated names for it."""

from __future__ import annotations

import json

import pytest
from corpora import python_docs

import ragtune
from ragtune import RecursiveChunker
from ragtune.cli.qa_input import read_qa_jsonl
from ragtune.datasets import parse_faq
from ragtune.evaluate import build_qrels, relevant_chunks
from ragtune.experiment.split import split_pairs
from ragtune.qa import QAPair
from ragtune.raft import assemble, chunk_id, generate_qa


@pytest.fixture(scope="module")
def faq():
    docs = {k: v for k, v in python_docs().items() if k.startswith("faq/")}
    chunks = [c for d in RecursiveChunker(chunk_size=1000, chunk_overlap=100).split_many(
        list(docs.values()), sources=list(docs)) for c in d]
    pairs = [p for name, text in docs.items() for p in parse_faq(text, source=name)]
    return docs, chunks, pairs


def test_one_type_everywhere(faq):
    docs, chunks, pairs = faq
    assert ragtune.QAPair is QAPair and ragtune.evaluate.QAPair is QAPair and ragtune.raft.QAPair is QAPair
    assert all(type(p) is QAPair and p.located and p.id for p in pairs) and len(pairs) >= 170
    qrels = build_qrels(pairs, chunks)
    data = assemble(chunks, [p for p in pairs if p.id in qrels], p=1.0, seed=0, verify_quotes="off")
    # The RAFT oracles are exactly the chunks the qrels judge relevant: one rule.
    assert {e.id: set(e.metadata["oracle_ids"]) for e in data.examples} == {q: set(r) for q, r in qrels.items()}
    train, test = split_pairs(pairs, test_fraction=0.2)
    assert {p.source for p in train}.isdisjoint({p.source for p in test})


def test_named_oracles_win_over_the_answer_text(faq):
    _, chunks, pairs = faq
    other = chunk_id(chunks[3])
    pair = QAPair(pairs[0].question, pairs[0].answer, id="named", oracle_ids=[other])
    assert [chunk_id(c) for c in relevant_chunks(pair, chunks)] == [other]
    assert build_qrels([pair], chunks) == {"named": {other: 1}}


def test_generated_pairs_carry_their_oracle_and_final_answer():
    chunks = RecursiveChunker(chunk_size=100, chunk_overlap=0).split("Tea is brewed hot.", source="t.md")

    def llm(prompt: str) -> str:
        if prompt.startswith("Question:"):
            return "It says ##begin_quote##Tea is brewed hot.##end_quote## <ANSWER>: hot"
        return "1. How is tea brewed?"

    (pair,) = generate_qa(chunks, llm, questions_per_chunk=1)
    assert pair == QAPair("How is tea brewed?", "hot", source="t.md", id="t.md#0:q0", oracle_ids=("t.md#0",),
                          cot_answer="It says ##begin_quote##Tea is brewed hot.##end_quote## <ANSWER>: hot")


def test_json_round_trip_and_the_command_lines_reader(faq, tmp_path):
    _, _, pairs = faq
    generated = QAPair("q?", source="a.md", id="x", oracle_ids=["a.md#0"], cot_answer="so <ANSWER>: yes")
    for pair in pairs[:20] + [generated]:
        assert QAPair.from_dict(json.loads(json.dumps(pair.to_dict()))) == pair
    path = tmp_path / "qa.jsonl"
    rows = [p.to_dict() for p in pairs[:5]] + [{"question": "Extra?", "answer": "Kept.", "notes": "ignored"}]
    path.write_text("\n".join(json.dumps(r) for r in rows) + "\n", encoding="utf-8")
    assert read_qa_jsonl(path) == pairs[:5] + [QAPair("Extra?", "Kept.")]
    with pytest.raises(ValueError, match=r"unknown keys \['anwser'\]"):
        QAPair.from_dict({"question": "q", "anwser": "typo"})
    with pytest.raises(ValueError, match="has no '<ANSWER>:'"):
        QAPair("q", cot_answer="no final answer here")


def test_offsets_without_a_source_refer_to_unnamed_chunks():
    doc = "Why?\n----\n\nBecause tea is brewed.\n\nHow?\n----\n\nBy pouring.\n"
    pairs = parse_faq(doc)
    assert pairs[0].source is None and pairs[0].id is None and doc[pairs[0].start:pairs[0].end] == pairs[0].answer
    chunks = RecursiveChunker(chunk_size=30, chunk_overlap=0).split(doc)
    found = relevant_chunks(pairs[1], chunks)
    assert [c.text for c in found] == ["How?\n----\n\nBy pouring."]


def test_the_old_names_are_deprecated_and_give_the_one_type():
    with pytest.deprecated_call(match="QAItem is now ragtune.qa.QAPair"):
        from ragtune.raft import QAItem

        item = QAItem("q?", ["d#0"], answer="a", id="i")
    assert item == QAPair("q?", "a", id="i", oracle_ids=("d#0",))
    with pytest.deprecated_call(match="FAQItem is now ragtune.qa.QAPair"):
        from ragtune.datasets import FAQItem
    assert FAQItem is QAPair
    with pytest.deprecated_call(match="parse_faq returns QAPair objects"):
        from ragtune.evaluate import pairs_from_faq

        assert pairs_from_faq(parse_faq("Why?\n----\n\nBecause.\n", source="f")) == parse_faq(
            "Why?\n----\n\nBecause.\n", source="f")


def test_numpy_offsets_and_an_empty_question_list():
    import numpy as np

    from ragtune.raft import assemble

    pair = QAPair("Why?", "Because.", source="f.md", start=np.int64(3), end=np.int32(11), question_start=np.int64(0))
    assert (pair.start, pair.end, pair.question_start) == (3, 11, 0) and type(pair.start) is int
    chunks = RecursiveChunker(chunk_size=100, chunk_overlap=0).split("Tea is brewed.", source="t.md")
    assert len(assemble(chunks, [])) == 0
    with pytest.deprecated_call():
        from ragtune.raft import QAItem

        assert QAItem("q?", ["t.md#0"]).oracle_ids == ("t.md#0",)  # QAItem never required an answer
