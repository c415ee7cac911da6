"""A deterministic grounding score: is an answer backed by the retrieved text?

No model involved, so it is free, fast and reproducible — a lint for answers, not a
judge of meaning. The answer is split into sentences; a sentence is *supported*
when every quote in it (RAFT ``##begin_quote##…##end_quote##`` or text in double
quotes of four words or more) appears verbatim in the contexts (whitespace
normalised), and — for sentences without quotes — when at least ``min_overlap`` of
its content words (three letters or more, not stop words, case-folded) occur in the
contexts. The score is the share of supported sentences. RAFT's final ``<ANSWER>:``
line is judged like any other sentence.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from .._inputs import as_text
from ..raft.quotes import ANSWER_MARKER, BEGIN_QUOTE, END_QUOTE

_RAFT_QUOTE = re.compile(re.escape(BEGIN_QUOTE) + r"(.*?)" + re.escape(END_QUOTE), re.DOTALL)
_PLAIN_QUOTE = re.compile(r"[\"“]([^\"”]+)[\"”]")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s+|\n+")
_WORD = re.compile(r"\w+")
_SPACE = re.compile(r"\s+")
STOP_WORDS = frozenset(
    "the and for are but not you your with this that from have has had was were will would can could should "
    "its it's they them their there then than what which who whom when where why how all any some such into "
    "onto over under about also only just more most other our out own same she her his him too very does did "
    "doing been being because while these those each few both".split()
)


def content_words(text: str) -> set[str]:
    """Case-folded words of three letters or more, stop words removed.

    Examples
    --------
    >>> sorted(content_words("The cat sat on the Mat."))
    ['cat', 'mat', 'sat']
    """
    return {w for w in (m.group().casefold() for m in _WORD.finditer(text)) if len(w) >= 3 and w not in STOP_WORDS}


def split_sentences(text: str) -> list[str]:
    """Sentences (and lines) of a text, RAFT quotes kept whole.

    Examples
    --------
    >>> split_sentences("It is red. Why? Because.\\nDone")
    ['It is red.', 'Why?', 'Because.', 'Done']
    """
    quotes = [m.span() for m in _RAFT_QUOTE.finditer(text)]  # a quote may hold full stops: never cut inside
    parts, start = [], 0
    for boundary in _SENTENCE_END.finditer(text):
        if any(a < boundary.end() and boundary.start() < b for a, b in quotes):
            continue
        parts.append(text[start:boundary.start()])
        start = boundary.end()
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


@dataclass(slots=True)
class GroundingScore:
    """The grounding of one answer.

    Attributes
    ----------
    score : float
        Supported sentences / sentences (NaN for an answer with no sentence).
    quotes, quotes_found : int
        Quotes in the answer, and how many are verbatim in the contexts.
    unsupported : list of str
        The sentences that are not supported, to show the user.
    """

    score: float
    sentences: int
    supported: int
    quotes: int
    quotes_found: int
    unsupported: list[str] = field(default_factory=list)

    def __float__(self) -> float:
        return self.score

    def __repr__(self) -> str:
        return (f"GroundingScore({self.score:.3f}: {self.supported}/{self.sentences} sentences supported, "
                f"{self.quotes_found}/{self.quotes} quotes found)")


def _normalised(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


def grounding_score(answer: str, contexts: Sequence[str] | str, *, min_overlap: float = 0.6) -> GroundingScore:
    """How much of ``answer`` the ``contexts`` back up (see the module docstring).

    Examples
    --------
    >>> contexts = ["Python lists are mutable. Tuples are immutable."]
    >>> grounding_score('Lists can change: "Python lists are mutable". Tuples cannot.', contexts)
    GroundingScore(0.500: 1/2 sentences supported, 1/1 quotes found)
    >>> grounding_score("Tuples are immutable.", contexts).score
    1.0
    """
    answer = as_text(answer, what="answer")
    if isinstance(contexts, str):
        contexts = [contexts]
    contexts = [as_text(c, what=f"contexts[{n}]") for n, c in enumerate(contexts)]
    if not 0 < min_overlap <= 1:
        raise ValueError(f"min_overlap must be in (0, 1], got {min_overlap}")
    joined = _normalised("\n".join(contexts))
    context_words = content_words(joined)
    sentences = split_sentences(answer.replace(ANSWER_MARKER, "\n"))
    supported, quotes, found, unsupported = 0, 0, 0, []
    for sentence in sentences:
        spans = [m.group(1) for m in _RAFT_QUOTE.finditer(sentence)]
        spans += [m.group(1) for m in _PLAIN_QUOTE.finditer(_RAFT_QUOTE.sub(" ", sentence))
                  if len(m.group(1).split()) >= 4]
        if spans:
            present = [bool(_normalised(s)) and _normalised(s) in joined for s in spans]
            quotes += len(spans)
            found += sum(present)
            ok = all(present)
        else:
            words = content_words(sentence)
            ok = not words or len(words & context_words) >= min_overlap * len(words)
        supported += ok
        if not ok:
            unsupported.append(sentence)
    score = supported / len(sentences) if sentences else float("nan")
    return GroundingScore(score, len(sentences), supported, quotes, found, unsupported)
