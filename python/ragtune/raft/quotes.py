"""Chain-of-thought answers in the RAFT style, and checking their quotes.

RAFT answers reason over the given documents, quote them between
``##begin_quote##`` and ``##end_quote##``, and end with ``<ANSWER>: ...``. A quote
that does not occur in the oracle document(s) is a hallucinated citation: training
on it teaches the model to invent evidence, so every quote is checked verbatim
(optionally after collapsing runs of whitespace, for generators that rewrap lines).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from .._inputs import as_text

BEGIN_QUOTE = "##begin_quote##"
END_QUOTE = "##end_quote##"
ANSWER_MARKER = "<ANSWER>:"
_QUOTE = re.compile(re.escape(BEGIN_QUOTE) + r"(.*?)" + re.escape(END_QUOTE), re.DOTALL)
_WHITESPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class CotAnswer:
    """A parsed chain-of-thought answer.

    ``quotes`` are the quoted spans (stripped) in order; ``answer`` is the text after
    the last ``<ANSWER>:`` (None when the marker is missing); ``unbalanced`` is True
    when a begin or end marker has no partner.
    """

    text: str
    quotes: list[str] = field(default_factory=list)
    answer: str | None = None
    unbalanced: bool = False


def parse_cot_answer(text: str) -> CotAnswer:
    """Split a RAFT chain-of-thought answer into its quotes and final answer.

    Examples
    --------
    >>> a = parse_cot_answer("The doc says ##begin_quote##Use py.##end_quote## so <ANSWER>: run py")
    >>> a.quotes, a.answer
    (['Use py.'], 'run py')
    """
    text = as_text(text, what="answer")
    quotes = [m.group(1).strip() for m in _QUOTE.finditer(text)]
    without = _QUOTE.sub("", text)
    unbalanced = BEGIN_QUOTE in without or END_QUOTE in without
    marker = text.rfind(ANSWER_MARKER)
    answer = text[marker + len(ANSWER_MARKER):].strip() if marker >= 0 else None
    return CotAnswer(text, quotes, answer or None, unbalanced)


def _normalise(text: str) -> str:
    return _WHITESPACE.sub(" ", text).strip()


@dataclass(frozen=True, slots=True)
class QuoteCheck:
    """The verdict on one answer's quotes."""

    quotes: int
    missing: list[str]
    has_answer: bool
    unbalanced: bool

    @property
    def ok(self) -> bool:
        """Every quote found, markers balanced, and a final answer present."""
        return not self.missing and self.has_answer and not self.unbalanced


def check_quotes(answer: str | CotAnswer, oracles: Sequence[str], *, normalise_whitespace: bool = False) -> QuoteCheck:
    """Check that every quote of ``answer`` occurs verbatim in one of the ``oracles``.

    Examples
    --------
    >>> oracle = "To run a script, type py hello.py at the prompt."
    >>> check_quotes("##begin_quote##type py hello.py##end_quote## <ANSWER>: py hello.py", [oracle]).ok
    True
    >>> check_quotes("##begin_quote##type python3##end_quote## <ANSWER>: x", [oracle]).missing
    ['type python3']
    """
    parsed = answer if isinstance(answer, CotAnswer) else parse_cot_answer(answer)
    haystacks = [as_text(o, what="oracle") for o in oracles]
    if normalise_whitespace:
        haystacks = [_normalise(h) for h in haystacks]
    missing = []
    for quote in parsed.quotes:
        needle = _normalise(quote) if normalise_whitespace else quote
        if not needle or not any(needle in h for h in haystacks):
            missing.append(quote)
    return QuoteCheck(len(parsed.quotes), missing, parsed.answer is not None, parsed.unbalanced)
