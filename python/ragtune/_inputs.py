"""Validation shared by the public API: every public function checks its input
here and raises an exception that names the problem and the fix."""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any


def as_text(value: Any, *, what: str = "text") -> str:
    """Return ``value`` as str; UTF-8 bytes are decoded, anything else is refused."""
    if isinstance(value, str):
        return value
    if isinstance(value, (bytes, bytearray, memoryview)):
        try:
            return bytes(value).decode("utf-8")
        except UnicodeDecodeError as error:
            raise ValueError(
                f"{what} is not valid UTF-8: byte {error.start} ({bytes(value)[error.start]:#04x}) "
                f"{error.reason}; decode it yourself, e.g. data.decode('utf-8', errors='replace')"
            ) from None
    raise TypeError(f"{what} must be str (or UTF-8 bytes), got {type(value).__name__}")


def as_texts(values: Any, *, what: str = "texts") -> list[str]:
    """Return a list of str from a sequence of str/bytes; a lone str is refused."""
    if isinstance(values, (str, bytes)):
        raise TypeError(f"{what} must be a sequence of texts, not a single {type(values).__name__}; wrap it in a list")
    if not isinstance(values, Iterable):
        raise TypeError(f"{what} must be a sequence of texts, got {type(values).__name__}")
    return [as_text(v, what=f"{what}[{i}]") for i, v in enumerate(values)]


# Sizes beyond this are certainly mistakes, and would overflow the core's counters.
MAX_SIZE = 2**62
MAX_THREADS = 1024


def as_int(value: Any, *, name: str, minimum: int | None = None, maximum: int = MAX_SIZE) -> int:
    """Return ``value`` as a plain int (bools and floats refused), within [minimum, maximum]."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, got {type(value).__name__} {value!r}")
    if minimum is not None and value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    if value > maximum:
        raise ValueError(f"{name} must be <= {maximum}, got {value}")
    return int(value)


def as_float(value: Any, *, name: str, low: float, high: float, low_open: bool = False) -> float:
    """Return ``value`` as a finite float in [low, high] (or (low, high] with ``low_open``)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ValueError(f"{name} must be a finite number, got {value!r}")
    if value < low or value > high or (low_open and value == low):
        raise ValueError(f"{name} must be {'>' if low_open else '>='} {low} and <= {high}, got {value}")
    return float(value)


def as_threads(value: Any) -> int:
    """``threads``: 0 means all cores (oneTBB's default), N > 0 exactly N."""
    return as_int(value, name="threads (0 = all cores)", minimum=0, maximum=MAX_THREADS)


def as_optional_sources(sources: Sequence[str | None] | None, count: int) -> list[str | None]:
    """One source per text, or None for all."""
    if sources is None:
        return [None] * count
    sources = list(sources)
    if len(sources) != count:
        raise ValueError(f"sources has {len(sources)} entries for {count} texts; give one per text")
    for i, source in enumerate(sources):
        if source is not None and not isinstance(source, str):
            raise TypeError(f"sources[{i}] must be str or None, got {type(source).__name__}")
    return sources
