"""The head-to-head experiment: base, prompting, RAG, fine-tuning and RAFT+RAG on the
same held-out questions of your data.

:func:`compare` runs the experiment and returns a :class:`Comparison` (table, plot,
saved answers, a recommendation from the measurements). Its parts: the leak-free split
(:func:`split_pairs`), the arms (:data:`ARMS`, :func:`register_arm`), answer scores
(:func:`token_f1`, :func:`exact_match`) with bootstrap intervals
(:func:`bootstrap_interval`) and paired differences between arms
(:func:`paired_difference`), and batched greedy generation with a local model
(:class:`LocalGenerator`) or any LangChain chat model (:class:`ChatModelGenerator`).
"""

from __future__ import annotations

from .arms import ARMS, Arm, ArmInput, register_arm
from .compare import DEFAULT_ARMS, compare
from .comparison import ArmResult, Comparison
from .generation import ChatModelGenerator, Generation, LocalGenerator
from .split import split_pairs
from .scores import Interval, bootstrap_interval, exact_match, normalize_answer, paired_difference, token_f1

__all__ = [
    "ARMS",
    "Arm",
    "ArmInput",
    "ArmResult",
    "Comparison",
    "DEFAULT_ARMS",
    "compare",
    "register_arm",
    "split_pairs",
    "ChatModelGenerator",
    "Generation",
    "Interval",
    "LocalGenerator",
    "bootstrap_interval",
    "exact_match",
    "normalize_answer",
    "paired_difference",
    "token_f1",
]
