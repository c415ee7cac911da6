"""MarkdownChunker: sections by header, header path in metadata, fenced code
blocks kept whole."""

from __future__ import annotations

from dataclasses import dataclass
import functools
from typing import Any

from .._inputs import as_int, as_text
from .chunk import Chunk
from .headings import scan_lines
from .recursive import RecursiveChunker
from .spans import chunks_from_spans, strip_span



@dataclass(frozen=True)
class _Block:
    start: int
    end: int
    is_code: bool
    headers: tuple[str, ...]


class MarkdownChunker:
    """Split Markdown by its headers, keeping each chunk's header path.

    A section (a header and the text up to the next header) becomes one chunk when it
    fits ``chunk_size``; a longer one is packed from its paragraphs. A fenced code
    block is never cut unless the block alone exceeds ``chunk_size``, in which case it
    is cut at line boundaries. Every chunk is a verbatim slice of the input.

    Parameters
    ----------
    chunk_size : int
        Maximum chunk length in characters.
    max_header_level : int
        Headers deeper than this (``####`` = 4) do not start a new section.

    Examples
    --------
    >>> from ragtune import MarkdownChunker
    >>> doc = "# Guide\\n\\nIntro.\\n\\n## Install\\n\\n```sh\\npip install ragtune\\n```\\n"
    >>> [(c.text.splitlines()[0], c.metadata["header_path"]) for c in MarkdownChunker(chunk_size=200).split(doc)]
    [('# Guide', 'Guide'), ('## Install', 'Guide > Install')]
    """

    def __init__(self, *, chunk_size: int = 1000, max_header_level: int = 6) -> None:
        self.chunk_size = as_int(chunk_size, name="chunk_size", minimum=1)
        self.max_header_level = as_int(max_header_level, name="max_header_level", minimum=1)
        if self.max_header_level > 6:
            raise ValueError(f"max_header_level must be 1..6, got {max_header_level}")
        self._arguments = {"chunk_size": chunk_size, "max_header_level": max_header_level}  # what pickling keeps
        self._prose = RecursiveChunker(chunk_size=self.chunk_size, chunk_overlap=0)
        self._code = RecursiveChunker(chunk_size=self.chunk_size, chunk_overlap=0, separators=["\n", ""])

    def __reduce__(self) -> tuple[Any, ...]:
        return (functools.partial(type(self), **self._arguments), ())

    def split(self, text: str, *, source: str | None = None) -> list[Chunk]:
        """Split one Markdown document; each chunk's metadata holds ``headers`` and ``header_path``."""
        text = as_text(text)
        spans: list[tuple[int, int]] = []
        metas: list[dict[str, Any]] = []
        for section in self._sections(text):
            for start, end in self._pack(text, section):
                start, end = strip_span(text, start, end)
                if start < end:
                    headers = list(section[0].headers)
                    spans.append((start, end))
                    metas.append({"headers": headers, "header_path": " > ".join(headers)})
        return chunks_from_spans(text, spans, source=source, metadatas=metas)

    def split_many(self, texts: list[str], *, sources: list[str | None] | None = None) -> list[list[Chunk]]:
        """Split several documents (in order)."""
        sources = sources or [None] * len(texts)
        if len(sources) != len(texts):
            raise ValueError(f"sources has {len(sources)} entries for {len(texts)} texts")
        return [self.split(t, source=s) for t, s in zip(texts, sources)]

    def _sections(self, text: str) -> list[list[_Block]]:
        """Blocks (prose or fenced code), grouped into sections by header."""
        sections: list[list[_Block]] = []
        blocks: list[_Block] = []
        path: list[tuple[int, str]] = []
        fence = False
        block_start = 0
        position = 0

        def close(end: int, is_code: bool) -> None:
            if end > block_start:
                blocks.append(_Block(block_start, end, is_code, tuple(title for _, title in path)))

        for line in scan_lines(text):
            position = line.end
            if line.fence == "open":
                close(line.start, False)
                block_start, fence = line.start, True
                continue
            if line.fence == "close":
                close(line.end, True)
                block_start, fence = line.end, False
                continue
            if line.code or line.heading is None or line.heading[0] > self.max_header_level:
                continue
            close(line.start, False)
            if blocks:
                sections.append(blocks)
            blocks = []
            level, title = line.heading
            path = [(lv, t) for lv, t in path if lv < level] + [(level, title)]
            block_start = line.start
        close(position, fence)  # an unclosed fence runs to the end, as CommonMark says
        if blocks:
            sections.append(blocks)
        return sections

    def _pack(self, text: str, section: list[_Block]) -> list[tuple[int, int]]:
        """Spans of at most chunk_size covering the section, code blocks whole where they fit."""
        start, end = section[0].start, section[-1].end
        if end - start <= self.chunk_size:
            return [(start, end)]
        units: list[tuple[int, int]] = []
        for block in section:
            if block.is_code and block.end - block.start <= self.chunk_size:
                units.append((block.start, block.end))
                continue
            splitter = self._code if block.is_code else self._prose
            body = text[block.start : block.end]
            units.extend((block.start + c.start, block.start + c.end) for c in splitter.split(body))
        packed: list[tuple[int, int]] = []
        for unit_start, unit_end in units:
            if packed and unit_end - packed[-1][0] <= self.chunk_size:
                packed[-1] = (packed[-1][0], unit_end)
            else:
                packed.append((unit_start, unit_end))
        return packed

    def __repr__(self) -> str:
        return f"MarkdownChunker(chunk_size={self.chunk_size}, max_header_level={self.max_header_level})"
