"""RAFT: retrieval-augmented fine-tuning datasets (in progress).

Available now: RAFT-style chain-of-thought answers (:func:`parse_cot_answer`,
:func:`check_quotes`), examples and their output formats (:class:`RaftExample`,
:func:`to_record`, :func:`write_jsonl`), and the C++ example assembler as
``ragtune._core.raft_assemble`` until the public ``assemble`` lands.
"""

from __future__ import annotations

from .formats import FORMATS, RaftExample, to_record, write_jsonl
from .quotes import ANSWER_MARKER, BEGIN_QUOTE, END_QUOTE, CotAnswer, QuoteCheck, check_quotes, parse_cot_answer

__all__ = [
    "ANSWER_MARKER",
    "BEGIN_QUOTE",
    "END_QUOTE",
    "FORMATS",
    "CotAnswer",
    "QuoteCheck",
    "RaftExample",
    "check_quotes",
    "parse_cot_answer",
    "to_record",
    "write_jsonl",
]
