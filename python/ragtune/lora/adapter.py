"""A PEFT LoRA adapter as ``save_pretrained`` writes it: ``adapter_config.json`` plus
``adapter_model.safetensors``, read through ragtune's validating reader into fp32
factors (exactly what PEFT holds after loading, since it up-casts adapters to fp32)."""

from __future__ import annotations

import json
import math
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .. import _core
from .patterns import is_targeted, pattern_value
from .units import FLOAT_TYPES

PREFIX = "base_model.model."
CONFIG_FILE = "adapter_config.json"
WEIGHTS_FILE = "adapter_model.safetensors"

_FACTOR_SUFFIXES = {
    ".lora_A.weight": "A",
    ".lora_B.weight": "B",
    ".lora_B.bias": "bias",
    ".lora_embedding_A": "embedding_A",
    ".lora_embedding_B": "embedding_B",
    ".lora_magnitude_vector": "magnitude",
}

# Config features whose weights live somewhere this merge does not model; refused, not ignored.
_UNSUPPORTED = {
    "target_parameters": "LoRA on raw parameters (target_parameters)",
    "trainable_token_indices": "trainable tokens",
    "layer_replication": "layer replication",
    "use_qalora": "QA-LoRA",
    "use_bdlora": "block-diagonal LoRA",
}


@dataclass
class LoraModule:
    """One adapted module: PEFT's factors (fp32), its scale, and what else it carries.

    ``A`` is r x in and ``B`` is out x r for Linear/Conv1D; for an embedding, ``A`` is
    r x num_embeddings and ``B`` is embedding_dim x r (PEFT's ``lora_embedding_A/B``).
    """

    name: str
    A: np.ndarray
    B: np.ndarray
    scale: float
    embedding: bool = False
    fan_in_fan_out: bool = False
    magnitude: np.ndarray | None = None
    bias: np.ndarray | None = None

    @property
    def rank(self) -> int:
        return int(self.A.shape[0])

    def delta_shape(self) -> tuple[int, int]:
        """Shape of :meth:`delta_core`."""
        return int(self.B.shape[0]), int(self.A.shape[1])

    def delta_core(self) -> np.ndarray:
        """s·B·A in fp32: (out, in) for Linear/Conv1D, (dim, num_embeddings) for embeddings."""
        return (self.B @ self.A) * np.float32(self.scale)

    def __repr__(self) -> str:
        kind = "Embedding" if self.embedding else "Linear"
        extras = "".join([", DoRA" if self.magnitude is not None else "", ", bias" if self.bias is not None else ""])
        return f"LoraModule({self.name!r}, {kind}, r={self.rank}, scale={self.scale:g}{extras})"


@dataclass
class LoraAdapter:
    """A loaded PEFT LoRA adapter.

    >>> adapter = LoraAdapter.load("my-adapter")           # doctest: +SKIP
    >>> adapter                                            # doctest: +SKIP
    LoraAdapter('my-adapter', 60 modules, r=8, alpha=16, replaces 1 tensor)
    """

    path: str
    config: dict[str, Any]
    modules: dict[str, LoraModule]
    replacements: dict[str, np.ndarray] = field(default_factory=dict)
    overrides: dict[str, np.ndarray] = field(default_factory=dict)

    @classmethod
    def load(cls, path: str | os.PathLike[str]) -> "LoraAdapter":
        """Reads a PEFT adapter folder. Pickle-based ``adapter_model.bin`` files are refused."""
        folder = Path(path)
        if not folder.is_dir():
            raise FileNotFoundError(
                f"adapter folder {folder} does not exist (expected the folder save_pretrained wrote)"
            )
        config = _read_config(folder)
        weights = folder / WEIGHTS_FILE
        if not weights.is_file():
            if (folder / "adapter_model.bin").is_file():
                raise ValueError(
                    f"{folder} holds adapter_model.bin, a pickle file that can run code when loaded; ragtune reads "
                    "only safetensors. Convert it once where you trust the file: "
                    "PeftModel.from_pretrained(base, folder).save_pretrained(new_folder, safe_serialization=True)"
                )
            raise FileNotFoundError(f"{folder} has no {WEIGHTS_FILE}")
        tensors = _core.SafetensorsFile(str(weights))
        return cls._from_tensors(str(folder), config, tensors)

    @classmethod
    def _from_tensors(cls, path: str, config: dict[str, Any], file: Any) -> "LoraAdapter":
        factors: dict[str, dict[str, np.ndarray]] = {}
        replacements: dict[str, np.ndarray] = {}
        overrides: dict[str, np.ndarray] = {}
        saved_modules = config.get("modules_to_save") or []
        for entry in file.tensors:
            key = entry["name"]
            if not key.startswith(PREFIX):
                raise ValueError(f"{path}: tensor '{key}' does not start with '{PREFIX}'; is this a PEFT adapter?")
            local = key[len(PREFIX):]
            if ".token_adapter." in local:
                raise ValueError(f"{path}: '{key}' is a trainable-tokens delta, which ragtune does not merge yet")
            for suffix, role in _FACTOR_SUFFIXES.items():
                if local.endswith(suffix):
                    module = local[: -len(suffix)]
                    factors.setdefault(module, {})[role] = _as_float32(file, key, entry["dtype"])
                    break
            else:
                if ".lora_" in local:
                    raise ValueError(f"{path}: '{key}' is a LoRA tensor of a kind ragtune does not know")
                # Whole tensors. A modules_to_save copy replaces its module (PEFT keeps a separate copy,
                # which unties a tied weight); saved embeddings and biases overwrite the base weight in place
                # before the LoRA update is added.
                base_name = local.replace(".base_layer.", ".")
                float_type = entry["dtype"] in FLOAT_TYPES
                value = file.read_float32(key) if float_type else file.read(key)
                module = base_name.rsplit(".", 1)[0]
                if ".base_layer." not in local and any(module.endswith(m) for m in saved_modules):
                    replacements[base_name] = value
                else:
                    overrides[base_name] = value
        modules = {}
        ignored = []
        for name, parts in sorted(factors.items()):
            if not is_targeted(config, name):
                ignored.append(name)
                continue
            modules[name] = _module(path, config, name, parts)
        if not modules and not replacements and not overrides:
            raise ValueError(f"{path}: none of the adapter's tensors belongs to a module its config targets "
                             f"(target_modules={config.get('target_modules')!r}); there is nothing to merge")
        if ignored:
            warnings.warn(
                f"{path}: {len(ignored)} module(s) in the file are not targeted by its config and are ignored, "
                f"as PEFT ignores them when loading: {', '.join(ignored[:5])}{' ...' if len(ignored) > 5 else ''}",
                stacklevel=3,
            )
        return cls(path, config, modules, replacements, overrides)

    @property
    def uses_dora(self) -> bool:
        return any(m.magnitude is not None for m in self.modules.values())

    def __repr__(self) -> str:
        ranks = sorted({m.rank for m in self.modules.values()})
        rank = "no LoRA modules" if not ranks else f"r={ranks[0]}" if len(ranks) == 1 else f"r={ranks[0]}..{ranks[-1]}"
        replaced = f", replaces {len(self.replacements)} tensor(s)" if self.replacements else ""
        flags = "".join(
            f", {flag}" for flag, on in (("rsLoRA", self.config.get("use_rslora")), ("DoRA", self.uses_dora)) if on
        )
        return (
            f"LoraAdapter({self.path!r}, {len(self.modules)} modules, {rank}, "
            f"alpha={self.config.get('lora_alpha')}{flags}{replaced})"
        )


def _read_config(folder: Path) -> dict[str, Any]:
    config_path = folder / CONFIG_FILE
    if not config_path.is_file():
        raise FileNotFoundError(f"{folder} has no {CONFIG_FILE}; is it a PEFT adapter folder?")
    try:
        config = json.loads(config_path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{config_path} is not valid JSON: {error}") from None
    if not isinstance(config, dict):
        raise ValueError(f"{config_path} is not a JSON object")
    if config.get("peft_type", "LORA") != "LORA":
        raise ValueError(f"{config_path}: peft_type is {config.get('peft_type')!r}; ragtune merges LoRA adapters only")
    for key, what in _UNSUPPORTED.items():
        if config.get(key):
            raise ValueError(f"{config_path}: {what} ({key}) is not supported by ragtune's merge")
    for key in ("r", "lora_alpha"):
        value = config.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise ValueError(f"{config_path}: {key} must be a positive number, got {value!r}")
    for key in ("rank_pattern", "alpha_pattern"):
        pattern = config.get(key) or {}
        if not isinstance(pattern, dict) or not all(
                isinstance(v, (int, float)) and not isinstance(v, bool) and v > 0 for v in pattern.values()):
            raise ValueError(f"{config_path}: {key} must be an object mapping patterns to positive numbers")
    _check_config_types(config_path, config)
    return config


def _is_names(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


def _check_config_types(config_path: Path, config: dict[str, Any]) -> None:
    """Each field PEFT writes has the type PEFT gives it; regexes compile."""
    def bad(key: str, expected: str) -> ValueError:
        return ValueError(f"{config_path}: {key} must be {expected}, got {config.get(key)!r}")

    for key in ("target_modules", "exclude_modules", "layers_pattern"):
        value = config.get(key)
        if value is not None and not isinstance(value, str) and not _is_names(value):
            raise bad(key, "a string (a regex) or a list of module names")
    for key in ("target_modules", "exclude_modules"):
        if isinstance(config.get(key), str):
            try:
                re.compile(config[key])
            except re.error as error:
                raise ValueError(f"{config_path}: {key} is not a valid regex: {error}") from None
    layers = config.get("layers_to_transform")
    if layers is not None and not (isinstance(layers, int) and not isinstance(layers, bool)) and not (
            isinstance(layers, list) and all(isinstance(v, int) and not isinstance(v, bool) for v in layers)):
        raise bad("layers_to_transform", "an int or a list of ints")
    if config.get("modules_to_save") is not None and not _is_names(config["modules_to_save"]):
        raise bad("modules_to_save", "a list of module names")
    for key in ("use_rslora", "use_dora", "fan_in_fan_out"):
        if config.get(key) is not None and not isinstance(config[key], bool):
            raise bad(key, "true or false")
    if config.get("bias") is not None and config["bias"] not in ("none", "all", "lora_only"):
        raise bad("bias", "'none', 'all' or 'lora_only'")


def _as_float32(file: Any, key: str, dtype: str) -> np.ndarray:
    if dtype not in FLOAT_TYPES:
        raise ValueError(f"adapter tensor '{key}' is {dtype}; LoRA factors must be F32, F16 or BF16")
    values = file.read_float32(key)
    if not np.isfinite(values).all():
        raise ValueError(f"adapter tensor '{key}' holds NaN or infinity; the adapter is broken (diverged training?)")
    return values


def _module(path: str, config: dict[str, Any], name: str, parts: dict[str, np.ndarray]) -> LoraModule:
    embedding = "embedding_A" in parts or "embedding_B" in parts
    a_key, b_key = ("embedding_A", "embedding_B") if embedding else ("A", "B")
    if a_key not in parts or b_key not in parts:
        missing = "A" if a_key not in parts else "B"
        raise ValueError(f"{path}: module '{name}' has no lora_{'embedding_' if embedding else ''}{missing} tensor")
    A, B = parts[a_key], parts[b_key]
    if A.ndim != 2 or B.ndim != 2 or A.shape[0] != B.shape[1] or A.shape[0] == 0:
        raise ValueError(
            f"{path}: module '{name}' has factors A {tuple(A.shape)} and B {tuple(B.shape)}; "
            "A must be r x in and B out x r with the same r"
        )
    rank = int(A.shape[0])
    pattern_rank = pattern_value(config.get("rank_pattern") or {}, name, config["r"])
    if int(pattern_rank) != rank:
        raise ValueError(
            f"{path}: module '{name}' has rank {rank} in the file but {pattern_rank} by the config's "
            "r/rank_pattern (PEFT would fail to load this adapter too)"
        )
    alpha = pattern_value(config.get("alpha_pattern") or {}, name, config["lora_alpha"])
    scale = alpha / math.sqrt(rank) if config.get("use_rslora") else alpha / rank
    magnitude = parts.get("magnitude")
    bias = parts.get("bias")
    if magnitude is not None and (magnitude.ndim != 1):
        raise ValueError(
            f"{path}: module '{name}' has a DoRA magnitude of shape {tuple(magnitude.shape)}; expected 1-D"
        )
    if bias is not None and (bias.ndim != 1 or bias.shape[0] != B.shape[0]):
        raise ValueError(
            f"{path}: module '{name}' has a lora_B bias of shape {tuple(bias.shape)}; expected ({B.shape[0]},)"
        )
    return LoraModule(
        name=name,
        A=A,
        B=B,
        scale=float(np.float32(scale)),  # PEFT multiplies a fp32 tensor by the scale: it is used as fp32
        embedding=embedding,
        fan_in_fan_out=bool(config.get("fan_in_fan_out")) and not embedding,
        magnitude=magnitude,
        bias=bias,
    )
