"""Combining several adapters' updates (task vectors) into one.

Every method works on the full deltas ΔW_i = s_i·B_i·A_i, which is what the methods
mean. PEFT's ``add_weighted_adapter`` applies ``linear``, ``ties``, ``dare_*`` and
``magnitude_prune`` to the A and B factors separately instead; its result then holds
cross terms B_i·A_j and prunes/elects signs on factors, not on weights. ragtune does
not reproduce that: ``linear`` here is the exact weighted sum of the deltas, and the
pruning methods follow their papers (TIES: Yadav et al. 2023; DARE: Yu et al. 2023)
on the deltas, with PEFT's helper formulas (``peft.utils.merge_utils``).
"""

from __future__ import annotations

import zlib
from collections.abc import Sequence

import numpy as np

METHODS = ("linear", "cat", "svd", "ties", "dare_linear", "dare_ties", "magnitude_prune")
MAJORITY_SIGN_METHODS = ("total", "frequency")


def check_method(method: str, *, density: float | None, majority_sign: str) -> None:
    """Validate a combination request up front, before any file is written."""
    if method not in METHODS:
        raise ValueError(f"method={method!r} is not one of {', '.join(METHODS)}")
    if majority_sign not in MAJORITY_SIGN_METHODS:
        raise ValueError(f"majority_sign={majority_sign!r} must be 'total' or 'frequency'")
    if method in ("ties", "dare_linear", "dare_ties", "magnitude_prune"):
        if density is None:
            raise ValueError(f"method={method!r} needs density= (the fraction of each delta kept, in (0, 1])")
        if isinstance(density, bool) or not isinstance(density, (int, float)) or not 0 < density <= 1:
            raise ValueError(f"density must be a number in (0, 1], got {density!r}")


def magnitude_prune(delta: np.ndarray, density: float) -> np.ndarray:
    """Keeps the int(density·n) entries of largest magnitude, zeroes the rest."""
    keep = int(density * delta.size)
    if keep >= delta.size:
        return delta
    flat = np.abs(delta).ravel()
    mask = np.zeros(delta.size, dtype=bool)
    if keep > 0:
        mask[np.argpartition(flat, delta.size - keep)[delta.size - keep:]] = True
    return np.where(mask.reshape(delta.shape), delta, np.float32(0))


def random_prune(delta: np.ndarray, density: float, rng: np.random.Generator) -> np.ndarray:
    """DARE: drops each entry with probability 1 - density and rescales the rest by 1/density."""
    if density >= 1:
        return delta
    mask = rng.random(delta.shape, dtype=np.float32) < density
    return np.where(mask, delta / np.float32(density), np.float32(0)).astype(np.float32)


def _elect_and_average(deltas: list[np.ndarray], weights: Sequence[float], majority_sign: str) -> np.ndarray:
    stack = np.stack(deltas)
    signs = np.sign(stack)
    votes = stack.sum(axis=0) if majority_sign == "total" else signs.sum(axis=0)
    majority = np.where(votes >= 0, np.float32(1), np.float32(-1))
    agree = signs == majority
    weighted = np.asarray(weights, dtype=np.float32).reshape((-1,) + (1,) * deltas[0].ndim) * stack
    total = np.where(agree, weighted, np.float32(0)).sum(axis=0)
    count = np.maximum(agree.sum(axis=0), 1).astype(np.float32)
    return (total / count).astype(np.float32)


def tensor_rng(seed: int, name: str) -> np.random.Generator:
    """A generator per tensor, so DARE's masks do not depend on the order tensors are visited."""
    return np.random.default_rng([int(seed), zlib.crc32(name.encode("utf-8"))])


def combine_deltas(
    deltas: list[np.ndarray],
    weights: Sequence[float],
    *,
    method: str,
    density: float | None = None,
    majority_sign: str = "total",
    seed: int = 0,
    name: str = "",
) -> np.ndarray:
    """One combined fp32 delta from per-adapter deltas of the same tensor.

    >>> a = np.array([[1.0, -2.0]], np.float32); b = np.array([[3.0, 1.0]], np.float32)
    >>> combine_deltas([a, b], [0.5, 0.5], method="linear").tolist()
    [[2.0, -0.5]]
    """
    if method in ("linear", "cat", "svd"):
        out = np.zeros_like(deltas[0])
        for delta, weight in zip(deltas, weights):
            out += np.float32(weight) * delta
        return out
    assert density is not None
    if method == "magnitude_prune":
        out = np.zeros_like(deltas[0])
        for delta, weight in zip(deltas, weights):
            out += np.float32(weight) * magnitude_prune(delta, density)
        return out
    if method == "ties":
        return _elect_and_average([magnitude_prune(d, density) for d in deltas], weights, majority_sign)
    rng = tensor_rng(seed, name)
    pruned = [random_prune(d, density, rng) for d in deltas]
    if method == "dare_linear":
        out = np.zeros_like(deltas[0])
        for delta, weight in zip(pruned, weights):
            out += np.float32(weight) * delta
        return out
    return _elect_and_average(pruned, weights, majority_sign)  # dare_ties


def truncated_svd(delta: np.ndarray, rank: int) -> tuple[np.ndarray, np.ndarray, float]:
    """B (out x k), A (k x in) with B·A the best rank-k approximation of ``delta``, and
    the relative Frobenius error of that approximation (0 when nothing is lost)."""
    u, s, vh = np.linalg.svd(delta.astype(np.float64), full_matrices=False)
    k = min(rank, s.size)
    total = float(np.sqrt(np.sum(s**2)))
    lost = float(np.sqrt(np.sum(s[k:] ** 2)))
    return (u[:, :k] * s[:k]).astype(np.float32), vh[:k].astype(np.float32), (lost / total if total > 0 else 0.0)
