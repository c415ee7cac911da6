"""Opening the base model to train: a Hugging Face causal LM folder in safetensors,
checked before torch reads a byte of it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from .._files import read_json


def check_base(base: Any) -> Path:
    """The base folder, refused with a reason unless it holds a causal LM in safetensors
    (pickle ``.bin`` weights are never loaded) with a tokenizer."""
    from ..lora.base import BaseCheckpoint

    if not isinstance(base, (str, Path)):
        raise TypeError(f"base must be a model folder path, got {type(base).__name__}")
    folder = Path(base)
    if not folder.is_dir():
        raise FileNotFoundError(f"base model folder {folder} does not exist (give a folder with config.json, "
                                "model.safetensors and the tokenizer, e.g. ragtune.datasets.smollm2_checkpoint())")
    # The validating reader: truncated, lying or pickle-only checkpoints are refused here.
    BaseCheckpoint.open(folder)
    try:
        config = read_json(folder / "config.json", what="model config")
    except FileNotFoundError:
        raise FileNotFoundError(f"{folder} has no config.json: save the model with save_pretrained") from None
    from transformers.models.auto.modeling_auto import MODEL_FOR_CAUSAL_LM_MAPPING_NAMES

    model_type = config.get("model_type") if isinstance(config, dict) else None
    architectures = config.get("architectures") if isinstance(config, dict) else None
    causal_classes = set(MODEL_FOR_CAUSAL_LM_MAPPING_NAMES.values())
    # BERT has a causal head class too: the saved architecture must be a causal LM as well.
    if model_type not in MODEL_FOR_CAUSAL_LM_MAPPING_NAMES or (
            isinstance(architectures, list) and architectures and not causal_classes & set(map(str, architectures))):
        raise ValueError(f"{folder} holds a {model_type or 'model of unknown type'} ({architectures}), not a causal "
                         "language model that transformers can train; give a decoder such as Llama, Qwen or SmolLM2")
    if not any((folder / name).is_file() for name in ("tokenizer.json", "tokenizer_config.json")):
        raise FileNotFoundError(f"{folder} has no tokenizer: save it beside the model "
                                "(tokenizer.save_pretrained(folder))")
    return folder


def load_tokenizer(folder: Path) -> Any:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(folder))
    if tokenizer.pad_token_id is None:
        # Padded positions carry no loss and are masked from attention: any id will do.
        fallback = tokenizer.eos_token if tokenizer.eos_token is not None else tokenizer.convert_ids_to_tokens(0)
        tokenizer.pad_token = fallback
    return tokenizer


def load_model(folder: Path, *, dtype: Any, device: Any) -> Any:
    """The base model, weights from safetensors only, in training mode without a KV cache."""
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(folder), dtype=dtype, use_safetensors=True)
    model.config.use_cache = False
    return model.to(device)
