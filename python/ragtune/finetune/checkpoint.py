"""Training checkpoints, written atomically and read without pickle.

A checkpoint is a folder ``checkpoints/step-00000050`` holding the adapter as PEFT
writes it, the optimizer's and scheduler's state (tensors in safetensors, the rest in
JSON), the random-number generators' states and the position in the data. It is
written into a staging folder beside it, every file fsynced, then renamed into place
(and the parent fsynced): a kill or a full disk mid-write leaves the previous
checkpoint as it was. Older checkpoints are removed only after a newer one is in place.
"""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import torch

from .._files import fsync_path, read_json

STATE_NAME = "state.json"
_PREFIX = "step-"
_FORMAT = 1


def _fsync_tree(folder: Path) -> None:
    for path in folder.rglob("*"):
        fsync_path(path)
    fsync_path(folder)


def _optimizer_payload(optimizer: torch.optim.Optimizer) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    state = optimizer.state_dict()
    tensors, scalars = {}, {}
    for index, values in state["state"].items():
        for name, value in values.items():
            if isinstance(value, torch.Tensor):
                tensors[f"{index}.{name}"] = value.detach().cpu().contiguous()
            else:
                scalars[f"{index}.{name}"] = value
    groups = [{k: list(v) if isinstance(v, tuple) else v for k, v in g.items()} for g in state["param_groups"]]
    return tensors, {"param_groups": groups, "scalars": scalars}


def _rng_tensors() -> dict[str, torch.Tensor]:
    tensors = {"torch": torch.get_rng_state()}
    if torch.cuda.is_available() and torch.cuda.is_initialized():
        for n, state in enumerate(torch.cuda.get_rng_state_all()):
            tensors[f"cuda.{n}"] = state
    return tensors


def save_checkpoint(root: Path, step: int, model: Any, optimizer: torch.optim.Optimizer, scheduler: Any,
                    state: dict[str, Any], rng_state: dict[str, torch.Tensor], *, keep: int = 2) -> Path:
    """Write the checkpoint of ``step`` atomically; keep the newest ``keep`` checkpoints."""
    from safetensors.torch import save_file

    root.mkdir(parents=True, exist_ok=True)
    final = root / f"{_PREFIX}{step:08d}"
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.partial-{os.getpid()}-", dir=root))
    try:
        model.save_pretrained(str(staging / "adapter"), safe_serialization=True,
                            save_embedding_layers=False)  # the vocabulary never changes here
        tensors, extra = _optimizer_payload(optimizer)
        save_file(tensors, str(staging / "optimizer.safetensors"))
        save_file({k: v.contiguous() for k, v in rng_state.items()}, str(staging / "rng.safetensors"))
        (staging / "optimizer.json").write_text(json.dumps(extra), encoding="utf-8")
        (staging / "scheduler.json").write_text(json.dumps(scheduler.state_dict()), encoding="utf-8")
        # Written last: a folder with a readable state.json is a whole checkpoint.
        (staging / STATE_NAME).write_text(json.dumps({"format": _FORMAT, "step": step, **state}), encoding="utf-8")
        _fsync_tree(staging)
        if final.exists():  # a checkpoint of this very step (a resumed run re-saving): replace it whole
            shutil.rmtree(final)
        staging.rename(final)
        fsync_path(root)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    for old in checkpoints(root)[:-keep] if keep > 0 else []:
        shutil.rmtree(old, ignore_errors=True)
    return final


def checkpoints(root: Path) -> list[Path]:
    """Committed checkpoint folders, oldest first (staging folders of killed runs excluded)."""
    if not root.is_dir():
        return []
    found = [p for p in root.iterdir() if p.is_dir() and p.name.startswith(_PREFIX) and (p / STATE_NAME).is_file()]
    return sorted(found, key=lambda p: p.name)


def clear_staging(root: Path) -> None:
    """Remove staging folders that killed runs left behind."""
    if root.is_dir():
        for path in root.iterdir():
            if path.name.startswith(f".{_PREFIX}") and ".partial-" in path.name:
                shutil.rmtree(path, ignore_errors=True)


def read_state(path: Path) -> dict[str, Any]:
    """A checkpoint's ``state.json``; ValueError when it is unreadable."""
    try:
        state = read_json(path / STATE_NAME, what="checkpoint state")
    except OSError as error:
        raise ValueError(f"checkpoint {path} is damaged ({error})") from None
    if not isinstance(state, dict) or state.get("format") != _FORMAT or not isinstance(state.get("step"), int):
        raise ValueError(f"checkpoint {path} was not written by this version of ragtune")
    return state


def load_checkpoint(path: Path, model: Any, optimizer: torch.optim.Optimizer, scheduler: Any) -> dict[str, Any]:
    """Restore the adapter, optimizer, scheduler and generators from ``path``; returns its state."""
    from peft import set_peft_model_state_dict
    from safetensors import SafetensorError
    from safetensors.torch import load_file

    state = read_state(path)
    try:
        adapter = load_file(str(path / "adapter" / "adapter_model.safetensors"))
        tensors = load_file(str(path / "optimizer.safetensors"))
        rng = load_file(str(path / "rng.safetensors"))
        extra = json.loads((path / "optimizer.json").read_text(encoding="utf-8"))
        schedule = json.loads((path / "scheduler.json").read_text(encoding="utf-8"))
    except (OSError, SafetensorError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"checkpoint {path} is damaged ({error})") from None
    result = set_peft_model_state_dict(model, adapter)
    unexpected = getattr(result, "unexpected_keys", [])
    if unexpected:
        raise ValueError(f"checkpoint {path} holds weights this model lacks ({unexpected[:3]}): it belongs to "
                         "another base model or LoRA configuration")
    restored: dict[int, dict[str, Any]] = {}
    for key, tensor in tensors.items():
        index, name = key.split(".", 1)
        restored.setdefault(int(index), {})[name] = tensor
    for key, value in extra["scalars"].items():
        index, name = key.split(".", 1)
        restored.setdefault(int(index), {})[name] = value
    groups = [{k: tuple(v) if k == "betas" else v for k, v in g.items()} for g in extra["param_groups"]]
    optimizer.load_state_dict({"state": restored, "param_groups": groups})
    scheduler.load_state_dict(schedule)
    torch.set_rng_state(rng["torch"])
    cuda = [rng[k] for k in sorted((k for k in rng if k.startswith("cuda.")), key=lambda k: int(k.split(".")[1]))]
    if cuda and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(cuda)
    return state
