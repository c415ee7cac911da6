"""Combining rankings (reciprocal rank fusion) and diversifying them (MMR)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

RRF_C = 60


def reciprocal_rank_fusion(rankings: Sequence[Sequence[int]], weights: Sequence[float], *, c: int = RRF_C,
                           k: int) -> list[tuple[int, float]]:
    """Fuse ranked lists of slots: score(d) = sum_i w_i / (c + rank_i(d)), ranks from 1.

    Ties are broken by the smaller slot, so the result is deterministic.

    Examples
    --------
    >>> reciprocal_rank_fusion([[1, 2, 3], [3, 1]], [1.0, 1.0], k=2)
    [(1, 0.03252247488101534), (3, 0.032266458495966696)]
    """
    scores: dict[int, float] = {}
    for ranking, weight in zip(rankings, weights):
        for rank, slot in enumerate(ranking, start=1):
            scores[slot] = scores.get(slot, 0.0) + weight / (c + rank)
    return sorted(scores.items(), key=lambda item: (-item[1], item[0]))[:k]


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
