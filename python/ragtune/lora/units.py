"""Parsing the units users type: sizes ("2GB", "500MiB") and dtypes ("bf16", "float16");
and the one table of safetensors dtypes for ragtune.lora (names and sizes from the C++
core's table, the float types LoRA merges, torch's names for them)."""

from __future__ import annotations

import re
from typing import Any

from .. import _core

# Every safetensors dtype name and its bytes per element (the core's table).
DTYPE_SIZES: dict[str, int] = dict(_core.SAFETENSORS_DTYPES)
# The dtypes LoRA factors and merged weights may have, with torch's names for them.
TORCH_NAMES = {"F32": "float32", "F16": "float16", "BF16": "bfloat16"}
FLOAT_TYPES = tuple(TORCH_NAMES)

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?I?B?)?\s*$", re.IGNORECASE)
_UNITS = {
    "": 1, "B": 1,
    "KB": 10**3, "MB": 10**6, "GB": 10**9, "TB": 10**12,
    "KIB": 2**10, "MIB": 2**20, "GIB": 2**30, "TIB": 2**40,
    "K": 10**3, "M": 10**6, "G": 10**9, "T": 10**12,
}

_DTYPES = {
    "f32": "F32", "fp32": "F32", "float32": "F32", "float": "F32",
    "f16": "F16", "fp16": "F16", "float16": "F16", "half": "F16",
    "bf16": "BF16", "bfloat16": "BF16",
}


def parse_size(value: Any, *, name: str = "shard_size") -> int:
    """Bytes from an int or a string like ``"2GB"`` (decimal, as Hugging Face uses) or ``"512MiB"``.

    >>> parse_size("2GB")
    2000000000
    """
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a size like '2GB' or a number of bytes, got {value!r}")
    if isinstance(value, int):
        size = value
    elif isinstance(value, str):
        match = _SIZE.match(value)
        unit = (match.group(2) or "").upper() if match else None
        if not match or unit not in _UNITS:
            raise ValueError(f"{name}={value!r} is not a size; write e.g. '2GB', '500MB' or '4GiB'")
        size = int(float(match.group(1)) * _UNITS[unit])
    else:
        raise TypeError(f"{name} must be a size like '2GB' or a number of bytes, got {type(value).__name__}")
    if size <= 0:
        raise ValueError(f"{name} must be positive, got {value!r}")
    return size


def parse_dtype(value: Any) -> str | None:
    """The safetensors name (F32, F16, BF16) of a dtype given as text or a torch/numpy dtype; None passes.

    >>> parse_dtype("bf16")
    'BF16'
    """
    if value is None:
        return None
    text = str(value).lower().removeprefix("torch.")
    if text.upper() in FLOAT_TYPES:
        return text.upper()
    if text in _DTYPES:
        return _DTYPES[text]
    raise ValueError(f"dtype={value!r} is not supported for merged weights; use 'bf16', 'fp16' or 'fp32'")


def format_bytes(size: float) -> str:
    """'1.23 GB' style, decimal units like the sizes users type."""
    for unit in ("B", "KB", "MB", "GB"):
        if abs(size) < 1000:
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.2f} {unit}"
        size /= 1000
    return f"{size:.2f} TB"
