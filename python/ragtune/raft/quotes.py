"""Chain-of-thought answers in the RAFT style, and checking their quotes.

RAFT answers reason over the given documents, quote them between
``##begin_quote##`` and ``##end_quote##``, and end with ``<ANSWER>: ...``. A quote
that does not occur in the oracle document(s) is a hallucinated citation: training
on it teaches the model to invent evidence, so every quote is checked verbatim
(optionally after collapsing runs of whitespace, for generators that rewrap lines).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

from .. import _core
from .._inputs import as_text

BEGIN_QUOTE = "##begin_quote##"
END_QUOTE = "##end_quote##"
ANSWER_MARKER = "<ANSWER>:"


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
    found = QuoteChecks.run([text], [], np.zeros(2, np.int64), np.zeros(0, np.int64))
    marker = text.rfind(ANSWER_MARKER)
    answer = text[marker + len(ANSWER_MARKER):].strip() if marker >= 0 else None
    return CotAnswer(text, found.quotes(0, text), answer or None, bool(found.unbalanced[0]))


@dataclass
class QuoteChecks:
    """The quotes of many answers checked at once in C++ (``_core.check_quotes``): per
    answer, its quotes' byte spans and verdicts, whether it has a final answer, and
    whether a marker is unbalanced.

    Spans are the shortest non-overlapping ``##begin_quote##…##end_quote##`` matches,
    stripped; a quote is found when it is non-empty and occurs verbatim in one of the
    answer's oracles (after collapsing whitespace runs on both sides, with
    ``normalise_whitespace``).
    """

    quote_offsets: np.ndarray
    quote_starts: np.ndarray
    quote_ends: np.ndarray
    quote_found: np.ndarray
    has_answer: np.ndarray
    unbalanced: np.ndarray

    @classmethod
    def run(cls, answers: Sequence[str], oracles: Sequence[str], oracle_offsets: np.ndarray, oracle_ids: np.ndarray,
            *, normalise_whitespace: bool = False, threads: int = 0) -> QuoteChecks:
        """Answer i's oracles are ``oracles[oracle_ids[oracle_offsets[i]:oracle_offsets[i + 1]]]``."""
        return cls(**_core.check_quotes(answers, oracles, oracle_offsets, oracle_ids,
                                        normalise_whitespace=normalise_whitespace, threads=threads))

    @property
    def quote_counts(self) -> np.ndarray:
        return np.diff(self.quote_offsets)

    @property
    def missing_counts(self) -> np.ndarray:
        """Quotes not found, per answer."""
        missing = np.concatenate([[0], np.cumsum(self.quote_found == 0)])
        return missing[self.quote_offsets[1:]] - missing[self.quote_offsets[:-1]]

    @property
    def ok(self) -> np.ndarray:
        """Every quote found, markers balanced, and a final answer present, per answer."""
        return (self.missing_counts == 0) & (self.has_answer == 1) & (self.unbalanced == 0)

    def quotes(self, row: int, answer: str, *, missing_only: bool = False) -> list[str]:
        """Answer ``row``'s quotes (or only those not found) as text."""
        utf8 = answer.encode("utf-8")
        return [utf8[self.quote_starts[q]:self.quote_ends[q]].decode("utf-8")
                for q in range(self.quote_offsets[row], self.quote_offsets[row + 1])
                if not (missing_only and self.quote_found[q])]


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
    text = answer.text if isinstance(answer, CotAnswer) else as_text(answer, what="answer")
    haystacks = [as_text(o, what="oracle") for o in oracles]
    found = QuoteChecks.run([text], haystacks, np.asarray([0, len(haystacks)], np.int64),
                            np.arange(len(haystacks), dtype=np.int64), normalise_whitespace=normalise_whitespace,
                            threads=1)
    return QuoteCheck(int(found.quote_counts[0]), found.quotes(0, text, missing_only=True), bool(found.has_answer[0]),
                      bool(found.unbalanced[0]))
