"""``merge`` / ``unmerge``: a base checkpoint plus LoRA adapter(s) to a new checkpoint,
streamed tensor by tensor from safetensors to safetensors."""

from __future__ import annotations

import json
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from .. import _core
from .._inputs import as_threads
from .adapter import LoraAdapter
from .base import INDEX_NAMES, WEIGHT_SUFFIXES, BaseCheckpoint
from .combine import check_method
from .plan import MergePlan, TensorJob, build_plan
from .units import DTYPE_SIZES, TORCH_NAMES, format_bytes, parse_dtype, parse_size

DEFAULT_SHARD_SIZE = "5GB"


@dataclass(frozen=True)
class MergeReport:
    """What a merge wrote."""

    out: str
    merged: int
    copied: int
    replaced: int
    bytes_written: int
    shards: int
    seconds: float

    @property
    def gb_per_second(self) -> float:
        return self.bytes_written / 1e9 / self.seconds if self.seconds > 0 else 0.0

    def summary(self) -> str:
        return (
            f"{self.out}: {self.merged} tensors merged, {self.copied} copied, {self.replaced} replaced; "
            f"{format_bytes(self.bytes_written)} in {self.shards} shard{'s' if self.shards != 1 else ''}, "
            f"{self.seconds:.1f} s ({self.gb_per_second:.2f} GB/s)"
        )

    def __repr__(self) -> str:
        return f"MergeReport({self.summary()})"


def _as_adapters(adapters: Any) -> list[LoraAdapter]:
    if isinstance(adapters, (str, os.PathLike, LoraAdapter)):
        adapters = [adapters]
    if not isinstance(adapters, Sequence) or not adapters:
        raise TypeError("adapter must be a PEFT adapter folder, a LoraAdapter, or a non-empty list of them")
    return [a if isinstance(a, LoraAdapter) else LoraAdapter.load(a) for a in adapters]


def _as_weights(weights: Sequence[float] | None, count: int) -> list[float]:
    if weights is None:
        return [1.0] * count
    weights = list(weights)
    if len(weights) != count:
        raise ValueError(f"weights has {len(weights)} entries for {count} adapters; give one per adapter")
    for i, w in enumerate(weights):
        if isinstance(w, bool) or not isinstance(w, (int, float)) or w != w or w in (float("inf"), float("-inf")):
            raise ValueError(f"weights[{i}] must be a finite number, got {w!r}")
    return [float(w) for w in weights]


def _check_out(out: str | os.PathLike[str], *inputs: str) -> str:
    destination = Path(out)
    if destination.exists():
        raise FileExistsError(f"{destination} already exists; choose a new output folder (merges never overwrite)")
    resolved = destination.resolve()
    for path in inputs:
        if path and (resolved == Path(path).resolve() or Path(path).resolve() in resolved.parents):
            raise ValueError(f"the output {destination} must not be inside an input ({path})")
    return str(destination)


def _copy_side_files(base: BaseCheckpoint, staging: str, plan: MergePlan, dtype: str | None) -> None:
    """Config, tokenizer and other non-weight files travel with the merged weights."""
    if base.folder is None:
        return
    for entry in sorted(Path(base.folder).iterdir()):
        if not entry.is_file() or entry.name.endswith(WEIGHT_SUFFIXES) or entry.name in INDEX_NAMES:
            continue
        if entry.name == "config.json":
            config = dict(base.config)
            if plan.untied:
                config["tie_word_embeddings"] = False  # PEFT unties them too when their weights differ
            if dtype is not None:
                for key in ("dtype", "torch_dtype"):
                    if key in config or key == "dtype":
                        config[key] = TORCH_NAMES[dtype]
            Path(staging, entry.name).write_text(json.dumps(config, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        else:
            shutil.copy2(entry, Path(staging, entry.name))


def _run(plan: MergePlan, base: BaseCheckpoint, out: str, *, shard_size: int, require_finite: bool, threads: int,
         progress: bool, dtype: str | None, what: str) -> MergeReport:
    started = time.perf_counter()
    writer = _core.CheckpointWriter(
        out, [(j.name, j.dtype, j.shape) for j in plan.jobs], shard_size, {"format": "pt"}
    )
    try:
        bar = tqdm(total=writer.total_bytes, unit="B", unit_scale=True, desc=what, disable=not progress)
        by_name = {job.name: job for job in plan.jobs}
        ordered = [by_name[name] for name in writer.file_order]  # each shard streams front to back
        with bar:
            for position, job in enumerate(ordered):
                following = ordered[position + 1] if position + 1 < len(ordered) else None
                if following is not None and following.source is not None and following.base_values is None:
                    base.tensors.prefetch(following.source)  # the disk reads ahead while this one merges
                _write(writer, base, job, require_finite=require_finite, threads=threads)
                bar.update(_job_bytes(job))
        _copy_side_files(base, writer.staging_dir, plan, dtype)
        writer.commit()
    except BaseException:
        writer.abort()
        raise
    return MergeReport(
        out=out,
        merged=plan.count("merged"),
        copied=plan.count("copied"),
        replaced=plan.count("replaced"),
        bytes_written=writer.total_bytes,
        shards=writer.shard_count,
        seconds=time.perf_counter() - started,
    )


def _job_bytes(job: TensorJob) -> int:
    size = DTYPE_SIZES.get(job.dtype, 1)
    for d in job.shape:
        size *= d
    return size


def _write(writer: Any, base: BaseCheckpoint, job: TensorJob, *, require_finite: bool, threads: int) -> None:
    if job.replacement is not None:
        writer.write(job.name, job.replacement)
    elif job.kind == "merged":
        dense = job.dense() if job.dense is not None else None
        options = dict(dense=dense, magnitude=job.magnitude, magnitude_per_column=job.magnitude_per_column,
                       require_finite=require_finite, threads=threads)
        if job.base_values is not None:
            writer.merge_array(job.name, job.base_values, job.terms, **options)
        else:
            writer.merge(job.name, base.tensors, job.source, job.terms, **options)
    elif job.base_values is not None:
        writer.write(job.name, job.base_values)
    else:
        writer.copy(job.name, base.tensors, job.source)


def merge(
    base: str | os.PathLike[str],
    adapter: Any,
    out: str | os.PathLike[str],
    *,
    weights: Sequence[float] | None = None,
    method: str = "linear",
    density: float | None = None,
    majority_sign: str = "total",
    rank: int | None = None,
    seed: int = 0,
    dtype: Any = None,
    shard_size: int | str = DEFAULT_SHARD_SIZE,
    require_finite: bool = False,
    threads: int = 0,
    progress: bool = True,
) -> MergeReport:
    """Merges PEFT LoRA adapter(s) into a base checkpoint and writes a new one.

    Reads ``base`` (a folder with ``model.safetensors`` or its sharded index, or a
    ``.safetensors`` file) and each adapter folder (``adapter_config.json`` +
    ``adapter_model.safetensors``), and writes ``out`` — a new folder, published
    atomically, with the base's config and tokenizer files. Each merged weight is
    ``W + Σ wᵢ·sᵢ·Bᵢ·Aᵢ`` computed in fp32 and rounded once (nearest-even) to ``dtype``
    (default: each tensor's own). Memory stays at a few tensors whatever the model size.

    Several adapters combine by ``method``: ``"linear"``/``"cat"`` (the exact weighted
    sum of the deltas), ``"svd"`` (that sum truncated to ``rank``), ``"ties"``,
    ``"dare_linear"``, ``"dare_ties"`` and ``"magnitude_prune"`` (on the deltas, with
    ``density``, ``majority_sign`` and, for DARE, ``seed``).

    >>> from ragtune.lora import merge
    >>> report = merge("SmolLM2-135M", "my-adapter", "merged", dtype="bf16")  # doctest: +SKIP
    >>> report                                                                 # doctest: +SKIP
    MergeReport(merged: 60 tensors merged, 212 copied, 0 replaced; 269.06 MB in 1 shard, 0.4 s (0.67 GB/s))
    """
    check_method(method, density=density, majority_sign=majority_sign)
    out_type = parse_dtype(dtype)
    shard_bytes = parse_size(shard_size)
    threads = as_threads(threads)
    adapters = _as_adapters(adapter)
    if rank is not None and (isinstance(rank, bool) or not isinstance(rank, int) or rank <= 0):
        raise ValueError(f"rank must be a positive int, got {rank!r}")
    opened = BaseCheckpoint.open(base)
    destination = _check_out(out, opened.path, *(a.path for a in adapters))
    plan = build_plan(opened, adapters, _as_weights(weights, len(adapters)), method=method, density=density,
                      majority_sign=majority_sign, seed=seed, rank=rank, dtype=out_type)
    return _run(plan, opened, destination, shard_size=shard_bytes, require_finite=require_finite, threads=threads,
                progress=progress, dtype=out_type, what="merging")


def unmerge(
    merged: str | os.PathLike[str],
    adapter: Any,
    out: str | os.PathLike[str],
    *,
    weights: Sequence[float] | None = None,
    dtype: Any = None,
    shard_size: int | str = DEFAULT_SHARD_SIZE,
    require_finite: bool = False,
    threads: int = 0,
    progress: bool = True,
) -> MergeReport:
    """Subtracts adapter(s) from a merged checkpoint: ``W - Σ wᵢ·sᵢ·Bᵢ·Aᵢ``, rounded once.

    Plain LoRA (incl. rsLoRA, embeddings, lora_bias) can be undone; DoRA and
    ``modules_to_save`` cannot (the merge discarded what they replaced) and are refused.
    In bf16/fp16 the result is within rounding of the original, not bit-identical.

    >>> from ragtune.lora import unmerge
    >>> unmerge("merged", "my-adapter", "restored")   # doctest: +SKIP
    """
    out_type = parse_dtype(dtype)
    shard_bytes = parse_size(shard_size)
    threads = as_threads(threads)
    adapters = _as_adapters(adapter)
    opened = BaseCheckpoint.open(merged)
    destination = _check_out(out, opened.path, *(a.path for a in adapters))
    plan = build_plan(opened, adapters, _as_weights(weights, len(adapters)), dtype=out_type, sign=-1.0)
    return _run(plan, opened, destination, shard_size=shard_bytes, require_finite=require_finite, threads=threads,
                progress=progress, dtype=out_type, what="unmerging")
