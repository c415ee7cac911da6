"""Combining adapters and unmerging, on SmolLM2-135M with PEFT-trained adapters:
the exact weighted sum where PEFT's ``linear`` is not, PEFT loading what
``combine_adapters`` writes, and the pruning methods' math."""

from __future__ import annotations

import numpy as np
import pytest

from ragtune import _core
from ragtune.lora import LoraAdapter, combine_adapters, merge, unmerge
from ragtune.lora.combine import combine_deltas, magnitude_prune, random_prune, tensor_rng

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning", "ignore::FutureWarning")

MODULE = "model.layers.3.self_attn.q_proj"


def delta(adapter: LoraAdapter, module: str = MODULE) -> np.ndarray:
    m = adapter.modules[module]
    return (m.B.astype(np.float64) @ m.A) * m.scale


def size_of_terms(adapter: LoraAdapter, module: str = MODULE) -> np.ndarray:
    """Σ_k |B_ik|·|A_kj|·s: the scale of the rounding errors a delta can carry."""
    m = adapter.modules[module]
    return (np.abs(m.B.astype(np.float64)) @ np.abs(m.A)) * m.scale


def assert_close_to(values: np.ndarray, reference: np.ndarray, magnitude: np.ndarray) -> None:
    """Within fp32 rounding of the terms summed (cancellation makes plain relative error meaningless)."""
    assert np.all(np.abs(values - reference) <= 1e-6 * magnitude + 1e-30)


def test_weighted_linear_merge_is_the_exact_weighted_sum(models, smollm2, tmp_path):
    first, second = LoraAdapter.load(models("plain")), LoraAdapter.load(models("second"))
    merge(smollm2, [models("plain"), models("second")], tmp_path / "out", weights=[0.7, -0.3], progress=False)
    base = _core.SafetensorsCheckpoint(str(smollm2)).read_float32(MODULE + ".weight").astype(np.float64)
    merged = _core.SafetensorsCheckpoint(str(tmp_path / "out")).read_float32(MODULE + ".weight")
    d1, d2 = delta(first), delta(second)
    assert_close_to(merged, base + 0.7 * d1 - 0.3 * d2, np.abs(base) + size_of_terms(first) + size_of_terms(second))


def test_cat_adapter_loads_in_peft_and_equals_the_direct_merge(models, smollm2, tmp_path):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    report = combine_adapters([models("plain"), models("second")], tmp_path / "cat", weights=[0.7, 0.3],
                              method="cat", progress=False)
    assert report.rank == 16 and report.max_relative_error == 0
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(str(smollm2)), str(tmp_path / "cat"))
    model.merge_and_unload().save_pretrained(str(tmp_path / "peft"))
    merge(smollm2, [models("plain"), models("second")], tmp_path / "ours", weights=[0.7, 0.3], progress=False)
    ours, peft = (_core.SafetensorsCheckpoint(str(tmp_path / p)) for p in ("ours", "peft"))
    base = _core.SafetensorsCheckpoint(str(smollm2))
    adapters = [LoraAdapter.load(models("plain")), LoraAdapter.load(models("second"))]
    for name in ours.names:
        module = name.removesuffix(".weight")
        if module not in adapters[0].modules:
            assert ours.read(name).tobytes() == peft.read(name).tobytes(), name
            continue
        magnitude = np.abs(base.read_float32(name)) + sum(w * size_of_terms(a, module)
                                                          for a, w in zip(adapters, (0.7, 0.3)))
        assert_close_to(ours.read_float32(name), peft.read_float32(name).astype(np.float64), 2 * magnitude)


def test_peft_linear_combination_has_cross_terms_ours_does_not(models, smollm2):
    """PEFT's add_weighted_adapter('linear') mixes A and B separately: (Σ√w B)(Σ√w A) ≠ Σ w·B·A."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(str(smollm2)), str(models("plain")),
                                      adapter_name="a")
    model.load_adapter(str(models("second")), adapter_name="b")
    model.add_weighted_adapter(["a", "b"], [0.5, 0.5], "lin", combination_type="linear")
    model.add_weighted_adapter(["a", "b"], [0.5, 0.5], "cat", combination_type="cat")
    layer = model.base_model.model.model.layers[3].self_attn.q_proj
    exact = 0.5 * delta(LoraAdapter.load(models("plain"))) + 0.5 * delta(LoraAdapter.load(models("second")))
    peft_linear = layer.get_delta_weight("lin").detach().double().numpy()
    peft_cat = layer.get_delta_weight("cat").detach().double().numpy()
    assert np.linalg.norm(peft_cat - exact) <= 1e-5 * np.linalg.norm(exact)
    assert np.linalg.norm(peft_linear - exact) > 0.1 * np.linalg.norm(exact)  # PEFT's documented deviation


def test_svd_adapter_is_the_best_rank_k_approximation(models, smollm2, tmp_path):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    report = combine_adapters([models("plain"), models("second")], tmp_path / "svd", method="svd", rank=4,
                              progress=False)
    assert report.rank == 4 and 0 < report.max_relative_error < 1
    combined = LoraAdapter.load(tmp_path / "svd")
    exact = delta(LoraAdapter.load(models("plain"))) + delta(LoraAdapter.load(models("second")))
    singular = np.linalg.svd(exact, compute_uv=False)
    error = np.linalg.norm(delta(combined) - exact)
    assert error == pytest.approx(np.sqrt(np.sum(singular[4:] ** 2)), rel=1e-4)  # Eckart-Young
    PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(str(smollm2)), str(tmp_path / "svd"))


@pytest.mark.parametrize("method", ["ties", "dare_ties", "magnitude_prune", "dare_linear"])
def test_pruning_methods_merge_what_combine_deltas_computes(models, smollm2, tmp_path, method):
    adapters = [LoraAdapter.load(models("plain")), LoraAdapter.load(models("second"))]
    merge(smollm2, [a.path for a in adapters], tmp_path / "out", weights=[1.0, 0.5], method=method, density=0.4,
          seed=7, progress=False)
    merged = _core.SafetensorsCheckpoint(str(tmp_path / "out")).read_float32(MODULE + ".weight")
    base = _core.SafetensorsCheckpoint(str(smollm2)).read_float32(MODULE + ".weight")
    deltas = [a.modules[MODULE].delta_core() for a in adapters]
    combined = combine_deltas(deltas, [1.0, 0.5], method=method, density=0.4, seed=7, name=MODULE + ".weight")
    np.testing.assert_array_equal(merged, base + combined)
    # The adapter path gives the same combination (before its rank truncation).
    report = combine_adapters([a.path for a in adapters], tmp_path / "ad", weights=[1.0, 0.5], method=method,
                              density=0.4, seed=7, rank=576, progress=False)
    assert report.max_relative_error < 1e-5
    assert np.abs(delta(LoraAdapter.load(tmp_path / "ad")) - combined).max() < 1e-5 * np.abs(combined).max()


def test_ties_and_dare_math_on_small_examples():
    a = np.array([[3.0, -1.0, 0.5, 2.0]], np.float32)
    b = np.array([[-1.0, -2.0, 1.0, 4.0]], np.float32)
    np.testing.assert_array_equal(magnitude_prune(a, 0.5), [[3.0, 0.0, 0.0, 2.0]])
    # TIES (density 1): sign elected by the sum, then the mean of the agreeing weighted entries.
    ties = combine_deltas([a, b], [1.0, 1.0], method="ties", density=1.0)
    np.testing.assert_allclose(ties, [[3.0, -1.5, 0.75, 3.0]])
    # Three task vectors where the sum and the vote disagree on the sign of the first entry.
    c = np.array([[-1.0, 1.0, 1.0, 1.0]], np.float32)
    total = combine_deltas([a, b, c], [1.0] * 3, method="ties", density=1.0)
    frequency = combine_deltas([a, b, c], [1.0] * 3, method="ties", density=1.0, majority_sign="frequency")
    assert total[0, 0] == 3.0 and frequency[0, 0] == -1.0
    big = np.ones((200, 300), np.float32)
    pruned = random_prune(big, 0.25, tensor_rng(3, "w"))
    kept = pruned != 0
    assert abs(kept.mean() - 0.25) < 0.01 and np.all(pruned[kept] == 4.0)  # rescaled by 1/density
    again = random_prune(big, 0.25, tensor_rng(3, "w"))
    assert np.array_equal(pruned, again)  # seeded per tensor
    assert not np.array_equal(pruned, random_prune(big, 0.25, tensor_rng(3, "v")))


def test_unmerge_restores_the_base(models, smollm2, tmp_path):
    merge(smollm2, models("plain"), tmp_path / "merged", progress=False)
    report = unmerge(tmp_path / "merged", models("plain"), tmp_path / "restored", progress=False)
    assert report.merged == len(LoraAdapter.load(models("plain")).modules)
    base, restored = (_core.SafetensorsCheckpoint(str(p)) for p in (smollm2, tmp_path / "restored"))
    terms = size_of_terms(LoraAdapter.load(models("plain")))
    original = base.read_float32(MODULE + ".weight")
    assert_close_to(restored.read_float32(MODULE + ".weight"), original.astype(np.float64),
                    2 * (np.abs(original) + terms))
    with pytest.raises(ValueError, match="cannot be unmerged"):
        unmerge(tmp_path / "merged", models("dora"), tmp_path / "x", progress=False)
    with pytest.raises(ValueError, match="modules_to_save .* cannot be unmerged"):
        unmerge(tmp_path / "merged", models("embedding"), tmp_path / "x", progress=False)
    assert not (tmp_path / "x").exists()


def test_combining_refuses_dora_and_mismatched_adapters(models, tmp_path):
    with pytest.raises(ValueError, match="DoRA"):
        combine_adapters([models("plain"), models("dora")], tmp_path / "x", progress=False)
    with pytest.raises(ValueError, match="needs density"):
        combine_adapters([models("plain"), models("second")], tmp_path / "x", method="ties", progress=False)
    with pytest.raises(ValueError, match="method='bogus' is not one of"):
        combine_adapters([models("plain")], tmp_path / "x", method="bogus", progress=False)
    with pytest.raises(ValueError, match="weights has 1 entries for 2 adapters"):
        combine_adapters([models("plain"), models("second")], tmp_path / "x", weights=[1.0], progress=False)
    assert not (tmp_path / "x").exists()
