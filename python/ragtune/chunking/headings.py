"""The one reader of document structure line by line: Markdown ATX headings, reST
section titles, and fenced code blocks (inside which nothing is a heading: a
``# comment`` in a code block is code). Used by MarkdownChunker, by FAQ parsing
and by RAFT's document titles."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

# ATX headings: 1-6 '#' at the start of the line, then a space or the end of the line; a
# closing run of '#' counts only after whitespace ("C#" keeps its '#'). CommonMark also
# allows up to three spaces before the '#'; here an indented '#' line is code (a comment
# in a reST literal block, indented three spaces), which is far more common.
_ATX = re.compile(r"^(#{1,6})(?:[ \t]+(.*?))?(?:[ \t]+#+)?[ \t]*$")
# Fences: ``` or ~~~ (three or more), up to three spaces of indentation.
_FENCE = re.compile(r"^ {0,3}(`{3,}|~{3,})")
# reST underlines (and overlines) repeat one punctuation character.
_UNDERLINE = re.compile(r"^([=\-`:'\"~^_*+#<>.])\1{2,}\s*$")


@dataclass(frozen=True, slots=True)
class Line:
    """One line of a document.

    ``fence`` is "open" or "close" on a fence's own line; ``code`` is True inside a
    fenced block (fence lines included); ``heading`` is (level, title) for an ATX
    heading outside code (level 1-6).
    """

    number: int
    start: int
    end: int
    text: str
    fence: str | None = None
    code: bool = False
    heading: tuple[int, str] | None = None


def scan_lines(text: str) -> Iterator[Line]:
    """Every line of ``text`` with its offsets (code points), fences and ATX headings.

    Examples
    --------
    >>> [(l.number, l.fence, l.heading) for l in scan_lines("# Title\\n```py\\n# not a heading\\n```\\n")]
    [(0, None, (1, 'Title')), (1, 'open', None), (2, None, None), (3, 'close', None)]
    """
    fence: str | None = None
    position = 0
    raws = text.splitlines(keepends=True)
    bares = [raw.rstrip("\r\n") for raw in raws]
    for number, raw in enumerate(raws):
        start, position = position, position + len(raw)
        bare = bares[number]
        if fence is None and _is_rest_adornment(bares, number):
            yield Line(number, start, position, bare)  # a reST underline or overline of ~ or `, not a fence
            continue
        if fence is not None:
            closing = _FENCE.match(bare)
            if (closing and closing.group(1)[0] == fence[0] and len(closing.group(1)) >= len(fence)
                    and not bare.strip()[len(closing.group(1)):].strip()):
                fence = None
                yield Line(number, start, position, bare, fence="close", code=True)
            else:
                yield Line(number, start, position, bare, code=True)
            continue
        opening = _FENCE.match(bare)
        if opening:
            fence = opening.group(1)
            yield Line(number, start, position, bare, fence="open", code=True)
            continue
        atx = _ATX.match(bare)
        heading = (len(atx.group(1)), (atx.group(2) or "").strip()) if atx else None
        yield Line(number, start, position, bare, heading=heading)


def _is_rest_adornment(lines: list[str], i: int) -> bool:
    """Whether a line of only ``~`` or backticks is reST's underline of the title above,
    or the overline of the title below (as wide as it, the same run under it)."""
    line = lines[i].rstrip()
    if not _UNDERLINE.match(line) or line[0] not in "~`":
        return False
    above = lines[i - 1] if i > 0 else ""
    if above.strip() and not _UNDERLINE.match(above) and len(line) >= len(above.rstrip()):
        return True
    below, after = (lines[i + 1] if i + 1 < len(lines) else ""), (lines[i + 2] if i + 2 < len(lines) else "")
    return bool(below.strip()) and after.rstrip() == line and len(line) >= len(below.strip())


@dataclass(frozen=True, slots=True)
class Title:
    """A section title: its first line, the text, and how many lines it takes (1 for
    a Markdown heading, 2 for a reST title and its underline)."""

    line: int
    start: int
    title: str
    lines: int


def section_titles(text: str) -> list[Title]:
    """Markdown headings and reST section titles outside code, in order.

    Examples
    --------
    >>> [(t.start, t.title) for t in section_titles("Intro\\n=====\\n\\n```\\n# code\\n```\\n## Usage\\n")]
    [(0, 'Intro'), (28, 'Usage')]
    """
    lines = list(scan_lines(text))
    titles = []
    for i, line in enumerate(lines):
        if line.code:
            continue
        if line.heading is not None:
            if line.heading[1]:
                titles.append(Title(line.number, line.start, line.heading[1], 1))
            continue
        below = lines[i + 1] if i + 1 < len(lines) else None
        if (below is not None and not below.code and line.text.strip() and not _UNDERLINE.match(line.text)
                and _UNDERLINE.match(below.text) and len(below.text.rstrip()) >= len(line.text.rstrip())):
            titles.append(Title(line.number, line.start, line.text.strip(), 2))
    return titles
