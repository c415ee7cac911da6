"""The documents the RAG arms index, made fair to the closed-book arms.

When question–answer pairs come from the documents themselves (an FAQ), each
question's own text stands right above its answer, and retrieval finds the answer by
its heading: a test no deployment faces, since users do not phrase questions as the
documentation's headings. By default the question text is blanked out of what is
indexed (spaces of the same length, so every offset still holds).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from ..qa import QAPair

# The heading of an FAQ answer sits within this many characters before the answer.
_HEADING_WINDOW = 2000


def blank_questions(documents: Mapping[str, str], pairs: Sequence[QAPair]) -> tuple[dict[str, str], int]:
    """``documents`` with each located pair's question text replaced by spaces, and how
    many questions were blanked. The question is found at ``question_start`` when the
    pair knows it (as :func:`~ragtune.datasets.parse_faq` records), else as its last
    occurrence within 2000 characters before the answer.

    Examples
    --------
    >>> docs = {"faq.rst": "Why?\\n----\\n\\nBecause.\\n"}
    >>> blanked, n = blank_questions(docs, [QAPair("Why?", "Because.", source="faq.rst", start=11, end=19)])
    >>> blanked["faq.rst"], n
    ('    \\n----\\n\\nBecause.\\n', 1)
    """
    out = dict(documents)
    blanked = 0
    for pair in pairs:
        if not pair.located or pair.source not in out:
            continue
        text = out[pair.source]
        known = pair.question_start
        if known is not None and text.startswith(pair.question, known):
            at = known
        else:
            at = text.rfind(pair.question, max(0, pair.start - _HEADING_WINDOW), pair.start)  # type: ignore[operator]
        if at >= 0:
            out[pair.source] = text[:at] + " " * len(pair.question) + text[at + len(pair.question):]
            blanked += 1
    return out, blanked
