"""The situation the advisor reasons about: what you know about your use case."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from typing import Any, Literal

CHANGE_FREQUENCIES = ("daily", "weekly", "monthly", "quarterly", "yearly", "never")
LEVELS = ("low", "medium", "high")
STYLE_LEVELS = ("none", "some", "strict")
#: Updates per month implied by each change frequency (for the cost model).
UPDATES_PER_MONTH = {"daily": 30.0, "weekly": 4.3, "monthly": 1.0, "quarterly": 1 / 3, "yearly": 1 / 12,
                     "never": 0.0}
#: Measurements the advisor understands.
MEASUREMENTS = ("recall@k", "faithfulness", "retrieval_ms")
# Per-arm results of ragtune.experiment.compare: answer F1 on held-out questions, and the
# low end of the interval of its paired gain over the closed-book base model.
ARM_MEASURED = ("answer_f1", "answer_f1_gain_low")
_ARM_MEASUREMENT = re.compile(r"^(answer_f1|answer_f1_gain_low)\[(base|prompt|rag|finetune|raft\+rag|long_context)\]$")


@dataclass(frozen=True, slots=True)
class Situation:
    """Everything is optional: unknown inputs lower the confidence, never guess.

    Attributes
    ----------
    knowledge_changes : how often the facts the model needs change
        ("daily", "weekly", "monthly", "quarterly", "yearly", "never")
    needs_citations : answers must point to their sources (audit, compliance)
    labelled_examples : high-quality input→output examples you have (or can write)
    latency_budget_ms : end-to-end response budget
    hallucination_cost : what a wrong answer costs ("low", "medium", "high")
    style : output format / tone requirements ("none", "some", "strict": an exact schema or house style)
    corpus_tokens : size of the documents the answers come from (0: no documents)
    context_window : the model's context window in tokens
    queries_per_day : expected volume
    private_data : the data may not go into training (it may sit in a store you control)
    domain_vocabulary : jargon or internal names the base model gets wrong
    measured : measurements on your data, e.g. ``{"recall@5": 0.82, "faithfulness": 0.9,
        "retrieval_ms": 12}`` (any ``recall@k``; see :mod:`ragtune.evaluate`)
    """

    knowledge_changes: Literal["daily", "weekly", "monthly", "quarterly", "yearly", "never"] | None = None
    needs_citations: bool | None = None
    labelled_examples: int | None = None
    latency_budget_ms: float | None = None
    hallucination_cost: Literal["low", "medium", "high"] | None = None
    style: Literal["none", "some", "strict"] | None = None
    corpus_tokens: int | None = None
    context_window: int = 128_000
    queries_per_day: float | None = None
    private_data: bool | None = None
    domain_vocabulary: bool | None = None
    measured: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        _choice("knowledge_changes", self.knowledge_changes, CHANGE_FREQUENCIES)
        _choice("hallucination_cost", self.hallucination_cost, LEVELS)
        _choice("style", self.style, STYLE_LEVELS)
        for name in ("needs_citations", "private_data", "domain_vocabulary"):
            value = getattr(self, name)
            if value is not None and not isinstance(value, bool):
                raise TypeError(f"{name} must be True, False or None (unknown), got {value!r}")
        for name in ("labelled_examples", "corpus_tokens"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, int) or value < 0):
                raise ValueError(f"{name} must be an int >= 0 or None (unknown), got {value!r}")
        for name in ("latency_budget_ms", "queries_per_day"):
            value = getattr(self, name)
            if value is not None and (isinstance(value, bool) or not isinstance(value, (int, float))
                                      or not math.isfinite(value) or value < 0):
                raise ValueError(f"{name} must be a finite number >= 0 or None (unknown), got {value!r}")
        if isinstance(self.context_window, bool) or not isinstance(self.context_window, int) or self.context_window < 1:
            raise ValueError(f"context_window must be a positive int (tokens), got {self.context_window!r}")
        if not isinstance(self.measured, Mapping):
            raise TypeError(f"measured must be a dict like {{'recall@5': 0.8}}, got {type(self.measured).__name__}")
        for name, value in self.measured.items():
            per_arm = _ARM_MEASUREMENT.match(name)
            if not (name.startswith("recall@") and name[7:].isdigit()) and name not in MEASUREMENTS and not per_arm:
                raise ValueError(f"unknown measurement {name!r}; use recall@k, faithfulness, retrieval_ms, "
                                 "answer_f1[ARM] or answer_f1_gain_low[ARM] (ARM: base, prompt, rag, finetune, "
                                 "raft+rag, long_context)")
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
                raise ValueError(f"measured[{name!r}] must be a finite number, got {value!r}")
            # A gain over the base model is a difference of shares, so it may be negative.
            lowest = -1 if per_arm and per_arm.group(1) == "answer_f1_gain_low" else 0
            if value < lowest or (name != "retrieval_ms" and value > 1):
                raise ValueError(f"measured[{name!r}] must be between {lowest} and "
                                 f"{'infinity' if name == 'retrieval_ms' else 1}, got {value!r}")
        object.__setattr__(self, "measured", dict(self.measured))

    def known(self) -> dict[str, Any]:
        """The inputs that were given (not None), measurements included."""
        out = {f.name: getattr(self, f.name) for f in fields(self)
               if f.name not in ("measured", "context_window") and getattr(self, f.name) is not None}
        return out | ({"measured": dict(self.measured)} if self.measured else {})

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _choice(name: str, value: Any, allowed: tuple[str, ...]) -> None:
    if value is not None and value not in allowed:
        raise ValueError(f"{name} must be one of {', '.join(allowed)} (or None: unknown), got {value!r}")


#: The interactive questions: (field, question, kind).
QUESTIONS = (
    ("knowledge_changes", "How often does the knowledge the model needs change?", CHANGE_FREQUENCIES),
    ("needs_citations", "Must answers cite their sources?", bool),
    ("labelled_examples", "How many high-quality labelled examples (input -> ideal output) do you have?", int),
    ("latency_budget_ms", "Latency budget per answer, in milliseconds?", float),
    ("hallucination_cost", "What does a wrong answer cost?", LEVELS),
    ("style", "Output format or tone requirements?", STYLE_LEVELS),
    ("corpus_tokens", "How many tokens of documents must answers come from (0 = none; 1 page ~ 500)?", int),
    ("queries_per_day", "Queries per day?", float),
    ("private_data", "Is the data barred from training (must stay in your store)?", bool),
    ("domain_vocabulary", "Does the base model stumble on your jargon or internal names?", bool),
)
