"""Turning code-point spans of a document into Chunk objects (shared by the
Python-level chunkers, which decide spans and let the core locate them)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from .. import _core
from .._gc import gc_paused
from .chunk import Chunk


def strip_span(text: str, start: int, end: int) -> tuple[int, int]:
    """The span without whitespace at either end (Python's notion of whitespace)."""
    piece = text[start:end]
    stripped = piece.strip()
    if not stripped:
        return start, start
    lead = len(piece) - len(piece.lstrip())
    return start + lead, start + lead + len(stripped)


def chunks_from_spans(
    text: str,
    spans: Sequence[tuple[int, int]],
    *,
    source: str | None,
    metadatas: Sequence[dict[str, Any]] | None = None,
) -> list[Chunk]:
    """Chunks for code-point spans of ``text``, with byte offsets and lines from the core."""
    if not spans:
        return []
    starts = np.fromiter((a for a, _ in spans), dtype=np.int64, count=len(spans))
    ends = np.fromiter((b for _, b in spans), dtype=np.int64, count=len(spans))
    rows = _core.locate_spans(text, starts, ends).tolist()
    with gc_paused():
        return [
            Chunk(text[r[0] : r[1]], r[0], r[1], r[2], r[3], r[4], r[5], i, source,
                  dict(metadatas[i]) if metadatas is not None else {})
            for i, r in enumerate(rows)
        ]
