"""RAG or fine-tuning? :func:`advise` turns what you know (a :class:`Situation`)
and what you measured into a :class:`Recommendation` with reasons."""

from __future__ import annotations

from .rules import advise
from .recommendation import LABELS, OPTIONS, Reason, Recommendation
from .situation import CHANGE_FREQUENCIES, QUESTIONS, Situation

__all__ = ["CHANGE_FREQUENCIES", "LABELS", "OPTIONS", "QUESTIONS", "Reason", "Recommendation", "Situation", "advise"]
