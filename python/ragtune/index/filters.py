"""Metadata filters: a small dict language, compiled to a set of allowed slots.

Syntax (MongoDB/Chroma style)::

    {"lang": "en"}                                  # equality
    {"year": {"$gte": 2020, "$lt": 2024}}           # $eq $ne $gt $gte $lt $lte
    {"tag": {"$in": ["faq", "howto"]}}              # $in $nin
    {"$and": [{...}, {...}]}, {"$or": [...]}, {"$not": {...}}
    {"lang": "en", "year": 2024}                    # several keys: all must hold

A document without the field matches only ``$ne`` and ``$nin``. Comparing values
of different types (a string with a number) is simply false. The compiled filter is
a bitset the C++ search checks during graph traversal.
"""

from __future__ import annotations

import json
import operator
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

_MISSING = object()
_COMPARISONS: dict[str, Callable[[Any, Any], bool]] = {
    "$eq": operator.eq,
    "$ne": operator.ne,
    "$gt": operator.gt,
    "$gte": operator.ge,
    "$lt": operator.lt,
    "$lte": operator.le,
}
_LOGICAL = ("$and", "$or", "$not")


def _compare(op: Callable[[Any, Any], bool], expected: Any) -> Callable[[Any], bool]:
    def test(value: Any) -> bool:
        try:
            return bool(op(value, expected))
        except TypeError:
            return False

    return test


def _field_test(name: str, condition: Any) -> Callable[[Any], bool]:
    """A test of one field's value (``_MISSING`` when absent)."""
    if not isinstance(condition, dict):
        condition = {"$eq": condition}
    if not condition:
        raise ValueError(f"filter on {name!r} is an empty dict; give a value or an operator like {{'$eq': ...}}")
    tests: list[Callable[[Any], bool]] = []
    for op, expected in condition.items():
        if op in _COMPARISONS:
            compare = _compare(_COMPARISONS[op], expected)
            matches_missing = op == "$ne"
            tests.append(lambda v, c=compare, m=matches_missing: m if v is _MISSING else c(v))
        elif op in ("$in", "$nin"):
            if isinstance(expected, (str, bytes)) or not isinstance(expected, Sequence):
                raise ValueError(f"{op} on {name!r} needs a list of values, got {expected!r}")
            values = list(expected)
            inside = op == "$in"
            tests.append(lambda v, vs=values, i=inside: (not i) if v is _MISSING else ((v in vs) == i))
        else:
            raise ValueError(f"unknown filter operator {op!r} on {name!r}; use one of "
                             f"{', '.join([*_COMPARISONS, '$in', '$nin'])}")
    return lambda v: all(t(v) for t in tests)


class FilterCompiler:
    """Evaluates filters over the metadata of every slot, column by column."""

    def __init__(self, metadatas: Sequence[dict[str, Any] | None]) -> None:
        self._metadatas = metadatas
        self._columns: dict[str, np.ndarray] = {}

    def _column(self, name: str) -> np.ndarray:
        if name not in self._columns:
            column = np.empty(len(self._metadatas), dtype=object)
            for slot, metadata in enumerate(self._metadatas):
                column[slot] = _MISSING if metadata is None else metadata.get(name, _MISSING)
            self._columns[name] = column
        return self._columns[name]

    def mask(self, spec: Any) -> np.ndarray:
        """A boolean array over slots: where the filter holds (free slots included; the
        index only returns live ones)."""
        if not isinstance(spec, dict):
            raise TypeError(f"a filter is a dict like {{'lang': 'en'}}, got {type(spec).__name__}")
        result = np.ones(len(self._metadatas), dtype=bool)
        for key, value in spec.items():
            result &= self._clause(key, value)
        return result

    def _clause(self, key: str, value: Any) -> np.ndarray:
        if key == "$and" or key == "$or":
            if not isinstance(value, list) or not value:
                raise ValueError(f"{key} needs a non-empty list of filters, got {value!r}")
            masks = [self.mask(item) for item in value]
            return np.logical_and.reduce(masks) if key == "$and" else np.logical_or.reduce(masks)
        if key == "$not":
            return ~self.mask(value)
        if key.startswith("$"):
            raise ValueError(f"unknown filter operator {key!r}; logical operators are {', '.join(_LOGICAL)}")
        test = np.frompyfunc(_field_test(key, value), 1, 1)
        return test(self._column(key)).astype(bool) if len(self._metadatas) else np.zeros(0, dtype=bool)


def filter_key(spec: Any) -> str:
    """A stable cache key for a filter (sorted JSON; unserialisable values use repr)."""
    return json.dumps(spec, sort_keys=True, default=repr)
