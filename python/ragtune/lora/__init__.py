"""LoRA merging: PEFT adapters into safetensors checkpoints, streamed tensor by tensor.

:func:`merge` writes base + adapter(s) as a new checkpoint with PEFT's semantics
(scaling, rsLoRA, rank/alpha patterns, fan_in_fan_out, lora_bias, DoRA, embeddings,
modules_to_save, tied embeddings) and one rounding; :func:`unmerge` subtracts an
adapter again; :func:`combine_adapters` combines several adapters into a new PEFT
adapter (linear, cat, svd, TIES, DARE, magnitude pruning).
"""

from __future__ import annotations

from .adapter import LoraAdapter, LoraModule
from .base import BaseCheckpoint
from .combine import METHODS
from .export import AdapterReport, combine_adapters
from .merge import MergeReport, merge, unmerge

__all__ = [
    "AdapterReport",
    "BaseCheckpoint",
    "LoraAdapter",
    "LoraModule",
    "METHODS",
    "MergeReport",
    "combine_adapters",
    "merge",
    "unmerge",
]
