"""Keeping a Dataset's rows in the order they were produced."""

from __future__ import annotations

from typing import Any


def ordered(ds: Any) -> Any:
    """``ds`` materialised with its blocks in input order (Ray may otherwise finish them
    in any order): the order :func:`~ragtune.integrations.ray.chunk` gives is the order
    one machine adds chunks in. A dataset runs with the context it was made with, so the
    setting goes on the dataset's own, and back after."""
    execution = ds.context.execution_options
    kept, execution.preserve_order = execution.preserve_order, True
    try:
        return ds.materialize()
    finally:
        execution.preserve_order = kept
