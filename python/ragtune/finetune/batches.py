"""Batches grouped by length, in an order fixed by (seed, epoch).

Padding is compute spent on nothing: a batch of a 300-token and a 1,000-token example
does 2,000 tokens of work for 1,300 useful ones. Examples are shuffled, cut into
windows of ``batch_size × 64``, sorted by length inside each window and batched, and
the batches shuffled again, so every batch holds examples of similar length while
the order stays random. The order depends only on (seed, epoch), so a resumed run
sees exactly the batches an uninterrupted one would.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from .render import IGNORE_INDEX, Encoded

_WINDOW_BATCHES = 64


def epoch_batches(lengths: Sequence[int], *, batch_size: int, seed: int, epoch: int,
                  group_by_length: bool = True) -> list[list[int]]:
    """The batches (lists of example indices) of one epoch.

    Examples
    --------
    >>> batches = epoch_batches([5, 50, 6, 48, 7, 52], batch_size=2, seed=0, epoch=0)
    >>> sorted(sorted(b) for b in batches)
    [[0, 2], [1, 5], [3, 4]]
    """
    rng = np.random.default_rng([int(seed), int(epoch), 0x5241_4754])  # "RAGT"
    order = rng.permutation(len(lengths))
    if group_by_length:
        window = batch_size * _WINDOW_BATCHES
        sizes = np.asarray(lengths)
        order = np.concatenate([sorted_window[np.argsort(-sizes[sorted_window], kind="stable")]
                                for sorted_window in (order[i:i + window] for i in range(0, len(order), window))]
                               ) if len(order) else order
    batches = [order[i:i + batch_size].tolist() for i in range(0, len(order), batch_size)]
    if group_by_length:
        batches = [batches[i] for i in rng.permutation(len(batches))]
    return batches


def micro_batches(indices: Sequence[int], lengths: Sequence[int], max_tokens: int | None) -> list[list[int]]:
    """Split one batch into forward passes of at most ``max_tokens`` padded tokens each
    (at least one example each). Gradients accumulate over them, so the optimizer step
    is the same; only the activations held at once shrink.

    Examples
    --------
    >>> micro_batches([0, 1, 2, 3], [1000, 900, 300, 200], 1024)
    [[0], [1], [2, 3]]
    """
    if max_tokens is None:
        return [list(indices)]
    ordered = sorted(indices, key=lambda i: -lengths[i])
    out: list[list[int]] = []
    for i in ordered:
        if out and lengths[out[-1][0]] * (len(out[-1]) + 1) <= max_tokens:
            out[-1].append(i)  # the first member is the longest: it sets the padded width
        else:
            out.append([i])
    return out


def collate(examples: Sequence[Encoded], pad_id: int) -> dict[str, np.ndarray]:
    """Right-padded ``input_ids``, ``attention_mask`` and ``labels`` (int64 arrays)."""
    width = max(len(e) for e in examples)
    ids = np.full((len(examples), width), pad_id, dtype=np.int64)
    labels = np.full((len(examples), width), IGNORE_INDEX, dtype=np.int64)
    mask = np.zeros((len(examples), width), dtype=np.int64)
    for row, example in enumerate(examples):
        ids[row, :len(example)] = example.input_ids
        labels[row, :len(example)] = example.labels
        mask[row, :len(example)] = 1
    return {"input_ids": ids, "attention_mask": mask, "labels": labels}
