"""The advisor, case by case: the usual decision-table scenarios, each input's
effect, measurements, contradictions and bad input."""

from __future__ import annotations

import pytest

import ragtune
from ragtune.advisor import OPTIONS, Situation, advise

SCENARIOS = {
    # a support bot over docs that change with every release
    "support bot": (dict(knowledge_changes="weekly", needs_citations=True, labelled_examples=50,
                         hallucination_cost="medium", style="some", corpus_tokens=5_000_000, queries_per_day=2000),
                    "rag"),
    # medical coding: a strict output schema, stable codes, thousands of labelled examples
    "medical coding": (dict(knowledge_changes="yearly", needs_citations=False, labelled_examples=5000,
                            hallucination_cost="high", style="strict", domain_vocabulary=True), "fine_tuning"),
    # a financial analyst: house style and today's filings
    "financial analyst": (dict(knowledge_changes="daily", needs_citations=True, labelled_examples=2000,
                               style="strict", hallucination_cost="high", corpus_tokens=20_000_000,
                               queries_per_day=500), "hybrid"),
    # one 200-page handbook (~100k tokens) queried a few times a day
    "handbook": (dict(corpus_tokens=100_000, queries_per_day=5, knowledge_changes="yearly", needs_citations=False),
                 "long_context"),
    # a latency budget under 200 ms
    "latency": (dict(latency_budget_ms=150), "fine_tuning"),
    # no documents, light tone requirements: a better prompt first
    "tone only": (dict(corpus_tokens=0, style="some", labelled_examples=30), "prompt_engineering"),
}


@pytest.mark.parametrize("name", SCENARIOS)
def test_decision_table_scenarios(name):
    inputs, expected = SCENARIOS[name]
    rec = advise(**inputs)
    assert rec.choice == expected, rec.explain()
    assert rec.reasons and all(r.effect_on(expected) > 0 for r in rec.reasons)
    assert all(r.input in inputs or r.input.startswith(("knowledge need", "behaviour need")) for r in rec.reasons)
    assert rec.next_steps and 0 < rec.confidence <= 1
    assert rec.label in rec.explain()


def test_reasons_name_the_inputs_that_caused_them():
    rec = advise(knowledge_changes="daily", needs_citations=True)
    assert [r.input for r in rec.reasons] == ["knowledge_changes", "needs_citations"]
    assert rec.reasons[0].value == "daily" and "training run" in rec.reasons[0].text
    assert "knowledge_changes='daily'" in str(rec.reasons[0])


@pytest.mark.parametrize("inputs, favoured, disfavoured", [
    (dict(knowledge_changes="daily"), "rag", "fine_tuning"),
    (dict(knowledge_changes="never"), "fine_tuning", None),
    (dict(needs_citations=True), "rag", "fine_tuning"),
    (dict(labelled_examples=20), None, "fine_tuning"),
    (dict(labelled_examples=20_000), "fine_tuning", None),
    (dict(latency_budget_ms=100), "fine_tuning", "long_context"),
    (dict(style="strict"), "fine_tuning", "prompt_engineering"),
    (dict(style="some"), "prompt_engineering", None),
    (dict(private_data=True), "rag", "fine_tuning"),
    (dict(domain_vocabulary=True), "fine_tuning", None),
    (dict(corpus_tokens=10_000_000), "rag", "long_context"),
    (dict(corpus_tokens=0), "prompt_engineering", "rag"),
])
def test_each_input_moves_the_scores_its_way(inputs, favoured, disfavoured):
    neutral = advise().scores
    scores = advise(**inputs).scores
    if favoured:
        assert scores[favoured] > neutral[favoured]
    if disfavoured:
        assert scores[disfavoured] < neutral[disfavoured]


def test_nothing_known_means_no_confidence():
    rec = advise()
    assert rec.confidence == 0 and rec.choice == "rag"  # "when in doubt, start with RAG"
    assert len(rec.missing) == 8


def test_unknown_inputs_lower_the_confidence():
    full = advise(**SCENARIOS["support bot"][0], latency_budget_ms=2000)
    partial = advise(knowledge_changes="weekly", needs_citations=True)
    assert full.choice == partial.choice == "rag"
    assert full.confidence > partial.confidence
    assert "latency_budget_ms" in partial.missing and not full.missing


def test_contradictory_inputs_are_named_and_lower_the_confidence():
    rec = advise(knowledge_changes="daily", latency_budget_ms=150, labelled_examples=20)
    assert (
        rec.conflicts
        and "knowledge_changes='daily'" in rec.conflicts[0]
        and "latency_budget_ms=150" in rec.conflicts[0]
    )
    assert rec.confidence_label == "low"
    assert any(r.input == "latency_budget_ms" for r in rec.against)
    assert "Conflicting inputs" in rec.explain()
    # citations vs private-data-free fine-tuning wishes: strict style with daily changes → hybrid, still named
    mixed = advise(knowledge_changes="daily", style="strict", labelled_examples=3000)
    assert mixed.choice == "hybrid"


def test_costs_decide_between_long_context_and_rag():
    few = advise(corpus_tokens=100_000, queries_per_day=5)
    many = advise(corpus_tokens=100_000, queries_per_day=50_000)
    assert few.choice == "long_context" and many.choice != "long_context"
    volume_reason = next(r for r in many.against + many.reasons if r.input == "queries_per_day")
    assert "cross at" in volume_reason.text
    assert few.costs["long_context"] < few.costs["rag"] and many.costs["long_context"] > many.costs["rag"]
    assert "prompt_engineering" not in few.costs
    huge = advise(corpus_tokens=2_000_000, queries_per_day=1)
    assert huge.choice != "long_context" and "long_context" not in huge.costs


def test_measurements_outrank_opinions():
    base = dict(knowledge_changes="weekly", needs_citations=True, labelled_examples=1000)
    assert advise(**base, measured={"recall@5": 0.9}).scores["rag"] > advise(**base).scores["rag"]
    # Retrieval finds the passages but answers ignore them: the case RAFT was made for.
    rec = advise(**base, measured={"recall@5": 0.85, "faithfulness": 0.4})
    assert rec.choice == "hybrid" and any(r.input == "measured faithfulness" for r in rec.reasons)
    weak = advise(**base, measured={"recall@10": 0.3})
    assert weak.scores["rag"] < advise(**base).scores["rag"]
    # A fast measured retrieval halves RAG's latency penalty.
    slow = advise(latency_budget_ms=150).scores["rag"]
    fast = advise(latency_budget_ms=150, measured={"retrieval_ms": 8}).scores["rag"]
    assert fast == slow / 2
    assert "measure before you commit" in " ".join(advise(**base).next_steps).lower()


def test_situation_objects_dicts_and_keywords_agree():
    inputs = SCENARIOS["financial analyst"][0]
    assert advise(Situation(**inputs)).scores == advise(inputs).scores == advise(**inputs).scores
    assert ragtune.advise is advise
    rec = advise(**inputs)
    data = rec.to_dict()
    assert data["choice"] == "hybrid" and data["confidence_label"] == rec.confidence_label
    assert set(data["scores"]) == set(OPTIONS)
    assert "Recommendation('hybrid'" in repr(rec)


@pytest.mark.parametrize("inputs, error", [
    (dict(knowledge_changes="hourly"), "knowledge_changes must be one of"),
    (dict(needs_citations="yes"), "True, False or None"),
    (dict(labelled_examples=-5), "int >= 0"),
    (dict(labelled_examples=2.5), "int >= 0"),
    (dict(latency_budget_ms=float("nan")), "finite number"),
    (dict(style="loud"), "style must be one of"),
    (dict(context_window=0), "positive int"),
    (dict(measured={"precision@5": 0.5}), "unknown measurement"),
    (dict(measured={"recall@5": 1.5}), "between 0 and 1"),
    (dict(measured={"recall@5": float("nan")}), "finite number"),
    (dict(measured=[0.5]), "must be a dict"),
    (dict(favourite_colour="blue"), "unexpected keyword"),
])
def test_bad_inputs_are_refused(inputs, error):
    with pytest.raises((ValueError, TypeError), match=error):
        advise(**inputs)


def test_situation_and_keywords_together_are_refused():
    with pytest.raises(TypeError, match="not both"):
        advise(Situation(), style="strict")
    with pytest.raises(TypeError, match="Situation"):
        advise(42)  # type: ignore[arg-type]


def test_measured_answers_credit_the_best_arm_and_say_when_nothing_beat_the_base_model():
    helped = advise(measured={"answer_f1[base]": 0.20, "answer_f1[rag]": 0.41, "answer_f1[finetune]": 0.25,
                              "answer_f1_gain_low[rag]": 0.12, "answer_f1_gain_low[finetune]": -0.01})
    assert helped.choice == "rag" and any(r.input == "measured answer F1 [rag]" for r in helped.reasons)
    # The measured run of benchmarks/compare_faq.py with SmolLM2-135M: no arm beat the closed-book model.
    flat = advise(needs_citations=True, knowledge_changes="monthly", measured={
        "answer_f1[base]": 0.193, "answer_f1[prompt]": 0.169, "answer_f1[rag]": 0.183, "answer_f1[finetune]": 0.165,
        "answer_f1[raft+rag]": 0.153, "answer_f1_gain_low[rag]": -0.028, "answer_f1_gain_low[prompt]": -0.039,
        "answer_f1_gain_low[finetune]": -0.043, "answer_f1_gain_low[raft+rag]": -0.074, "recall@4": 0.80})
    assert flat.choice == "rag"
    caveat = [r for r in flat.against if r.input == "measured answer F1 [base]"]
    assert caveat and "no path improved answers" in str(caveat[0])
    assert "rag scored the highest" not in flat.explain()
