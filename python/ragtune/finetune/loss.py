"""The causal-LM loss on the assistant's tokens, without scoring the prompt.

transformers' ``model(input_ids, labels=...)`` projects every position onto the whole
vocabulary (SmolLM2: 49,152 logits a token, in fp32) and only then discards the
prompt's. A RAFT prompt is mostly documents: nine tokens in ten are never scored. For
models whose head is a plain linear layer over the last hidden state, ragtune runs
the decoder, keeps the hidden states that predict a label, and projects only those:
the same loss, a fraction of the head's time and memory. Other models (logit
soft-capping, scaled logits, mixture-of-experts auxiliary losses) take the generic
path through the model's own forward.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F

from .render import IGNORE_INDEX

# Model types whose ``ForCausalLM.forward`` is exactly ``lm_head(decoder(...).last_hidden_state)``.
_PLAIN_HEAD_MODEL_TYPES = frozenset({
    "llama", "mistral", "qwen2", "qwen3", "phi3", "gpt2", "gpt_neox", "smollm3", "starcoder2", "olmo2",
})
# Config fields that change the head's output when set (checked even for the types above).
_HEAD_MODIFIERS = ("final_logit_softcapping", "logit_scale", "logits_scaling", "output_multiplier_scale")


def plain_head(model: Any) -> bool:
    """Whether the selective head path computes exactly the model's own loss."""
    config = getattr(model, "config", None)
    if config is None or getattr(config, "model_type", None) not in _PLAIN_HEAD_MODEL_TYPES:
        return False
    if any(getattr(config, name, None) not in (None, 1, 1.0) for name in _HEAD_MODIFIERS):
        return False
    return model.get_output_embeddings() is not None and model.base_model is not model


def summed_loss(model: Any, batch: dict[str, torch.Tensor], *, selective: bool) -> tuple[torch.Tensor, int]:
    """Sum of the next-token cross-entropy over the labelled positions, and their count.

    ``model`` is the transformers model (LoRA layers injected in place); ``batch`` holds
    ``input_ids``, ``attention_mask`` and ``labels`` (``-100`` where no loss is taken).
    """
    labels = batch["labels"][:, 1:]
    keep = labels != IGNORE_INDEX
    count = int(keep.sum())
    if selective:
        hidden = model.base_model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                                  use_cache=False).last_hidden_state
        logits = model.get_output_embeddings()(hidden[:, :-1][keep])
    else:
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"],
                       use_cache=False).logits[:, :-1][keep]
    loss = F.cross_entropy(logits.float(), labels[keep], reduction="sum")
    return loss, count
