"""Train / validation / test splits without leakage: no oracle chunk (or, with
``by="source"``, no source document) appears in two splits, so a model is never
evaluated on a passage it was trained to quote."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Literal

from .formats import RaftExample


def _root(parent: dict[str, str], key: str) -> str:
    while parent[key] != key:
        parent[key] = parent[parent[key]]
        key = parent[key]
    return key


def split_examples(
    examples: Sequence[RaftExample],
    *,
    fractions: dict[str, float] | None = None,
    by: Literal["oracle", "source"] = "oracle",
    seed: int = 0,
) -> tuple[dict[str, list[RaftExample]], dict[str, dict[str, int]]]:
    """Split examples into named parts whose oracle chunks (or sources) are disjoint.

    Examples that share an oracle — directly or through a chain of shared oracles —
    form one group; whole groups go to one split, in a seeded random order, each to
    the split furthest below its target fraction. Returns (splits, report) where the
    report has, per split, its example and group counts.

    Examples
    --------
    >>> ex = [RaftExample(str(i), "q", ["d"], ["t"], [0], "c", metadata={"oracle_ids": [f"s{i % 5}#0"]})
    ...       for i in range(20)]
    >>> parts, report = split_examples(ex, fractions={"train": 0.6, "test": 0.4})
    >>> sorted(report), sum(r["examples"] for r in report.values())
    (['test', 'train'], 20)
    """
    fractions = fractions or {"train": 0.8, "validation": 0.1, "test": 0.1}
    if by not in ("oracle", "source"):
        raise ValueError(f"by must be 'oracle' or 'source', got {by!r}")

    def keys(example: RaftExample) -> list[str]:
        oracles = example.metadata.get("oracle_ids")
        if not oracles:
            raise ValueError(f"example {example.id!r} has no metadata['oracle_ids']; assemble() records them")
        return [o.rsplit("#", 1)[0] if by == "source" else o for o in oracles]

    assignment, group_counts = split_groups([keys(e) for e in examples], fractions, seed=seed)
    parts: dict[str, list[RaftExample]] = {name: [] for name in fractions}
    for example, name in zip(examples, assignment):
        parts[name].append(example)
    report = {name: {"examples": len(parts[name]), "groups": group_counts[name]} for name in fractions}
    return parts, report


def split_groups(keys: Sequence[Sequence[str]], fractions: dict[str, float], *,
                 seed: int = 0) -> tuple[list[str], dict[str, int]]:
    """The split each item goes to, when items that share a key (directly or through a
    chain of shared keys) must land in the same split; and how many groups each split got.

    Whole groups go to one split, in a seeded random order, each to the split furthest
    below its target fraction.

    Examples
    --------
    >>> names, groups = split_groups([["a"], ["a", "b"], ["b"], ["c"]], {"train": 0.5, "test": 0.5}, seed=1)
    >>> len(set(names[:3])), groups["train"] + groups["test"]
    (1, 2)
    """
    if not fractions or any(f < 0 for f in fractions.values()) or abs(sum(fractions.values()) - 1) > 1e-9:
        raise ValueError(f"fractions must be non-negative and add up to 1, got {fractions}")
    parent: dict[str, str] = {}
    for ks in keys:
        if not ks:
            raise ValueError("every item needs at least one key to group it by")
        for k in ks:
            parent.setdefault(k, k)
        for k in ks[1:]:
            parent[_root(parent, k)] = _root(parent, ks[0])
    members: dict[str, list[int]] = {}
    for n, ks in enumerate(keys):
        members.setdefault(_root(parent, ks[0]), []).append(n)
    order = sorted(members)
    random.Random(seed).shuffle(order)
    sizes = dict.fromkeys(fractions, 0)
    group_counts = dict.fromkeys(fractions, 0)
    assignment = [""] * len(keys)
    total = len(keys)
    for root in order:
        # The split furthest below its target takes the next group.
        name = max(fractions, key=lambda n: fractions[n] * total - sizes[n])
        for n in members[root]:
            assignment[n] = name
        sizes[name] += len(members[root])
        group_counts[name] += 1
    return assignment, group_counts
