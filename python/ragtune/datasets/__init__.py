"""Readers for question–answer data found in real documentation."""

from __future__ import annotations

from .faq import FAQItem, parse_faq, section_titles

__all__ = ["FAQItem", "parse_faq", "section_titles"]
