"""RAFT: retrieval-augmented fine-tuning datasets.

Available now: :func:`assemble` (questions + oracle chunks + random, hard or mixed
distractors, quotes verified), RAFT-style chain-of-thought answers
(:func:`parse_cot_answer`, :func:`check_quotes`), and the output formats
(:class:`RaftExample`, :func:`to_record`, :func:`write_jsonl`). Leak-free splits:
:func:`split_examples`. File checks: :func:`validate`. Parquet and ``datasets``:
:func:`write_parquet`, :func:`to_dataset`. Questions and answers from chunks with any LLM:
:func:`generate_qa` (threads, retries, checkpoint/resume).
"""

from __future__ import annotations

from ..qa import QAPair
from .assemble import QAItem, RaftDataset, RaftReport, assemble, chunk_id, cot_from_answer
from .generate import ANSWER_PROMPT, QUESTION_PROMPT, LLMError, generate_qa, parse_questions
from .columns import RaftColumns, RaftExamples
from .formats import FORMATS, RaftExample, to_record
from .writers import to_dataset, write_jsonl, write_parquet
from .splits import split_examples, split_groups
from .validate import ValidationReport, validate
from .quotes import ANSWER_MARKER, BEGIN_QUOTE, END_QUOTE, CotAnswer, QuoteCheck, check_quotes, parse_cot_answer

__all__ = [
    "ANSWER_PROMPT",
    "LLMError",
    "QUESTION_PROMPT",
    "generate_qa",
    "parse_questions",
    "ANSWER_MARKER",
    "BEGIN_QUOTE",
    "END_QUOTE",
    "FORMATS",
    "CotAnswer",
    "QAItem",
    "QAPair",
    "QuoteCheck",
    "RaftColumns",
    "RaftDataset",
    "RaftExamples",
    "RaftReport",
    "RaftExample",
    "assemble",
    "check_quotes",
    "chunk_id",
    "cot_from_answer",
    "parse_cot_answer",
    "split_examples",
    "split_groups",
    "validate",
    "ValidationReport",
    "to_dataset",
    "to_record",
    "write_jsonl",
    "write_parquet",
]
