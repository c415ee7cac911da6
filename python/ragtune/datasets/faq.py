"""Question–answer pairs from FAQ documents: a reST section title or a Markdown
heading that ends with "?" is a question; the text up to the next title is its
answer. Offsets are exact, so answers can be located in chunked documents.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .._inputs import as_text

# reST underlines (and overlines) use one repeated punctuation character.
_UNDERLINE = re.compile(r"^([=\-`:'\"~^_*+#<>.])\1{2,}\s*$")
_MARKDOWN_HEADING = re.compile(r"^#{1,6}\s+(.*?\S)(?:\s+#+)?\s*$")


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
    """(code-point offset, title) of every reST section title and Markdown heading, in order.

    Examples
    --------
    >>> section_titles("Intro\\n=====\\n\\ntext\\n\\n## Usage\\nmore")
    [(0, 'Intro'), (19, 'Usage')]
    """
    lines = as_text(text).splitlines(keepends=True)
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line))
    return [(offsets[n], title) for n, title, _ in _titles([line.rstrip("\r\n") for line in lines])]


def _titles(lines: list[str]) -> list[tuple[int, str, int]]:
    """(line number, title, lines used) for every reST title or Markdown heading."""
    titles = []
    for i, line in enumerate(lines):
        heading = _MARKDOWN_HEADING.match(line)
        if heading:
            titles.append((i, heading.group(1), 1))
        elif (i + 1 < len(lines) and line.strip() and not _UNDERLINE.match(line)
              and _UNDERLINE.match(lines[i + 1]) and len(lines[i + 1].rstrip()) >= len(line.rstrip())):
            titles.append((i, line.strip(), 2))
    return titles


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
    bare = [line.rstrip("\r\n") for line in lines]
    titles = _titles(bare)
    items = []
    for n, (line_no, title, used) in enumerate(titles):
        if not title.endswith("?"):
            continue
        body_start = offsets[line_no + used]
        body_end = offsets[titles[n + 1][0]] if n + 1 < len(titles) else len(text)
        answer = text[body_start:body_end]
        stripped = answer.strip()
        if not stripped:
            continue
        answer_start = body_start + answer.index(stripped[0])
        question_start = offsets[line_no] + bare[line_no].index(title[0])
        items.append(FAQItem(title, stripped, source, question_start, question_start + len(title),
                             answer_start, answer_start + len(stripped)))
    return items
