"""Held-out questions without leaks: question–answer pairs are split by the document
their answer comes from, so no test answer's document is ever trained on."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from .._inputs import as_float
from ..qa import QAPair
from ..raft.splits import split_groups

SplitBy = Literal["source", "pair"]


def split_pairs(pairs: Sequence[QAPair], *, test_fraction: float = 0.2, by: SplitBy = "source",
                seed: int = 0) -> tuple[list[QAPair], list[QAPair]]:
    """(train, test) pairs; with ``by="source"`` every source lands on one side only.

    Examples
    --------
    >>> pairs = [QAPair(f"q{i}?", "a", source=f"doc{i % 5}") for i in range(20)]
    >>> train, test = split_pairs(pairs, test_fraction=0.2)
    >>> {p.source for p in train} & {p.source for p in test}
    set()
    """
    pairs = list(pairs)
    test_fraction = as_float(test_fraction, name="test_fraction", low=0, high=0.9, low_open=True)
    if by not in ("source", "pair"):
        raise ValueError(f"by must be 'source' or 'pair', got {by!r}")
    for n, pair in enumerate(pairs):
        if not isinstance(pair, QAPair):
            raise TypeError(f"pairs[{n}] must be a QAPair, got {type(pair).__name__}")
    keys = [[f"source:{p.source}"] if by == "source" and p.source is not None else [f"pair:{n}"]
            for n, p in enumerate(pairs)]
    groups = len({k[0] for k in keys})
    if len(pairs) < 4 or groups < 2:
        raise ValueError(f"{len(pairs)} question–answer pairs from {groups} {'sources' if by == 'source' else 'pairs'} "
                         "are too few to hold some out: give at least 4 pairs from at least 2 documents (or "
                         "split_by='pair')")
    names, _ = split_groups(keys, {"train": 1 - test_fraction, "test": test_fraction}, seed=seed)
    train = [p for p, name in zip(pairs, names) if name == "train"]
    test = [p for p, name in zip(pairs, names) if name == "test"]
    if not train or not test:
        raise ValueError(f"splitting {len(pairs)} pairs by {by} at test_fraction={test_fraction} left one side "
                         "empty; change test_fraction or use split_by='pair'")
    return train, test
