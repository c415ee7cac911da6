"""SentenceChunker: Unicode-aware sentence boundaries, packed into chunks with
whole-sentence overlap."""

from __future__ import annotations

import re
import functools
from typing import Any

from .._inputs import as_text
from .chunk import Chunk
from .lengths import resolve_length
from .recursive import RecursiveChunker, check_sizes
from .spans import chunks_from_spans, strip_span

# Terminators: ASCII . ! ?, the ellipsis, and full-width / CJK / other scripts' stops.
_TERMINATORS = ".!?\u2026\u203c\u2047\u2048\u2049\u3002\uff01\uff1f\uff0e\u0964\u0965\u06d4\u061f"
# Full-width stops end a sentence without a following space; the others need one.
_NO_SPACE_NEEDED = "\u3002\uff01\uff1f\uff0e"
_CLOSERS = "\"'\u201d\u2019)]}\u300d\u300f\u3011\u300b\u00bb"
# Closers that never open anything, so they may follow a space (French « Oui. »).
_SPACED_CLOSERS = "\u00bb\u300d\u300f\u3011\u300b"
_CLOSING = rf"(?:[{re.escape(_CLOSERS)}]|[ \u00a0\u202f][{re.escape(_SPACED_CLOSERS)}])*"
_BOUNDARY = re.compile(
    rf"(?:[{re.escape(_TERMINATORS)}]+{_CLOSING}(?=\s)"
    rf"|[{re.escape(_NO_SPACE_NEEDED)}]+{_CLOSING}"
    rf"|\n[ \t]*\n)"
)
# Words after which a period does not end a sentence (compared lower-case, without the dot).
ABBREVIATIONS = frozenset(
    "mr mrs ms dr prof sr jr st vs etc e.g i.e cf al fig figs eq eqs no nos vol vols pp ch sec "
    "inc ltd co corp dept univ approx est jan feb mar apr jun jul aug sep sept oct nov dec "
    "mt ft gen gov sen rep rev col lt sgt capt cmdr adm a.m p.m".split()
)
_WORD_BEFORE = re.compile(r"([\w.]+)$")


def sentence_spans(text: str) -> list[tuple[int, int]]:
    """Code-point spans of the sentences of ``text`` (whitespace between them excluded).

    Boundaries: runs of . ! ? … (and their full-width / CJK forms) followed by
    closing quotes or brackets, then whitespace (CJK full stops need none);
    blank lines. A period after a known abbreviation ("Dr.", "e.g.") or a single
    capital letter (an initial, "J. Smith") does not end a sentence.

    Examples
    --------
    >>> text = "Dr. Smith arrived. He said “hi!” Then left.これは文です。次の文。"
    >>> [text[a:b] for a, b in sentence_spans(text)]
    ['Dr. Smith arrived.', 'He said “hi!”', 'Then left.これは文です。', '次の文。']
    """
    spans: list[tuple[int, int]] = []
    begin = 0
    for match in _BOUNDARY.finditer(text):
        end = match.end()
        if match.group().startswith("\n"):
            end = match.start()
        elif match.group().startswith(".") and len(match.group().rstrip(_CLOSERS + " \u00a0\u202f")) == 1:
            word = _WORD_BEFORE.search(text, 0, match.start())
            if word and (word.group(1).lower().rstrip(".") in ABBREVIATIONS
                         or (len(word.group(1)) == 1 and word.group(1).isupper())):
                continue
        start, stop = strip_span(text, begin, end)
        if start < stop:
            spans.append((start, stop))
        begin = match.end()
    start, stop = strip_span(text, begin, len(text))
    if start < stop:
        spans.append((start, stop))
    return spans


class SentenceChunker:
    """Pack whole sentences into chunks of at most ``chunk_size``, carrying whole
    sentences of up to ``chunk_overlap`` into the next chunk.

    A sentence longer than ``chunk_size`` is split on its own with a
    :class:`RecursiveChunker` (words, then characters).

    Parameters
    ----------
    chunk_size, chunk_overlap : int
        Sizes in the unit of ``length``.
    length : "chars", a Hugging Face tokenizer, or callable
        How length is measured (a chunk's length is the sum of its sentences').

    Examples
    --------
    >>> from ragtune import SentenceChunker
    >>> text = "One fish. Two fish. Red fish. Blue fish."
    >>> [c.text for c in SentenceChunker(chunk_size=20, chunk_overlap=10).split(text)]
    ['One fish. Two fish.', 'Two fish. Red fish.', 'Red fish. Blue fish.']
    """

    def __init__(self, *, chunk_size: int = 1000, chunk_overlap: int = 200, length: Any = "chars") -> None:
        self.chunk_size, self.chunk_overlap = check_sizes(chunk_size, chunk_overlap)
        self._arguments = {"chunk_size": chunk_size, "chunk_overlap": chunk_overlap, "length": length}  # for pickling
        self._length = resolve_length(length)
        self._long = RecursiveChunker(
            chunk_size=self.chunk_size,
            chunk_overlap=min(self.chunk_overlap, self.chunk_size // 2),
            separators=[" ", ""],
            length=length,
        )

    def _measure(self, pieces: list[str]) -> list[int]:
        plan = self._length
        if plan.kind == "tokens" and plan.counter is not None:
            return plan.counter.count(pieces)
        if plan.kind == "callable" and plan.function is not None:
            return [int(plan.function(p)) for p in pieces]
        return [len(p) for p in pieces]

    def __reduce__(self) -> tuple[Any, ...]:
        return (functools.partial(type(self), **self._arguments), ())

    def split(self, text: str, *, source: str | None = None) -> list[Chunk]:
        """Split one document into sentence-aligned chunks with exact offsets."""
        text = as_text(text)
        units: list[tuple[int, int]] = []
        sentences = sentence_spans(text)
        for (a, b), size in zip(sentences, self._measure([text[a:b] for a, b in sentences])):
            if size <= self.chunk_size:
                units.append((a, b))
            else:
                units.extend((a + c.start, a + c.end) for c in self._long.split(text[a:b]))
        sizes = self._measure([text[a:b] for a, b in units])
        # Joining sentences adds the gap between them; count it in character mode.
        gaps = [units[i + 1][0] - units[i][1] if self._length.kind == "chars" else 0 for i in range(len(units) - 1)]
        spans: list[tuple[int, int]] = []
        first = 0
        while first < len(units):
            last, total = first, sizes[first]
            while last + 1 < len(units) and total + gaps[last] + sizes[last + 1] <= self.chunk_size:
                total += gaps[last] + sizes[last + 1]
                last += 1
            spans.append((units[first][0], units[last][1]))
            if last + 1 >= len(units):
                break
            # The next chunk starts with the trailing sentences that fit the overlap,
            # but always moves forward by at least one sentence.
            next_first, carried = last + 1, 0
            while (
                next_first - 1 > first
                and carried + sizes[next_first - 1] + (gaps[next_first - 1] if carried else 0) <= self.chunk_overlap
            ):
                carried += sizes[next_first - 1] + (gaps[next_first - 1] if carried else 0)
                next_first -= 1
            first = next_first
        return chunks_from_spans(text, spans, source=source)

    def split_many(self, texts: list[str], *, sources: list[str | None] | None = None) -> list[list[Chunk]]:
        """Split several documents (in order)."""
        sources = sources or [None] * len(texts)
        if len(sources) != len(texts):
            raise ValueError(f"sources has {len(sources)} entries for {len(texts)} texts")
        return [self.split(t, source=s) for t, s in zip(texts, sources)]

    def __repr__(self) -> str:
        return (f"SentenceChunker(chunk_size={self.chunk_size}, chunk_overlap={self.chunk_overlap}, "
                f"length={self._length.describe()!r})")
