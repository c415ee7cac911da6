"""``combine_adapters``: several PEFT LoRA adapters into one new adapter that PEFT loads."""

from __future__ import annotations

import json
import os
import re
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from .. import _core
from .adapter import PREFIX, LoraModule
from .combine import check_method, combine_deltas, truncated_svd
from .merge import _as_adapters, _as_weights, _check_out

# An adapter file is written as one safetensors file however large.
_ONE_FILE = 2**62


@dataclass(frozen=True)
class AdapterReport:
    """What combine_adapters wrote."""

    out: str
    modules: int
    rank: int
    max_relative_error: float
    seconds: float

    def summary(self) -> str:
        loss = (
            "exact" if self.max_relative_error == 0 else
            f"largest relative error of the rank truncation {self.max_relative_error:.3g}"
        )
        return f"{self.out}: {self.modules} modules, r={self.rank} ({loss}), {self.seconds:.1f} s"

    def __repr__(self) -> str:
        return f"AdapterReport({self.summary()})"


def combine_adapters(
    adapters: Sequence[Any],
    out: str | os.PathLike[str],
    *,
    weights: Sequence[float] | None = None,
    method: str = "cat",
    rank: int | None = None,
    density: float | None = None,
    majority_sign: str = "total",
    seed: int = 0,
    progress: bool = True,
) -> AdapterReport:
    """Writes a new PEFT adapter folder holding a combination of ``adapters``.

    ``"linear"`` and ``"cat"`` are exact: the new adapter's delta is Σ wᵢ·sᵢ·Bᵢ·Aᵢ
    (ranks concatenated, like PEFT's ``cat``). ``"svd"``, ``"ties"``, ``"dare_linear"``,
    ``"dare_ties"`` and ``"magnitude_prune"`` combine the full deltas and store the
    best rank-``rank`` approximation (default: the largest input rank, as PEFT does);
    the report gives the largest relative error that truncation caused.

    >>> from ragtune.lora import combine_adapters
    >>> combine_adapters(["math", "code"], "math+code", weights=[0.7, 0.3])  # doctest: +SKIP
    AdapterReport(math+code: 60 modules, r=16 (exact), 0.2 s)
    """
    check_method(method, density=density, majority_sign=majority_sign)
    loaded = _as_adapters(list(adapters) if not isinstance(adapters, (str, os.PathLike)) else adapters)
    weight_list = _as_weights(weights, len(loaded))
    if rank is not None and (isinstance(rank, bool) or not isinstance(rank, int) or rank <= 0):
        raise ValueError(f"rank must be a positive int, got {rank!r}")
    destination = _check_out(out, *(a.path for a in loaded))
    started = time.perf_counter()

    groups: dict[str, list[tuple[LoraModule, float]]] = {}
    for adapter, weight in zip(loaded, weight_list):
        if adapter.uses_dora:
            raise ValueError(
                f"{adapter.path} is a DoRA adapter; DoRA's magnitude rescaling cannot be combined linearly"
            )
        for module in adapter.modules.values():
            groups.setdefault(module.name, []).append((module, weight))
    replacements = _merged_replacements(loaded)
    exact = method in ("linear", "cat")
    plan: list[tuple[str, str, list[int]]] = []
    ranks: dict[str, int] = {}
    for name, members in sorted(groups.items()):
        first = members[0][0]
        for module, _ in members[1:]:
            if module.embedding != first.embedding or module.delta_shape() != first.delta_shape():
                raise ValueError(f"adapters disagree on module '{name}' (kind or shape); are they for the same base?")
        out_dim, in_dim = first.delta_shape()
        r = sum(m.rank for m, _ in members) if exact else min(rank or max(m.rank for m, _ in members), out_dim, in_dim)
        ranks[name] = r
        a_key, b_key = _keys(name, first.embedding)
        plan += [(a_key, "F32", [r, in_dim]), (b_key, "F32", [out_dim, r])]
        if any(m.bias is not None for m, _ in members):
            plan.append((f"{PREFIX}{name}.lora_B.bias", "F32", [out_dim]))
    for name, value in sorted(replacements.items()):
        plan.append((f"{PREFIX}{name}", "F32", list(value.shape)))

    writer = _core.CheckpointWriter(destination, plan, _ONE_FILE, {"format": "pt"}, stem="adapter_model")
    worst = 0.0
    try:
        for name, members in tqdm(sorted(groups.items()), desc="combining", unit="module", disable=not progress):
            a, b, error = _factors(name, members, method=method, rank=ranks[name], density=density,
                                   majority_sign=majority_sign, seed=seed)
            worst = max(worst, error)
            a_key, b_key = _keys(name, members[0][0].embedding)
            writer.write(a_key, a)
            writer.write(b_key, b)
            biases = [(m.bias if m.bias is not None else np.zeros(m.B.shape[0], np.float32)) * np.float32(m.scale)
                      for m, _ in members]
            if any(m.bias is not None for m, _ in members):
                bias_method = "linear" if method in ("cat", "svd") else method
                writer.write(f"{PREFIX}{name}.lora_B.bias",
                             combine_deltas(biases, [w for _, w in members], method=bias_method, density=density,
                                            majority_sign=majority_sign, seed=seed, name=name + ".bias"))
        for name, value in replacements.items():
            writer.write(f"{PREFIX}{name}", value)
        config = _config(loaded[0].config, ranks, groups, replacements)
        with open(os.path.join(writer.staging_dir, "adapter_config.json"), "w", encoding="utf-8") as handle:
            json.dump(config, handle, indent=2, sort_keys=True)
        writer.commit()
    except BaseException:
        writer.abort()
        raise
    return AdapterReport(destination, len(groups), max(ranks.values(), default=0), worst,
                         time.perf_counter() - started)


def _keys(name: str, embedding: bool) -> tuple[str, str]:
    if embedding:
        return f"{PREFIX}{name}.lora_embedding_A", f"{PREFIX}{name}.lora_embedding_B"
    return f"{PREFIX}{name}.lora_A.weight", f"{PREFIX}{name}.lora_B.weight"


def _factors(name: str, members: list[tuple[LoraModule, float]], *, method: str, rank: int, density: float | None,
             majority_sign: str, seed: int) -> tuple[np.ndarray, np.ndarray, float]:
    """(A, B, relative truncation error) for the new adapter, whose scale is 1."""
    if method in ("linear", "cat"):
        a = np.concatenate([m.A * np.float32(m.scale * w) for m, w in members], axis=0)
        b = np.concatenate([m.B for m, _ in members], axis=1)
        return a, b, 0.0
    combined = combine_deltas([m.delta_core() for m, _ in members], [w for _, w in members], method=method,
                              density=density, majority_sign=majority_sign, seed=seed, name=name + ".weight")
    b, a, error = truncated_svd(combined, rank)
    return a, b, error


def _merged_replacements(adapters: list[Any]) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    for adapter in adapters:
        for name, value in adapter.replacements.items():
            if name in out and not np.array_equal(out[name], value):
                raise ValueError(f"two adapters replace '{name}' with different values; they cannot be combined")
            out[name] = np.asarray(value, dtype=np.float32)
    return out


def _config(first: dict[str, Any], ranks: dict[str, int], groups: dict[str, Any],
            replacements: dict[str, np.ndarray]) -> dict[str, Any]:
    config = dict(first)
    top = max(ranks.values(), default=1)
    odd = {re.escape(name): r for name, r in ranks.items() if r != top}
    config.update(
        r=top,
        lora_alpha=top,  # scale alpha / r = 1: the factors carry every weight and scale
        rank_pattern=odd,
        alpha_pattern=dict(odd),
        use_rslora=False,
        use_dora=False,
        lora_bias=any(m.bias is not None for members in groups.values() for m, _ in members),
        target_modules=sorted(ranks),
        layers_to_transform=None,
        layers_pattern=None,
        exclude_modules=None,
        modules_to_save=sorted({name.rsplit(".", 1)[0] for name in replacements}) or None,
        init_lora_weights=True,
    )
    return config
