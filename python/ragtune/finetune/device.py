"""Where training runs and in which precision: the CPU everywhere, CUDA when present
(bf16 where the GPU supports it), or what ``device=`` / ``dtype=`` force."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

_DTYPES = {"fp32": "float32", "float32": "float32", "bf16": "bfloat16", "bfloat16": "bfloat16"}


def resolve_device(device: Any) -> Any:
    """``"auto"`` (CUDA when available, else the CPU), ``"cpu"``, ``"cuda"``, ``"cuda:N"``
    or a ``torch.device``."""
    import torch

    if isinstance(device, torch.device):
        chosen = device
    elif device == "auto":
        chosen = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    elif isinstance(device, str):
        try:
            chosen = torch.device(device)
        except RuntimeError:
            raise ValueError(f"device must be 'auto', 'cpu', 'cuda' or 'cuda:N', got {device!r}") from None
    else:
        raise TypeError(f"device must be a string or torch.device, got {type(device).__name__}")
    if chosen.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device={device!r} but this machine has no CUDA GPU that torch can use; use 'cpu'")
    if chosen.type not in ("cpu", "cuda"):
        raise ValueError(f"device {chosen} is not supported for training; use 'cpu' or 'cuda'")
    return chosen


def resolve_dtype(dtype: str, device: Any) -> Any:
    """The base model's dtype: ``"auto"`` is bf16 on a GPU that supports it, fp32 otherwise.
    LoRA weights and the optimizer's state stay fp32 in any case (PEFT keeps adapters in fp32)."""
    import torch

    if dtype == "auto":
        if device.type == "cuda" and torch.cuda.is_bf16_supported():
            return torch.bfloat16
        return torch.float32
    if dtype in ("fp16", "float16"):
        raise ValueError("fp16 training needs loss scaling that ragtune does not do; use dtype='bf16' or 'fp32'")
    if dtype not in _DTYPES:
        raise ValueError(f"dtype must be 'auto', 'bf16' or 'fp32', got {dtype!r}")
    if _DTYPES[dtype] == "bfloat16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise ValueError("this GPU does not support bf16; use dtype='fp32'")
    return getattr(torch, _DTYPES[dtype])


@contextmanager
def torch_threads(threads: int) -> Iterator[None]:
    """torch's CPU threads set to ``threads`` inside the block (0 leaves torch's default)."""
    import torch

    previous = torch.get_num_threads()
    if threads > 0:
        torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
