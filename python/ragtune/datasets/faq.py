"""Question–answer pairs from FAQ documents: a reST section title or a Markdown
heading that ends with "?" is a question; the text up to the next title is its
answer. Offsets are exact, so answers can be located in chunked documents.
"""

from __future__ import annotations

from .._inputs import as_text
from ..chunking.headings import section_titles as find_titles
from ..qa import QAPair


def section_titles(text: str) -> list[tuple[int, str]]:
    """(code-point offset, title) of every reST section title and Markdown heading
    outside fenced code, in order (:func:`ragtune.chunking.headings.section_titles`).

    Examples
    --------
    >>> section_titles("Intro\\n=====\\n\\ntext\\n\\n## Usage\\nmore")
    [(0, 'Intro'), (19, 'Usage')]
    """
    return [(t.start, t.title) for t in find_titles(as_text(text))]


def parse_faq(text: str, *, source: str | None = None) -> list[QAPair]:
    """Every question ("…?" title) with its answer, as located :class:`~ragtune.qa.QAPair`
    objects: ``text[pair.start:pair.end] == pair.answer``, ``pair.question_start`` is the
    title's offset, and ids are ``source#n`` (n counts the document's questions; no id
    without a source, and the offsets are into ``text``).

    Examples
    --------
    >>> doc = "FAQ\\n===\\n\\nWhy?\\n----\\n\\nBecause.\\n\\nHow?\\n----\\n\\nLike this.\\n"
    >>> [(i.question, i.answer) for i in parse_faq(doc)]
    [('Why?', 'Because.'), ('How?', 'Like this.')]
    >>> parse_faq(doc, source="faq.rst")[1].id
    'faq.rst#1'
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
        items.append(QAPair(title, stripped, source, answer_start, answer_start + len(stripped),
                            f"{source}#{len(items)}" if source is not None else None, question_start=question_start))
    return items
