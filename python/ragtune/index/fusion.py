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


def fuse_rankings(rankings: Sequence[tuple[np.ndarray, np.ndarray]], weights: Sequence[float], *, k: int,
                  order: np.ndarray, c: int = RRF_C) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """:func:`reciprocal_rank_fusion` with score ties, for every query at once, row by
    row in numpy: each of the two rankings is a ``(scores, slots)`` pair of
    (queries, depth) arrays, best first, slot -1 padding the end of a row;
    ``order[slot]`` ranks slots for fused ties (the Index passes each slot's id order).
    The same sums in the same order as the per-query function, so the same floats
    (tested).

    Returns ``(bounds, slots, scores)``: query q's fused top k are
    ``slots[bounds[q]:bounds[q + 1]]``.

    Examples
    --------
    >>> dense = (np.array([[3.0, 2.0, 1.0]]), np.array([[1, 2, 3]]))
    >>> bm25 = (np.array([[5.0, 4.0, 0.0]]), np.array([[3, 1, -1]]))
    >>> bounds, slots, scores = fuse_rankings([dense, bm25], [1.0, 1.0], k=2, order=np.arange(4))
    >>> reference = reciprocal_rank_fusion([[1, 2, 3], [3, 1]], [1.0, 1.0], k=2)
    >>> slots.tolist(), scores.tolist() == [s for _, s in reference]
    ([1, 3], True)
    """
    if len(rankings) != 2:
        raise ValueError(f"fuse_rankings fuses two rankings, got {len(rankings)}")
    slot_parts, value_parts = [], []
    for (scores, slots), weight in zip(rankings, weights):
        nq, depth = slots.shape
        positions = np.broadcast_to(np.arange(1, depth + 1, dtype=np.int64), (nq, depth))
        starts = np.ones((nq, depth), dtype=bool)  # where a run of equal scores starts: the run shares its rank
        starts[:, 1:] = scores[:, 1:] != scores[:, :-1]
        rank = np.maximum.accumulate(np.where(starts, positions, 0), axis=1)
        slot_parts.append(slots.astype(np.int64))
        value_parts.append(np.where(slots >= 0, weight / (c + rank), 0.0))
    slots, values = np.concatenate(slot_parts, axis=1), np.concatenate(value_parts, axis=1)
    nq = slots.shape[0]
    sentinel = np.iinfo(np.int64).max
    slots = np.where(slots >= 0, slots, sentinel)
    # A slot appears at most once per ranking: after a stable sort of each row, its two
    # entries are neighbours, the first ranking's first, and are added in that order.
    by_slot = np.argsort(slots, axis=1, kind="stable")
    slots, values = np.take_along_axis(slots, by_slot, axis=1), np.take_along_axis(values, by_slot, axis=1)
    fused = values.copy()
    twin = (slots[:, 1:] == slots[:, :-1]) & (slots[:, 1:] != sentinel)
    fused[:, :-1][twin] = values[:, :-1][twin] + values[:, 1:][twin]
    fused[:, 1:][twin] = -np.inf
    fused[slots == sentinel] = -np.inf
    width = fused.shape[1]
    if k < width:  # keep what can reach the top k: scores at or above each row's k-th best (ties kept)
        kth = -np.partition(-fused, k - 1, axis=1)[:, k - 1:k]
        fused = np.where(fused >= kth, fused, -np.inf)
    query, column = np.nonzero(fused > -np.inf)
    slot, score = slots[query, column], fused[query, column]
    ranked = np.lexsort((order[slot], -score, query))
    query, slot, score = query[ranked], slot[ranked], score[ranked]
    first = np.searchsorted(query, np.arange(nq + 1))
    keep = np.arange(len(query)) - first[query] < k
    bounds = np.zeros(nq + 1, dtype=np.int64)
    np.cumsum(np.bincount(query[keep], minlength=nq), out=bounds[1:])
    return bounds, slot[keep], score[keep]


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
