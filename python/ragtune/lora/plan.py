"""What happens to each tensor of the output: copied, merged (with which low-rank
terms, dense deltas and DoRA magnitude) or replaced. Built from the base checkpoint
and the adapters before a byte is written, so bad input fails before any output."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from .adapter import LoraAdapter, LoraModule
from .base import BaseCheckpoint
from .combine import combine_deltas
from .units import FLOAT_TYPES



@dataclass
class Contribution:
    """One adapter module's update to one base tensor, in the tensor's stored orientation."""

    module: LoraModule
    weight: float
    transposed: bool  # stored = (B·A)^T: Conv1D (fan_in_fan_out) and embeddings

    def factors(self, sign: float = 1.0) -> tuple[np.ndarray, np.ndarray, float]:
        """(left, right, scale) with stored delta = scale · left @ right."""
        m = self.module
        scale = float(np.float32(m.scale) * np.float32(self.weight * sign))
        if self.transposed:
            return np.ascontiguousarray(m.A.T), np.ascontiguousarray(m.B.T), scale
        return m.B, m.A, scale

@dataclass
class TensorJob:
    """The recipe for one output tensor."""

    name: str
    source: str | None
    dtype: str
    shape: list[int]
    terms: list[tuple[np.ndarray, np.ndarray, float]] = field(default_factory=list)
    dense: Callable[[], np.ndarray] | None = None
    magnitude: np.ndarray | None = None
    magnitude_per_column: bool = False
    replacement: np.ndarray | None = None  # written as is (modules_to_save)
    base_values: np.ndarray | None = None  # the base weight as the adapter overwrote it, merged onto
    new: bool = False  # not in the base checkpoint (an untied output embedding)

    @property
    def kind(self) -> str:
        if self.replacement is not None:
            return "replaced"
        if self.terms or self.dense is not None or self.magnitude is not None:
            return "merged"
        return "replaced" if self.base_values is not None else "copied"


@dataclass
class MergePlan:
    jobs: list[TensorJob]
    untied: list[str]

    def count(self, kind: str) -> int:
        return sum(1 for job in self.jobs if job.kind == kind)


def _tie_group(base: BaseCheckpoint, name: str) -> list[str] | None:
    for output, source in base.tied.items():
        if name in (output, source):
            return [source, output]
    return None


def _stored_shape(base: BaseCheckpoint, name: str) -> list[int] | None:
    if base.has(name):
        return list(base.info(name)["shape"])
    group = _tie_group(base, name)
    return list(base.info(group[0])["shape"]) if group else None


def _orientation(module: LoraModule, shape: list[int], target: str) -> bool:
    """True when the stored delta is (B·A)^T. Raises when the factors fit neither way."""
    out_features, in_features = module.B.shape[0], module.A.shape[1]
    if module.embedding:
        if shape == [in_features, out_features]:
            return True
    elif len(shape) == 2:
        straight, transposed = shape == [out_features, in_features], shape == [in_features, out_features]
        if straight and transposed:  # square: only the config can tell
            return module.fan_in_fan_out
        if straight or transposed:
            # PEFT forces fan_in_fan_out for Conv1D whatever the config says; the shapes decide.
            return transposed
    raise ValueError(
        f"adapter module '{module.name}' (A {tuple(module.A.shape)}, B {tuple(module.B.shape)}) does not fit base "
        f"tensor '{target}' of shape {tuple(shape)}: is the adapter for a different base model?"
    )


def build_plan(
    base: BaseCheckpoint,
    adapters: Sequence[LoraAdapter],
    weights: Sequence[float],
    *,
    method: str = "linear",
    density: float | None = None,
    majority_sign: str = "total",
    seed: int = 0,
    rank: int | None = None,
    dtype: str | None = None,
    sign: float = 1.0,
) -> MergePlan:
    """Plans a merge of ``adapters`` (with ``weights``) into ``base``; ``sign=-1`` plans an unmerge."""
    contributions: dict[str, list[Contribution]] = {}
    bias_terms: dict[str, list[tuple[LoraModule, float]]] = {}
    replacements: dict[str, np.ndarray] = {}
    overrides: dict[str, np.ndarray] = {}
    for adapter, weight in zip(adapters, weights):
        for module in adapter.modules.values():
            target = module.name + ".weight"
            shape = _stored_shape(base, target)
            if shape is None:
                raise ValueError(
                    f"adapter {adapter.path} targets '{module.name}', but the base checkpoint has no tensor "
                    f"'{target}': is the adapter for a different base model?"
                )
            transposed = _orientation(module, shape, target)
            if module.magnitude is not None:
                expected = shape[1] if transposed else shape[0]
                if module.magnitude.shape[0] != expected:
                    raise ValueError(
                        f"adapter module '{module.name}': DoRA magnitude has {module.magnitude.shape[0]} entries, "
                        f"tensor '{target}' needs {expected}"
                    )
            contributions.setdefault(target, []).append(Contribution(module, weight, transposed))
            if module.bias is not None:
                bias_name = module.name + ".bias"
                if not base.has(bias_name):
                    raise ValueError(
                        f"adapter {adapter.path} has a lora_B bias for '{module.name}', but the base layer has no "
                        f"bias ('{bias_name}'); PEFT refuses this merge too"
                    )
                bias_terms.setdefault(bias_name, []).append((module, weight))
        for kind, found, collected in (("replaces", adapter.replacements, replacements),
                                       ("overwrites", adapter.overrides, overrides)):
            for name, value in found.items():
                if not base.has(name) and _tie_group(base, name) is None:
                    raise ValueError(f"adapter {adapter.path} {kind} '{name}', which the base checkpoint does not have")
                if (
                    kind == "overwrites"
                    and base.has(name)
                    and np.array_equal(
                        value, base.tensors.read_float32(name) if value.dtype == np.float32 else base.tensors.read(name)
                    )
                ):
                    continue  # a saved copy of the unchanged base weight (PEFT saves targeted embeddings)
                if sign < 0:
                    raise ValueError(
                        f"adapter {adapter.path} {kind} '{name}' (modules_to_save or saved weights); the original "
                        "values are gone from a merged checkpoint, so it cannot be unmerged"
                    )
                if name in collected and not np.array_equal(collected[name], value):
                    raise ValueError(f"two adapters set '{name}' to different values; merge them one at a time")
                collected[name] = value

    # A replaced member of a tied pair unties it, as PEFT's merged model ends up untied.
    untied = sorted({g for name in replacements if (grp := _tie_group(base, name)) for g in grp})

    def applies_to(name: str) -> list[str]:
        group = _tie_group(base, name)
        if group is None or name in untied:
            return [name]
        return group

    jobs: list[TensorJob] = []
    names = base.names + [n for n in untied if not base.has(n)]
    for name in names:
        source = name if base.has(name) else _tie_group(base, name)[0]
        info = base.info(source)
        out_type = info["dtype"]
        if dtype is not None and out_type in FLOAT_TYPES:
            out_type = dtype
        job = TensorJob(name, source, out_type, list(info["shape"]), new=not base.has(name))
        override = next((overrides[n] for n in applies_to(name) if n in overrides), None)
        if override is not None:
            if list(override.shape) != job.shape:
                raise ValueError(f"the adapter's saved '{name}' has shape {tuple(override.shape)}, the base "
                                 f"tensor {tuple(job.shape)}: resized vocabularies are not supported")
            job.base_values = override
        if name in replacements:
            value = replacements[name]
            if list(value.shape) != job.shape:
                raise ValueError(
                    f"the adapter's replacement for '{name}' has shape {tuple(value.shape)}, the base "
                    f"tensor {tuple(job.shape)}"
                )
            job.replacement = value
            jobs.append(job)
            continue
        found = [c for target in applies_to(name) for c in contributions.get(target, [])]
        if len({c.transposed for c in found}) > 1 and method not in ("linear", "cat"):
            raise ValueError(f"tensor '{name}' gets both embedding and output-layer updates; combine those with "
                             "method='linear'")
        if found and info["dtype"] not in FLOAT_TYPES:
            raise ValueError(f"base tensor '{name}' is {info['dtype']}; only F32, F16 and BF16 weights can be merged")
        _attach(job, found, bias_terms.get(name, []), method=method, density=density,
                majority_sign=majority_sign, seed=seed, rank=rank, sign=sign)
        jobs.append(job)
    return MergePlan(jobs, untied)


def _attach(job: TensorJob, found: list[Contribution], biases: list[tuple[LoraModule, float]], *, method: str,
            density: float | None, majority_sign: str, seed: int, rank: int | None, sign: float) -> None:
    dora = [c for c in found if c.module.magnitude is not None]
    if dora:
        if len(found) > 1 or (dora[0].weight != 1.0):
            raise ValueError(
                f"tensor '{job.name}' has a DoRA update together with other updates or a weight other than 1; "
                "DoRA's magnitude rescaling is not additive, so merge DoRA adapters one at a time"
            )
        if sign < 0:
            raise ValueError(
                f"tensor '{job.name}' was merged with DoRA; the per-row norms DoRA divided by are not recoverable "
                "from the merged weights, so it cannot be unmerged (keep the base checkpoint instead)"
            )
        job.magnitude = dora[0].module.magnitude
        job.magnitude_per_column = dora[0].transposed
    if found:
        if method in ("linear", "cat") or (len(found) == 1 and method != "svd" and density in (None, 1)):
            job.terms = [c.factors(sign) for c in found]
        else:
            job.dense = _dense_combination(job.name, found, method=method, density=density,
                                           majority_sign=majority_sign, seed=seed, rank=rank, sign=sign)
    if biases:
        def bias_delta(biases=biases) -> np.ndarray:
            total = np.zeros_like(biases[0][0].bias)
            for module, weight in biases:
                total += module.bias * np.float32(module.scale) * np.float32(weight * sign)
            return total
        job.dense = bias_delta


def _dense_combination(name: str, found: list[Contribution], *, method: str, density: float | None,
                       majority_sign: str, seed: int, rank: int | None, sign: float) -> Callable[[], np.ndarray]:
    from .combine import truncated_svd

    def compute() -> np.ndarray:
        # Combined in PEFT's B·A orientation, as combine_adapters does, so both paths give the same result.
        combined = combine_deltas([c.module.delta_core() for c in found], [c.weight for c in found], method=method,
                                  density=density, majority_sign=majority_sign, seed=seed, name=name)
        if method == "svd":
            k = rank if rank is not None else max(c.module.rank for c in found)
            b, a, _ = truncated_svd(combined, k)
            combined = b @ a
        if found[0].transposed:
            combined = combined.T
        return np.ascontiguousarray(combined * np.float32(sign))

    return compute
