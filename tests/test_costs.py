"""The cost model: every figure follows from the prices and the workload, by hand."""

from __future__ import annotations

import math

import matplotlib
import pytest

from ragtune.costs import PATHS, CostModel, Prices, Workload

matplotlib.use("Agg")


def test_default_prices_are_the_documented_ones():
    p = Prices()
    assert (p.embedding_per_mtok, p.training_per_mtok, p.gpu_hour) == (0.02, 3.00, 5.00)
    assert (p.input_per_mtok, p.output_per_mtok) == (0.15, 0.60)
    assert math.isnan(p.expert_hour)
    assert p.labelling_hours_per_example * 500 == pytest.approx(70)  # 40-100 hours per 500 examples


def test_per_query_costs_by_hand():
    w = Workload(corpus_tokens=100_000, chunk_tokens=200, k=4, question_tokens=40, answer_tokens=100,
                 system_tokens=60, few_shot_tokens=500)
    p = Prices(input_per_mtok=1.0, output_per_mtok=2.0, finetuned_input_per_mtok=3.0,
               finetuned_output_per_mtok=4.0, embedding_per_mtok=0.5)
    m = CostModel(w, p)
    rag_prompt = 60 + 4 * 200 + 40
    assert m.path("rag").per_query == pytest.approx(rag_prompt * 1e-6 + 100 * 2e-6 + 40 * 0.5e-6)
    assert m.path("long_context").per_query == pytest.approx((60 + 100_000 + 40) * 1e-6 + 100 * 2e-6)
    assert m.path("fine_tuning").per_query == pytest.approx((60 + 40) * 3e-6 + 100 * 4e-6)
    assert m.path("hybrid").per_query == pytest.approx(rag_prompt * 3e-6 + 100 * 4e-6 + 40 * 0.5e-6)
    assert m.path("prompt_engineering").per_query == pytest.approx((60 + 500 + 40) * 1e-6 + 100 * 2e-6)


def test_fixed_costs_training_and_retraining_by_hand():
    w = Workload(corpus_tokens=10_000_000, training_examples=2_000, tokens_per_example=400, epochs=3,
                 updates_per_month=4, changed_fraction=0.1, retrains_per_month=1.0, horizon_months=10)
    p = Prices(embedding_per_mtok=0.02, training_per_mtok=3.0, rag_infra_per_month=50, expert_hour=100.0,
               storage_per_gb_month=0.1)
    m = CostModel(w, p)
    run = 2_000 * 400 * 3 * 3.0 / 1e6
    assert m.training_run() == {"dollars": pytest.approx(run), "gpu_hours": 0.0, "labelling_hours": pytest.approx(280)}
    rag = m.path("rag")
    assert rag.parts["embed_corpus"] == pytest.approx(10 * 0.02 / 10)
    assert rag.parts["reembed_updates"] == pytest.approx(1.0 * 0.02 * 4)
    # 10M tokens in 256-token chunks: 39,063 × (384×4 vector + 2×16×4 links + 64) bytes + 4 bytes/token of text
    assert m.storage_bytes() == 39_063 * (384 * 4 + 128 + 64) + 40_000_000
    assert rag.parts["storage"] == pytest.approx(m.storage_bytes() / 1e9 * 0.1)
    assert rag.fixed_per_month == pytest.approx(0.02 + 0.08 + 50 + rag.parts["storage"])
    # Fine-tuning alone holds the facts: it retrains at every update (4/month), the hybrid at its cadence (1/month).
    ft = m.path("fine_tuning")
    assert ft.fixed_per_month == pytest.approx(run / 10 + run * 4.0 + 280 * 100 / 10)
    hybrid = m.path("hybrid")
    assert hybrid.fixed_per_month == pytest.approx(rag.fixed_per_month + run / 10 + run * 1.0 + 280 * 100 / 10)
    lora = CostModel(Workload(training="lora", training_examples=1000, tokens_per_example=500, epochs=3),
                     Prices(lora_tokens_per_second=1500, gpu_hour=5.0))
    hours = 1000 * 500 * 3 / 1500 / 3600
    assert lora.training_run()["gpu_hours"] == pytest.approx(hours)
    assert lora.training_run()["dollars"] == pytest.approx(hours * 5.0)


def test_break_even_is_where_the_lines_cross():
    m = CostModel(Workload(corpus_tokens=100_000))
    volume = m.break_even("long_context", "rag")
    lc, rag = m.path("long_context"), m.path("rag")
    assert lc.monthly(volume) == pytest.approx(rag.monthly(volume))
    assert m.cheapest(volume * 0.5, among=["rag", "long_context"]) == "long_context"
    assert m.cheapest(volume * 2, among=["rag", "long_context"]) == "rag"
    assert m.break_even("rag", "rag") is None
    # A corpus beyond the window: long context is infeasible, has no break-even and no cost.
    big = CostModel(Workload(corpus_tokens=1_000_000, context_window=128_000))
    assert not big.path("long_context").feasible and "does not fit" in big.path("long_context").why_not
    assert big.break_even("long_context", "rag") is None
    assert big.path("long_context").monthly(10) == math.inf
    assert big.cheapest(1000, among=["rag", "long_context"]) == "rag"


def test_compare_curve_plot_and_repr():
    m = CostModel()
    rows = m.compare(10_000)
    assert [r["path"] for r in rows] == sorted(PATHS, key=lambda n: m.path(n).monthly(10_000))
    assert len(m.curve([10, 100, 1000])) == 3 * len(PATHS)
    ax = m.plot([10, 1000, 100_000])
    assert ax.get_xscale() == "log" and len(ax.get_lines()) == 4  # long context does not fit 1M tokens
    assert "CostModel(corpus=1,000,000 tokens" in repr(m)
    assert set(m.to_dict()["paths"]) == set(PATHS)


@pytest.mark.parametrize("make, error", [
    (lambda: Prices(input_per_mtok=-1), "finite number >= 0"),
    (lambda: Prices(gpu_hour=float("nan")), "finite number >= 0"),
    (lambda: Prices(embedding_per_mtok="0.02"), "must be a number"),
    (lambda: Prices(lora_tokens_per_second=0), "> 0"),
    (lambda: Workload(k=-1), "int >= 0"),
    (lambda: Workload(corpus_tokens=1.5), "int >= 0"),
    (lambda: Workload(changed_fraction=2), "share of the corpus"),
    (lambda: Workload(training="cloud"), "hosted' or 'lora"),
    (lambda: Workload(horizon_months=0), "at least 1"),
    (lambda: Workload(updates_per_month=float("inf")), "finite number"),
    (lambda: CostModel().path("agents"), "unknown path"),
    (lambda: CostModel().compare(-1), "queries_per_month"),
    (lambda: CostModel(workload={"k": 3}), "Workload"),
])
def test_bad_prices_and_workloads_are_refused(make, error):
    with pytest.raises((ValueError, TypeError), match=error):
        make()
