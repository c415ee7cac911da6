"""PEFT's module-name rules, reimplemented from its source (peft 0.21):
rank/alpha patterns and which modules a config targets."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any


def pattern_key(patterns: Iterable[str], module: str) -> str | None:
    """The first pattern (in the order given — the config file's order, as PEFT reads it)
    matching a dot-bounded suffix of ``module``; None if none does.

    >>> pattern_key(["k_proj", "layers\\\\.1\\\\.q_proj"], "model.layers.1.q_proj")
    'layers\\\\.1\\\\.q_proj'
    """
    for pattern in patterns:
        if re.match(rf"(.*\.)?({pattern})$", module):
            return pattern
    return None


def pattern_value(patterns: Mapping[str, Any], module: str, default: Any) -> Any:
    """``patterns[first matching key]`` or ``default``."""
    key = pattern_key(patterns.keys(), module)
    return default if key is None else patterns[key]


def _layer_index(module: str, layers_pattern: Any) -> int | None:
    if not layers_pattern:
        match = re.match(r".*?\.[^.]*\.(?P<idx>\d+)\.", module)
        return None if match is None else int(match.group("idx"))
    for pattern in [layers_pattern] if isinstance(layers_pattern, str) else layers_pattern:
        match = re.match(rf"(?:^|.*?\.){pattern}\.(?P<idx>\d+)\.", module)
        if match is not None:
            return int(match.group("idx"))
    return None


def is_targeted(config: Mapping[str, Any], module: str) -> bool:
    """Whether PEFT would put a LoRA layer on ``module`` under this adapter config
    (target_modules, exclude_modules, layers_to_transform/layers_pattern). Modules a
    file holds but the config does not target are ignored by PEFT when it loads."""
    exclude = config.get("exclude_modules")
    if isinstance(exclude, str) and re.fullmatch(exclude, module):
        return False
    if isinstance(exclude, list) and any(module == e or module.endswith("." + e) for e in exclude):
        return False
    targets = config.get("target_modules")
    if targets is None:
        return True  # PEFT filled in its per-architecture defaults; trust the file
    if isinstance(targets, str):
        return re.fullmatch(targets, module) is not None
    if module in targets:
        return True
    if not any(module.endswith("." + t) for t in targets):
        return False
    layers = config.get("layers_to_transform")
    if layers is None or layers == []:
        return True
    index = _layer_index(module, config.get("layers_pattern"))
    if index is None:
        return False
    return index == layers if isinstance(layers, int) else index in layers
