"""The head-to-head experiment: base, prompting, RAG, fine-tuning and RAFT+RAG on the
same held-out questions of your data.

Available now: answer scores (:func:`token_f1`, :func:`exact_match`) with bootstrap
intervals (:func:`bootstrap_interval`) and paired differences between arms
(:func:`paired_difference`); batched greedy generation with a local model
(:class:`LocalGenerator`) or any LangChain chat model (:class:`ChatModelGenerator`).
"""

from __future__ import annotations

from .generation import ChatModelGenerator, Generation, LocalGenerator
from .scores import Interval, bootstrap_interval, exact_match, normalize_answer, paired_difference, token_f1

__all__ = [
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
