"""Which SIMD instruction set ragtune's kernels run on.

Kernels are compiled for sse2, sse4_2, avx2 (+fma) and avx512bw and chosen at run
time; set ``RAGTUNE_FORCE_ISA=avx2`` (say) before import to pin one.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager

from . import _core


def simd_info() -> dict[str, object]:
    """Report the ISA in use and those this CPU can run.

    Returns
    -------
    dict
        ``{"active": "avx2", "available": ["sse2", ...], "forced": None}``; ``forced``
        is the value of ``RAGTUNE_FORCE_ISA`` when set.

    Examples
    --------
    >>> import ragtune
    >>> ragtune.simd_info()["active"] in ragtune.simd_info()["available"]
    True
    """
    info = dict(_core.simd_info())
    info["forced"] = os.environ.get("RAGTUNE_FORCE_ISA") or None
    return info


@contextmanager
def forced_isa(name: str) -> Iterator[None]:
    """Run the kernels on one ISA inside a ``with`` block (for tests and benchmarks).

    Examples
    --------
    >>> from ragtune.simd import forced_isa
    >>> with forced_isa("sse2"):
    ...     pass
    """
    available = _core.simd_info()["available"]
    if name not in available:
        raise ValueError(f"this CPU cannot run ISA {name!r}; it runs {', '.join(available)}")
    _core.force_isa(name)
    try:
        yield
    finally:
        _core.force_isa(None)
