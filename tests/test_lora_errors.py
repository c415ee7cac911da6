"""Bad input to ragtune.lora: every case raises a clear exception naming the problem,
and leaves no output behind. Small checkpoints written here with the safetensors package."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
from safetensors.numpy import save_file

from ragtune.lora import LoraAdapter, combine_adapters, merge

RNG = np.random.default_rng(0)


def make_base(folder, dtype=np.float32, **extra):
    folder.mkdir()
    tensors = {
        "model.layers.0.q_proj.weight": RNG.normal(size=(8, 6)).astype(dtype),
        "model.layers.0.q_proj.bias": RNG.normal(size=(8,)).astype(dtype),
        "model.layers.0.k_proj.weight": RNG.normal(size=(4, 6)).astype(dtype),
        "model.positions": np.arange(4, dtype=np.int32),
        **extra,
    }
    save_file(tensors, str(folder / "model.safetensors"), metadata={"format": "pt"})
    (folder / "config.json").write_text(json.dumps({"architectures": ["Nothing"], "tie_word_embeddings": False}))
    return folder


def make_adapter(folder, modules=None, config=None, dtype=np.float32):
    folder.mkdir()
    modules = modules or {"model.layers.0.q_proj": (8, 6)}
    tensors = {}
    for name, (out_features, in_features) in modules.items():
        tensors[f"base_model.model.{name}.lora_A.weight"] = RNG.normal(size=(2, in_features)).astype(dtype)
        tensors[f"base_model.model.{name}.lora_B.weight"] = RNG.normal(size=(out_features, 2)).astype(dtype)
    save_file(tensors, str(folder / "adapter_model.safetensors"))
    settings = {"peft_type": "LORA", "r": 2, "lora_alpha": 4, "target_modules": ["q_proj", "k_proj"]}
    settings.update(config or {})
    (folder / "adapter_config.json").write_text(json.dumps(settings))
    return folder


@pytest.fixture
def base(tmp_path):
    return make_base(tmp_path / "base")


@pytest.fixture
def adapter(tmp_path):
    return make_adapter(tmp_path / "adapter")


def leftovers(tmp_path):
    return sorted(p for p in os.listdir(tmp_path) if p not in ("base", "adapter", "other"))


def test_a_good_merge_of_the_small_model(base, adapter, tmp_path):
    report = merge(base, adapter, tmp_path / "out", progress=False)
    assert (report.merged, report.copied) == (1, 3)
    assert leftovers(tmp_path) == ["out"]


def test_pickle_adapters_are_refused_with_the_conversion(tmp_path, base):
    folder = tmp_path / "other"
    folder.mkdir()
    (folder / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", "r": 2, "lora_alpha": 4}))
    (folder / "adapter_model.bin").write_bytes(b"\x80\x04pickle")
    with pytest.raises(ValueError, match=r"adapter_model.bin, a pickle file .*\.save_pretrained"):
        merge(base, folder, tmp_path / "out", progress=False)
    assert leftovers(tmp_path) == []


@pytest.mark.parametrize("problem, match", [
    ("no_config", "has no adapter_config.json"),
    ("bad_json", "is not valid JSON"),
    ("not_lora", "peft_type is 'IA3'"),
    ("bad_rank", "r must be a positive number"),
    ("tokens", "trainable tokens"),
])
def test_broken_adapter_configs(tmp_path, base, problem, match):
    folder = make_adapter(tmp_path / "other")
    config = folder / "adapter_config.json"
    if problem == "no_config":
        config.unlink()
    elif problem == "bad_json":
        config.write_text("{not json")
    elif problem == "not_lora":
        config.write_text(json.dumps({"peft_type": "IA3"}))
    elif problem == "bad_rank":
        config.write_text(json.dumps({"peft_type": "LORA", "r": 0, "lora_alpha": 4}))
    else:
        config.write_text(json.dumps({"peft_type": "LORA", "r": 2, "lora_alpha": 4, "trainable_token_indices": [1]}))
    with pytest.raises((ValueError, FileNotFoundError), match=match):
        merge(base, folder, tmp_path / "out", progress=False)
    assert leftovers(tmp_path) == []


def test_shape_mismatch_names_module_and_tensor(tmp_path, base):
    folder = make_adapter(tmp_path / "other", {"model.layers.0.q_proj": (8, 5)})
    with pytest.raises(ValueError, match=r"'model.layers.0.q_proj' .* does not fit base tensor "
                                         r"'model.layers.0.q_proj.weight' of shape \(8, 6\)"):
        merge(base, folder, tmp_path / "out", progress=False)
    assert leftovers(tmp_path) == []


def test_missing_target_module(tmp_path, base):
    folder = make_adapter(tmp_path / "other", {"model.layers.0.v_proj": (8, 6)},
                          config={"target_modules": ["v_proj"]})
    with pytest.raises(ValueError, match="targets 'model.layers.0.v_proj', but the base checkpoint has no tensor"):
        merge(base, folder, tmp_path / "out", progress=False)


def test_rank_pattern_that_disagrees_with_the_file(tmp_path, base):
    folder = make_adapter(tmp_path / "other", config={"rank_pattern": {"q_proj": 4}})
    with pytest.raises(ValueError, match="rank 2 in the file but 4 by the config"):
        merge(base, folder, tmp_path / "out", progress=False)


def test_truncated_and_lying_base_files(tmp_path, adapter):
    truncated = make_base(tmp_path / "trunc")
    data = (truncated / "model.safetensors").read_bytes()
    (truncated / "model.safetensors").write_bytes(data[:-10])
    with pytest.raises(ValueError, match="not a valid safetensors file: .*(truncated|cover)"):
        merge(truncated, adapter, tmp_path / "out", progress=False)
    lying = tmp_path / "lying"
    lying.mkdir()
    header = json.dumps({"model.layers.0.q_proj.weight": {"dtype": "F32", "shape": [8, 6],
                                                          "data_offsets": [0, 100]}}).encode()
    (lying / "model.safetensors").write_bytes(len(header).to_bytes(8, "little") + header + bytes(100))
    with pytest.raises(ValueError, match="data_offsets span 100 bytes but dtype x shape needs 192"):
        merge(lying, adapter, tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


def test_non_float_target_and_unknown_dtype(tmp_path, adapter):
    ints = make_base(tmp_path / "ints", **{"model.layers.1.q_proj.weight": np.ones((8, 6), np.int32)})
    folder = make_adapter(tmp_path / "other", {"model.layers.1.q_proj": (8, 6)})
    with pytest.raises(ValueError, match="base tensor 'model.layers.1.q_proj.weight' is I32"):
        merge(ints, folder, tmp_path / "out", progress=False)
    with pytest.raises(ValueError, match="dtype='int8' is not supported"):
        merge(ints, adapter, tmp_path / "out", dtype="int8", progress=False)


def test_non_finite_results_are_refused_when_asked(tmp_path):
    base = make_base(tmp_path / "base", dtype=np.float16)
    folder = make_adapter(tmp_path / "other", config={"lora_alpha": 4e6})
    merge(base, folder, tmp_path / "allowed", progress=False)  # overflows to inf, as PEFT would
    with pytest.raises(ValueError, match="tensor 'model.layers.0.q_proj.weight': the merge produced .* non-finite"):
        merge(base, folder, tmp_path / "out", require_finite=True, progress=False)
    assert not (tmp_path / "out").exists() and leftovers(tmp_path) == ["allowed"]


def test_nan_in_adapter_is_refused(tmp_path, base):
    folder = make_adapter(tmp_path / "other")
    path = folder / "adapter_model.safetensors"
    from safetensors.numpy import load_file

    tensors = load_file(str(path))
    tensors["base_model.model.model.layers.0.q_proj.lora_B.weight"][0, 0] = np.nan
    save_file(tensors, str(path))
    with pytest.raises(ValueError, match="'base_model.model.model.layers.0.q_proj.lora_B.weight' holds NaN"):
        LoraAdapter.load(folder)


def test_lora_bias_needs_a_base_bias(tmp_path, base):
    folder = make_adapter(tmp_path / "other", {"model.layers.0.k_proj": (4, 6)})
    from safetensors.numpy import load_file

    tensors = load_file(str(folder / "adapter_model.safetensors"))
    tensors["base_model.model.model.layers.0.k_proj.lora_B.bias"] = np.ones(4, np.float32)
    save_file(tensors, str(folder / "adapter_model.safetensors"))
    with pytest.raises(ValueError, match="base layer has no bias .*model.layers.0.k_proj.bias"):
        merge(base, folder, tmp_path / "out", progress=False)


def test_output_rules(tmp_path, base, adapter):
    (tmp_path / "exists").mkdir()
    with pytest.raises(FileExistsError, match="already exists"):
        merge(base, adapter, tmp_path / "exists", progress=False)
    with pytest.raises(ValueError, match="must not be inside an input"):
        merge(base, adapter, base / "merged", progress=False)
    with pytest.raises(ValueError, match="is not a size"):
        merge(base, adapter, tmp_path / "out", shard_size="lots", progress=False)
    with pytest.raises(ValueError, match="shard_size must be positive"):
        merge(base, adapter, tmp_path / "out", shard_size=0, progress=False)
    with pytest.raises(ValueError, match="threads"):
        merge(base, adapter, tmp_path / "out", threads=-1, progress=False)
    with pytest.raises(FileNotFoundError, match="base checkpoint .* does not exist"):
        merge(tmp_path / "nope", adapter, tmp_path / "out", progress=False)
    with pytest.raises(TypeError, match="adapter must be"):
        merge(base, [], tmp_path / "out", progress=False)
    assert leftovers(tmp_path) == ["exists"]


def test_combining_adapters_for_different_shapes(tmp_path):
    first = make_adapter(tmp_path / "a", {"model.layers.0.q_proj": (8, 6)})
    second = make_adapter(tmp_path / "b", {"model.layers.0.q_proj": (8, 5)})
    with pytest.raises(ValueError, match="adapters disagree on module 'model.layers.0.q_proj'"):
        combine_adapters([first, second], tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


def test_bf16_adapter_factors_are_read_exactly(tmp_path, base):
    import torch
    from safetensors.torch import save_file as save_torch

    folder = tmp_path / "other"
    folder.mkdir()
    a = torch.randn(2, 6).to(torch.bfloat16)
    b = torch.randn(8, 2).to(torch.bfloat16)
    save_torch({"base_model.model.model.layers.0.q_proj.lora_A.weight": a,
                "base_model.model.model.layers.0.q_proj.lora_B.weight": b}, str(folder / "adapter_model.safetensors"))
    (folder / "adapter_config.json").write_text(json.dumps({"peft_type": "LORA", "r": 2, "lora_alpha": 2}))
    module = LoraAdapter.load(folder).modules["model.layers.0.q_proj"]
    assert np.array_equal(module.A, a.float().numpy()) and np.array_equal(module.B, b.float().numpy())
    assert repr(module) == "LoraModule('model.layers.0.q_proj', Linear, r=2, scale=1)"
