"""Timing shared by the benchmark scripts."""

from __future__ import annotations

import time
from collections.abc import Callable


def timed(fn: Callable[[], object], repeat: int = 3) -> tuple[float, object]:
    """Best wall time of `repeat` runs, and the last result. The previous run's result is
    released before the clock starts, so a run pays for building its own objects, not
    for freeing the last run's (a one-off run, as peers are timed, frees nothing)."""
    best, result = float("inf"), None
    for _ in range(repeat):
        result = None
        started = time.perf_counter()
        result = fn()
        best = min(best, time.perf_counter() - started)
    return best, result
