"""The base model checkpoint a merge reads: its tensors (through the validating
reader), its ``config.json``, and which weights it ties together."""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .. import _core

# Weight files that must not be carried into a merged folder: they hold the old weights.
WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".ckpt", ".h5", ".msgpack", ".gguf")
INDEX_NAMES = ("model.safetensors.index.json", "pytorch_model.bin.index.json")

# When transformers cannot tell us, the input embeddings that lm_head is commonly tied to.
_COMMON_INPUT_EMBEDDINGS = (
    "model.embed_tokens.weight",
    "transformer.wte.weight",
    "gpt_neox.embed_in.weight",
    "model.decoder.embed_tokens.weight",
    "transformer.word_embeddings.weight",
)


@dataclass
class BaseCheckpoint:
    """An opened base checkpoint.

    >>> base = BaseCheckpoint.open("SmolLM2-135M")      # doctest: +SKIP
    >>> base                                            # doctest: +SKIP
    BaseCheckpoint('SmolLM2-135M', 272 tensors in 1 shard, tied: lm_head.weight -> model.embed_tokens.weight)
    """

    path: str
    folder: str | None
    tensors: Any  # _core.SafetensorsCheckpoint
    config: dict[str, Any] = field(default_factory=dict)
    tied: dict[str, str] = field(default_factory=dict)

    @classmethod
    def open(cls, path: str | os.PathLike[str]) -> "BaseCheckpoint":
        location = Path(path)
        if not location.exists():
            raise FileNotFoundError(f"base checkpoint {location} does not exist")
        folder = location if location.is_dir() else None
        if folder is not None and not any((folder / n).is_file() for n in ("model.safetensors", INDEX_NAMES[0])):
            if (folder / "pytorch_model.bin").is_file() or (folder / INDEX_NAMES[1]).is_file():
                raise ValueError(
                    f"{folder} holds pickle (.bin) weights; ragtune reads safetensors only. Convert once with "
                    "AutoModelForCausalLM.from_pretrained(folder).save_pretrained(new_folder)"
                )
            raise FileNotFoundError(f"{folder} has neither model.safetensors nor {INDEX_NAMES[0]}")
        tensors = _core.SafetensorsCheckpoint(str(location))
        config: dict[str, Any] = {}
        if folder is not None and (folder / "config.json").is_file():
            try:
                config = json.loads((folder / "config.json").read_text(encoding="utf-8"))
            except (UnicodeDecodeError, json.JSONDecodeError) as error:
                raise ValueError(f"{folder / 'config.json'} is not valid JSON: {error}") from None
            if not isinstance(config, dict):
                raise ValueError(f"{folder / 'config.json'} is not a JSON object")
        base = cls(str(location), None if folder is None else str(folder), tensors, config)
        base.tied = base._tied_weights()
        return base

    @property
    def names(self) -> list[str]:
        return list(self.tensors.names)

    def has(self, name: str) -> bool:
        try:
            self.tensors.info(name)
        except KeyError:
            return False
        return True

    def info(self, name: str) -> dict[str, Any]:
        return self.tensors.info(name)

    def _tied_weights(self) -> dict[str, str]:
        """{output weight: input weight} for weights the model shares, as transformers ties them."""
        names = set(self.tensors.names)
        tie_config = self.config.get("tie_word_embeddings")
        if tie_config is None:
            tie_config = self.config.get("text_config", {}).get("tie_word_embeddings") if isinstance(
                self.config.get("text_config"), dict) else None
        pairs = self._declared_ties()
        if not pairs:
            source = next((n for n in _COMMON_INPUT_EMBEDDINGS if n in names), None)
            pairs = {"lm_head.weight": source} if source else {}
        tied = {}
        for output, source in pairs.items():
            if source not in names:
                continue
            # Tied when the config says so, or when the checkpoint leaves the output weight out.
            if tie_config or (tie_config is None and output not in names):
                tied[output] = source
        return tied

    def _declared_ties(self) -> dict[str, str]:
        architectures = self.config.get("architectures") or []
        if not architectures:
            return {}
        # Importing transformers (and torch) costs seconds and hundreds of MB: only ask it when
        # the caller already has it loaded; otherwise the common names below decide.
        transformers = sys.modules.get("transformers")
        if transformers is None:
            return {}
        model_class = getattr(transformers, str(architectures[0]), None)
        keys = getattr(model_class, "_tied_weights_keys", None)
        return dict(keys) if isinstance(keys, dict) else {}

    def __repr__(self) -> str:
        shards = len(self.tensors.shard_names)
        ties = ", ".join(f"{k} -> {v}" for k, v in self.tied.items())
        return (
            f"BaseCheckpoint({self.path!r}, {len(self.tensors.names)} tensors in {shards} shard"
            f"{'s' if shards != 1 else ''}{', tied: ' + ties if ties else ''})"
        )
