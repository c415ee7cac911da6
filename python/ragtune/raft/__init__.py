"""RAFT: retrieval-augmented fine-tuning datasets (in progress).

Available now: :func:`parse_cot_answer` and :func:`check_quotes` for RAFT-style
chain-of-thought answers; the C++ example assembler is reachable as
``ragtune._core.raft_assemble`` until the public ``assemble`` lands.
"""

from __future__ import annotations

from .quotes import ANSWER_MARKER, BEGIN_QUOTE, END_QUOTE, CotAnswer, QuoteCheck, check_quotes, parse_cot_answer

__all__ = ["ANSWER_MARKER", "BEGIN_QUOTE", "END_QUOTE", "CotAnswer", "QuoteCheck", "check_quotes", "parse_cot_answer"]
