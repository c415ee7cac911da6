"""ragtune: make a model work with your own data — by retrieval (RAG), by
fine-tuning, or both — at native speed, with the evidence to choose.

>>> import ragtune
>>> chunker = ragtune.RecursiveChunker(chunk_size=200, chunk_overlap=20)
>>> chunks = chunker.split("Some long text...\\n\\nMore text.", source="notes.txt")
>>> chunks[0].citation()
'notes.txt:1-3'
"""

from __future__ import annotations

from . import costs, evaluate
from ._core import __version__
from .advisor import Recommendation, Situation, advise
from .chunking import Chunk, MarkdownChunker, RecursiveChunker, SentenceChunker
from .embeddings import HashingEmbeddings, MiniLMEmbeddings
from .index import Hit, Index
from .qa import QAPair
from .simd import simd_info

__all__ = [
    "Chunk",
    "Recommendation",
    "Situation",
    "advise",
    "costs",
    "evaluate",
    "HashingEmbeddings",
    "Hit",
    "Index",
    "MiniLMEmbeddings",
    "MarkdownChunker",
    "QAPair",
    "RecursiveChunker",
    "SentenceChunker",
    "__version__",
    "simd_info",
]
