"""Encoding conversations within ``max_seq_len`` tokens.

A RAFT example that is too long loses distractor text, cut at token boundaries by
the same :class:`~ragtune.raft.budget.TokenBudget` that ``raft.assemble`` uses; the
question, the oracle(s) and the answer are never cut. Whatever still does not fit
(plain chat data, or a RAFT example whose question, oracle and answer alone are too
long) is dropped and counted, never silently truncated: a truncated answer teaches
the model to stop mid-sentence.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass, field

from tqdm.auto import tqdm

from ..raft.budget import TokenBudget
from .conversations import Conversation
from .render import Encoded, PromptRenderer

# Cutting and re-rendering can move a token boundary; a few rounds of tightening settle it.
_FIT_ROUNDS = 4


@dataclass(slots=True)
class FitReport:
    """What fitting did to a data set."""

    examples: int = 0
    kept: int = 0
    truncated: int = 0  # RAFT examples whose distractors were cut
    dropped_too_long: int = 0
    longest_dropped: int = 0  # tokens of the longest example dropped
    dropped: list[str] = field(default_factory=list)  # where the dropped examples came from (first 20)


def _fit_raft(conversation: Conversation, encoded: Encoded, renderer: PromptRenderer, budget: TokenBudget,
              max_seq_len: int) -> Encoded | None:
    example = conversation.raft
    assert example is not None
    counted = sum(budget.counter.count([example.question, example.cot_answer, *example.documents]))
    allowed = max_seq_len - (len(encoded) - counted)  # what the template's own tokens leave
    for _ in range(_FIT_ROUNDS):
        if allowed <= 0:
            return None
        trial = copy.deepcopy(example)
        if TokenBudget(allowed, budget.counter).fit(trial) is None:
            return None
        candidate = renderer.encode(conversation.with_raft(trial).messages)
        if len(candidate) <= max_seq_len:
            return candidate
        allowed -= len(candidate) - max_seq_len
    return None


def encode_all(conversations: Sequence[Conversation], renderer: PromptRenderer, *, max_seq_len: int,
               progress: bool = False, what: str = "examples") -> tuple[list[Encoded], list[int], FitReport]:
    """Encode every conversation within ``max_seq_len`` tokens.

    Returns the encodings, the index of the conversation each came from, and a report.
    """
    report = FitReport(examples=len(conversations))
    budget: TokenBudget | None = None
    encodings, origins = [], []
    for n, conversation in enumerate(tqdm(conversations, desc=f"tokenising {what}", unit="ex",
                                          disable=not progress)):
        encoded = renderer.encode(conversation.messages)
        if len(encoded) > max_seq_len and conversation.raft is not None:
            budget = budget or TokenBudget(max_seq_len, renderer.tokenizer)
            fitted = _fit_raft(conversation, encoded, renderer, budget, max_seq_len)
            if fitted is not None:
                report.truncated += 1
                encoded = fitted
        if len(encoded) > max_seq_len:
            report.dropped_too_long += 1
            report.longest_dropped = max(report.longest_dropped, len(encoded))
            if len(report.dropped) < 20:
                report.dropped.append(conversation.origin)
            continue
        encodings.append(encoded)
        origins.append(n)
    report.kept = len(encodings)
    return encodings, origins, report
