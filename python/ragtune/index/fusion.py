"""Combining rankings (reciprocal rank fusion) and diversifying them (MMR)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

RRF_C = 60


def reciprocal_rank_fusion(rankings: Sequence[Sequence[int]], weights: Sequence[float], *, c: int = RRF_C,
                           k: int, tiebreak: Callable[[int], Any] | None = None,
                           scores: Sequence[Sequence[float]] | None = None) -> list[tuple[int, float]]:
    """Fuse ranked lists of slots: score(d) = sum_i w_i / (c + rank_i(d)), ranks from 1.

    With ``scores`` (one list per ranking), documents with equal scores share a rank
    (the first of their group), so which of them a ranking lists first does not matter.
    Fused ties (common: rank r in one list only, against rank r in the other only) are
    broken by ``tiebreak(slot)`` (the Index passes the document's id, so the order does
    not depend on where documents sit), else by the smaller slot.

    Examples
    --------
    >>> reciprocal_rank_fusion([[1, 2, 3], [3, 1]], [1.0, 1.0], k=2)
    [(1, 0.03252247488101534), (3, 0.032266458495966696)]
    """
    fused: dict[int, float] = {}
    for i, (ranking, weight) in enumerate(zip(rankings, weights)):
        values = scores[i] if scores is not None else None
        rank = 0
        for position, slot in enumerate(ranking, start=1):
            if values is None or position == 1 or values[position - 1] != values[position - 2]:
                rank = position
            fused[slot] = fused.get(slot, 0.0) + weight / (c + rank)
    if tiebreak is None:
        return sorted(fused.items(), key=lambda item: (-item[1], item[0]))[:k]
    return sorted(fused.items(), key=lambda item: (-item[1], tiebreak(item[0])))[:k]


def maximal_marginal_relevance(query: np.ndarray, candidates: np.ndarray, *, k: int, lambda_mult: float) -> list[int]:
    """Indices of ``k`` candidates chosen greedily to maximise
    ``lambda_mult * sim(query, d) - (1 - lambda_mult) * max sim(d, chosen)`` (cosine).

    Examples
    --------
    >>> q = np.array([1.0, 0.0]); c = np.array([[1.0, 0.0], [0.99, 0.1], [0.0, 1.0]])
    >>> maximal_marginal_relevance(q, c, k=2, lambda_mult=0.3)
    [0, 2]
    """
    if len(candidates) == 0 or k <= 0:
        return []
    def unit(m: np.ndarray) -> np.ndarray:
        norms = np.linalg.norm(m, axis=-1, keepdims=True)
        return m / np.where(norms == 0, 1, norms)

    c = unit(np.asarray(candidates, dtype=np.float64))
    relevance = c @ unit(np.asarray(query, dtype=np.float64))
    chosen = [int(np.argmax(relevance))]
    redundancy = c @ c[chosen[0]]
    while len(chosen) < min(k, len(c)):
        score = lambda_mult * relevance - (1 - lambda_mult) * redundancy
        score[chosen] = -np.inf
        best = int(np.argmax(score))
        chosen.append(best)
        redundancy = np.maximum(redundancy, c @ c[best])
    return chosen
