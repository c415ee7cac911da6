"""A search result that can cite where it came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ..chunking.chunk import citation


@dataclass(slots=True)
class Hit:
    """One search result.

    Attributes
    ----------
    id : str
        The document's id in the index.
    score : float
        Higher is better: cosine similarity or dot product (dense), minus the squared
        distance (``metric="l2"``), the BM25 score, or the fused reciprocal-rank score
        (hybrid).
    text : str
        The indexed text.
    metadata : dict
        The document's metadata (a copy).
    source, start, end, line_start, line_end
        Where a chunk came from (``None`` for plain texts).

    Examples
    --------
    >>> Hit("a#0", 0.9, "text", {}, "guide.md", 10, 14, 3, 3).citation()
    'guide.md:3-3'
    """

    id: str
    score: float
    text: str
    metadata: dict[str, Any] = field(default_factory=dict)
    source: str | None = None
    start: int | None = None
    end: int | None = None
    line_start: int | None = None
    line_end: int | None = None

    def citation(self) -> str:
        """``source:line_start-line_end`` for chunks (:func:`ragtune.chunking.chunk.citation`),
        the id for a text stored without a source."""
        if self.source is None:
            return self.id
        return citation(self.source, self.line_start, self.line_end, unnamed=self.id)

    def __repr__(self) -> str:
        preview = self.text if len(self.text) <= 50 else self.text[:47] + "..."
        return f"Hit({self.citation()!r}, score={self.score:.4f}, {preview!r})"
