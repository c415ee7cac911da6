"""Question–answer pairs from FAQ documents: a reST section title or a Markdown
heading that ends with "?" is a question; the text up to the next title is its
answer. Offsets are exact, so answers can be located in chunked documents.
"""

from __future__ import annotations

from dataclasses import dataclass

from .._inputs import as_text
from ..chunking.headings import section_titles as find_titles


@dataclass(frozen=True, slots=True)
class FAQItem:
    """One question and its answer, with code-point offsets into the document.

    ``text[question_start:question_end] == question`` and
    ``text[answer_start:answer_end] == answer``.
    """

    question: str
    answer: str
    source: str | None
    question_start: int
    question_end: int
    answer_start: int
    answer_end: int


def section_titles(text: str) -> list[tuple[int, str]]:
    """(code-point offset, title) of every reST section title and Markdown heading
    outside fenced code, in order (:func:`ragtune.chunking.headings.section_titles`).

    Examples
    --------
    >>> section_titles("Intro\\n=====\\n\\ntext\\n\\n## Usage\\nmore")
    [(0, 'Intro'), (19, 'Usage')]
    """
    return [(t.start, t.title) for t in find_titles(as_text(text))]


def parse_faq(text: str, *, source: str | None = None) -> list[FAQItem]:
    """Every question ("…?" title) with its answer.

    Examples
    --------
    >>> doc = "FAQ\\n===\\n\\nWhy?\\n----\\n\\nBecause.\\n\\nHow?\\n----\\n\\nLike this.\\n"
    >>> [(i.question, i.answer) for i in parse_faq(doc)]
    [('Why?', 'Because.'), ('How?', 'Like this.')]
    """
    text = as_text(text)
    lines = text.splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    titles = find_titles(text)
    items = []
    for n, found in enumerate(titles):
        title = found.title
        if not title.endswith("?"):
            continue
        body_start = offsets[found.line + found.lines]
        body_end = titles[n + 1].start if n + 1 < len(titles) else len(text)
        answer = text[body_start:body_end]
        stripped = answer.strip()
        if not stripped:
            continue
        answer_start = body_start + answer.index(stripped[0])
        question_start = found.start + lines[found.line].index(title[0])
        items.append(FAQItem(title, stripped, source, question_start, question_start + len(title),
                             answer_start, answer_start + len(stripped)))
    return items
