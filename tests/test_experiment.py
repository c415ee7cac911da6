"""The head-to-head experiment's mechanics on a tiny random model (SmolLM2's tokenizer)
and the real Python FAQ: every arm runs on the same held-out questions, the split
leaks nothing, intervals are computed, a rerun resumes, the advisor gets the numbers."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from corpora import PYTHON_DOCS, python_docs
from finetune_models import tiny_llama

from ragtune.datasets import parse_faq
from ragtune.embeddings import HashingEmbeddings
from ragtune import QAPair
from ragtune.experiment import compare, split_pairs

BUDGET = dict(embedding=HashingEmbeddings(dim=64), max_test_questions=5, max_new_tokens=6, threads=2,
              finetune_options={"max_steps": 2, "max_seq_len": 512}, progress=False)


@pytest.fixture(scope="module")
def faq():
    docs = {k: v for k, v in python_docs().items() if k.startswith("faq/")}
    pairs = [p for name, text in docs.items() for p in parse_faq(text, source=name)]
    return docs, pairs


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, smollm2):
    return tiny_llama(tmp_path_factory.mktemp("experiment") / "llama", smollm2)


def test_the_split_never_puts_a_test_answers_document_in_training(faq):
    docs, pairs = faq
    train, test = split_pairs(pairs, test_fraction=0.2, seed=1)
    assert {p.source for p in train}.isdisjoint({p.source for p in test})
    assert len(train) + len(test) == len(pairs) and 0.1 < len(test) / len(pairs) < 0.35
    by_pair = split_pairs(pairs, test_fraction=0.2, by="pair", seed=1)
    assert abs(len(by_pair[1]) - 0.2 * len(pairs)) <= 1


def test_every_arm_answers_the_same_questions_and_a_rerun_resumes(tmp_path, faq, tiny):
    docs, pairs = faq
    result = compare(docs, pairs, generator=tiny, out=tmp_path / "exp", **BUDGET)
    assert [a.name for a in result.arms] == ["base", "prompt", "rag", "finetune", "raft+rag"]
    assert all(a.ran for a in result.arms)
    questions = [[r["id"] for r in a.rows] for a in result.arms]
    assert all(q == questions[0] for q in questions) and len(questions[0]) == 5
    assert set(result.split["train_sources"]).isdisjoint(result.split["test_sources"])
    assert result.notes and "blanked" in result.notes[0]
    rows = {r["arm"]: r for r in result.rows()}
    for name, row in rows.items():
        assert row["f1_low"] <= row["f1"] <= row["f1_high"] and row["latency_p50_s"] > 0
        assert row["cost_per_month"] > 0
    assert "grounding" in rows["rag"] and "grounding" not in rows["base"] and "recall" in rows["raft+rag"]
    assert rows["finetune"]["training_s"] > 0 and rows["raft+rag"]["adapter_mb"] > 0
    assert 0 <= result.retrieval["recall"] <= 1
    diff = result.difference("rag", "base")
    assert diff.low <= diff.mean <= diff.high

    measured = result.measurements()
    assert {"answer_f1[rag]", "answer_f1_gain_low[finetune]", f"recall@{result.retrieval['k']}"} <= set(measured)
    recommendation = result.recommend(knowledge_changes="monthly")
    assert any(r.input.startswith("measured answer F1") for r in recommendation.reasons + recommendation.against)

    # Resume: adapters and answers come from the folder, nothing is trained or generated again.
    adapter = tmp_path / "exp" / "adapters" / "qa" / "adapter_model.safetensors"
    answers = tmp_path / "exp" / "answers" / "rag.json"
    stamps = adapter.stat().st_mtime_ns, answers.stat().st_mtime_ns
    again = compare(docs, pairs, generator=tiny, out=tmp_path / "exp", **BUDGET)
    assert (adapter.stat().st_mtime_ns, answers.stat().st_mtime_ns) == stamps
    assert again.rows() == result.rows()
    saved = json.loads(again.save().read_text())
    assert saved["arms"][2]["rows"][0]["contexts"] and "scores" in saved["arms"][2]["rows"][0]
    with pytest.raises(ValueError, match="other settings"):
        compare(docs, pairs, generator=tiny, out=tmp_path / "exp", **(BUDGET | {"max_new_tokens": 7}))
    import matplotlib

    matplotlib.use("Agg")
    assert len(result.plot().axes) == 2


def test_long_context_runs_when_the_corpus_fits_and_a_chat_model_skips_training(tmp_path, tiny):
    from langchain_core.language_models import FakeListChatModel

    docs = {f"note{i}.txt": f"Fact {i}: the colour of box {i} is {c}.\n\nMore about box {i}: it is heavy."
            for i, c in enumerate(["red", "blue", "green", "black", "white", "pink"])}
    pairs = [QAPair(f"What colour is box {i}?", f"the colour of box {i} is {c}.")
             for i, c in enumerate(["red", "blue", "green", "black", "white", "pink"])]
    from ragtune.evaluate import LexicalJudge

    result = compare(docs, pairs, generator=tiny, arms=["base", "long_context"], chunk_size=60, chunk_overlap=0,
                     judge=LexicalJudge(), **(BUDGET | {"finetune_options": {}}))
    assert [a.ran for a in result.arms] == [True, True]
    scores = result.arm("long_context").rows[0]["scores"]
    assert {"f1", "exact_match", "grounding", "faithfulness", "answer_relevancy"} <= set(scores)
    hosted = compare(docs, pairs, generator=FakeListChatModel(responses=["blue"] * 50), arms=["rag", "finetune"],
                     chunk_size=60, chunk_overlap=0, out=tmp_path / "hosted", **(BUDGET | {"finetune_options": {}}))
    assert hosted.arm("rag").ran and not hosted.arm("finetune").ran
    exported = hosted.arm("finetune").training_data
    first = Path(exported).read_text(encoding="utf-8").splitlines()[0]
    assert json.loads(first)["messages"][-1]["role"] == "assistant"
    assert any("not run" in n for n in hosted.notes) and "finetune" in hosted.costs()
    assert {r["arm"]: r for r in hosted.rows()}["finetune"]["training_cost_usd"] > 0


def test_bad_input_is_refused_before_any_training(tmp_path, faq, tiny):
    docs, pairs = faq
    with pytest.raises(ValueError, match="unknown arm"):
        compare(docs, pairs, generator=tiny, arms=["base", "magic"], **BUDGET)
    with pytest.raises(ValueError, match="too few"):
        compare(docs, pairs[:3], generator=tiny, **BUDGET)
    with pytest.raises(ValueError, match="not found in any document"):
        compare(docs, pairs[:10] + [QAPair("Q?", "an answer that is nowhere in the docs")], generator=tiny, **BUDGET)
    bare = tmp_path / "bare"
    import shutil

    shutil.copytree(tiny, bare)
    config = json.loads((bare / "tokenizer_config.json").read_text())
    config.pop("chat_template", None)
    (bare / "tokenizer_config.json").write_text(json.dumps(config))
    for extra in bare.glob("chat_template.*"):
        extra.unlink()
    with pytest.raises(ValueError, match="no chat template"):
        compare(docs, pairs, generator=bare, out=tmp_path / "never", **BUDGET)
    assert not (tmp_path / "never").exists()


def test_compare_command(tmp_path, tiny):
    folder = PYTHON_DOCS / "faq"
    done = subprocess.run([sys.executable, "-m", "ragtune", "compare", str(folder), "--faq", "--generator", str(tiny),
                           "--embedder", "hashing", "--steps", "1", "--max-questions", "3", "--max-new-tokens", "4",
                           "--arms", "base", "rag", "finetune", "--threads", "2", "--out", str(tmp_path / "x"),
                           "--json"], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    report = json.loads(done.stdout)
    assert [r["arm"] for r in report["summary"]] == ["base", "rag", "finetune"]
    assert report["recommendation"] and (tmp_path / "x" / "comparison.json").is_file()
    bad = subprocess.run([sys.executable, "-m", "ragtune", "compare", str(folder), "--out", str(tmp_path / "y")],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "--faq" in bad.stderr
