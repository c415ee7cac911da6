"""Answer scores and their uncertainty.

Token F1 and exact match compare an answer with the gold answer after normalising
both (lower case, punctuation and the articles a/an/the removed, whitespace
collapsed), as reading-comprehension benchmarks do. Means come with bootstrap
confidence intervals over questions (scipy's ``bootstrap``), and two arms are compared
on the same questions by a paired bootstrap of their per-question differences: an
arm "helped" only when that interval lies above zero.
"""

from __future__ import annotations

import re
import string
import warnings
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .._inputs import as_text

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = str.maketrans("", "", string.punctuation)


def normalize_answer(text: str) -> str:
    """Lower case, no punctuation, no articles, single spaces.

    Examples
    --------
    >>> normalize_answer("The  answer: Use `py`!")
    'answer use py'
    """
    text = as_text(text, what="answer").lower().translate(_PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def token_f1(prediction: str, gold: str) -> float:
    """Harmonic mean of token precision and recall after :func:`normalize_answer`
    (1.0 when both are empty, 0.0 when only one is).

    Examples
    --------
    >>> round(token_f1("Use the py launcher", "the py launcher is used"), 3)
    0.571
    """
    predicted, expected = normalize_answer(prediction).split(), normalize_answer(gold).split()
    if not predicted or not expected:
        return float(predicted == expected)
    common = sum((Counter(predicted) & Counter(expected)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(predicted), common / len(expected)
    return 2 * precision * recall / (precision + recall)


def exact_match(prediction: str, gold: str) -> float:
    """1.0 when the normalised answers are equal, else 0.0.

    Examples
    --------
    >>> exact_match("The py launcher.", "py launcher")
    1.0
    """
    return float(normalize_answer(prediction) == normalize_answer(gold))


@dataclass(frozen=True, slots=True)
class Interval:
    """A mean and its confidence interval."""

    mean: float
    low: float
    high: float
    confidence: float = 0.95
    n: int = 0

    @property
    def excludes_zero(self) -> bool:
        """True when the whole interval lies on one side of zero."""
        return self.low > 0 or self.high < 0

    def __repr__(self) -> str:
        return f"{self.mean:.3f} [{self.low:.3f}, {self.high:.3f}]"


def _values(values: Sequence[float], what: str) -> np.ndarray:
    array = np.asarray(values, dtype=np.float64).reshape(-1)
    if array.size == 0:
        raise ValueError(f"{what} is empty: there is nothing to average")
    if not np.isfinite(array).all():
        raise ValueError(f"{what} holds NaN or infinite values; score every question before averaging")
    return array


def _mean_interval(values: np.ndarray, *, confidence: float, resamples: int, seed: int) -> Interval:
    from scipy.stats import bootstrap

    point = float(values.mean())
    if np.ptp(values) == 0:  # every resample is the same: no spread to estimate
        return Interval(point, point, point, confidence, values.size)
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be between 0 and 1, got {confidence}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scipy warns on near-degenerate samples; the percentile interval stands
        result = bootstrap((values,), np.mean, n_resamples=resamples, vectorized=True, confidence_level=confidence,
                           method="percentile", rng=np.random.default_rng(seed))
    return Interval(point, float(result.confidence_interval.low), float(result.confidence_interval.high),
                    confidence, values.size)


def bootstrap_interval(values: Sequence[float], *, confidence: float = 0.95, resamples: int = 2000,
                       seed: int = 0) -> Interval:
    """The mean of per-question scores with a percentile bootstrap interval.

    Examples
    --------
    >>> bootstrap_interval([1, 0, 1, 1, 0, 1, 1, 1], seed=0)
    0.750 [0.375, 1.000]
    """
    return _mean_interval(_values(values, "values"), confidence=confidence, resamples=resamples, seed=seed)


def paired_difference(a: Sequence[float], b: Sequence[float], *, confidence: float = 0.95, resamples: int = 2000,
                      seed: int = 0) -> Interval:
    """Mean of ``a - b`` over the same questions, with a paired bootstrap interval: ``a``
    is better than ``b`` only when ``low > 0``.

    Examples
    --------
    >>> d = paired_difference([0.9, 0.8, 0.7, 0.9], [0.5, 0.6, 0.4, 0.5])
    >>> d.mean > 0 and d.excludes_zero
    True
    """
    left, right = _values(a, "a"), _values(b, "b")
    if left.shape != right.shape:
        raise ValueError(f"a and b must score the same questions: {left.size} vs {right.size} values")
    # Resampling the per-question differences is the paired bootstrap: each question keeps its pair.
    return _mean_interval(left - right, confidence=confidence, resamples=resamples, seed=seed)
