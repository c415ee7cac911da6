"""Chunking: split documents into pieces with exact offsets for citations.

- :class:`RecursiveChunker` — LangChain's recursive character splitting, in C++.
- :class:`MarkdownChunker` — header-aware, never cuts a fenced code block.
- :class:`SentenceChunker` — Unicode sentence boundaries, packed with overlap.
"""

from __future__ import annotations

from .chunk import Chunk
from .markdown import MarkdownChunker
from .presets import LANGUAGE_SEPARATORS
from .recursive import RecursiveChunker, separators_for_language
from .sentence import SentenceChunker

__all__ = [
    "LANGUAGE_SEPARATORS",
    "Chunk",
    "MarkdownChunker",
    "RecursiveChunker",
    "SentenceChunker",
    "separators_for_language",
]
