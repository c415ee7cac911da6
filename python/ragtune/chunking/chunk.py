"""The unit every ragtune pipeline passes around: a piece of a document that
knows exactly where it came from."""

from __future__ import annotations

from typing import Any

from .. import _core


def citation(source: str | None, line_start: int | None, line_end: int | None, *, unnamed: str) -> str:
    """The one citation format: ``source:line_start-line_end`` (the form editors and
    terminals link to), ``unnamed`` standing in for a missing source, and just the
    name when the lines are unknown.

    Examples
    --------
    >>> citation("faq/library.rst.txt", 12, 20, unnamed="<text>")
    'faq/library.rst.txt:12-20'
    >>> citation(None, None, None, unnamed="doc-7")
    'doc-7'
    """
    where = source if source is not None else unnamed
    return where if line_start is None else f"{where}:{line_start}-{line_end}"


def chunk_id(chunk: Chunk) -> str:
    """The id ragtune gives a chunk everywhere (``source#index``): Index.add, RAFT
    oracles, evaluation qrels.

    Examples
    --------
    >>> chunk_id(Chunk("hi", 0, 2, 0, 2, 1, 1, 3, source="x.md"))
    'x.md#3'
    """
    if chunk.source is None:
        raise ValueError("chunks need a source to be referenced by id; split with source=... or pass ids")
    return f"{chunk.source}#{chunk.index}"


class Chunk(_core.ChunkBase):
    """A chunk of a document with exact offsets for citations.

    ``original[chunk.start:chunk.end] == chunk.text`` always holds, even when the
    same passage repeats and chunks overlap. The fields live in C (the core creates
    millions of chunks without running Python code); ``text`` and the offsets are
    read-only, ``source`` and ``metadata`` can be changed.

    Attributes
    ----------
    text : str
        The chunk's text.
    start, end : int
        Code-point offsets into the original text (Python string indices).
    byte_start, byte_end : int
        The same span in the text's UTF-8 encoding.
    line_start, line_end : int
        1-based lines of the chunk's first and last character.
    index : int
        Position of the chunk within its document.
    source : str or None
        Where the document came from (a path, URL or id), if given.
    metadata : dict
        Extra information (a Markdown header path, the document's metadata, ...).

    Examples
    --------
    >>> from ragtune import RecursiveChunker
    >>> text = "alpha beta\\n\\ngamma delta"
    >>> chunk = RecursiveChunker(chunk_size=12, chunk_overlap=0).split(text, source="a.txt")[1]
    >>> text[chunk.start:chunk.end], chunk.citation()
    ('gamma delta', 'a.txt:3-3')
    >>> Chunk("hi", 0, 2, 0, 2, 1, 1, 0, source="x.md").metadata
    {}
    """

    __slots__ = ()

    def citation(self) -> str:
        """``source:line_start-line_end``, the form editors and terminals link to."""
        return citation(self.source, self.line_start, self.line_end, unnamed="<text>")

    def __repr__(self) -> str:
        preview = self.text if len(self.text) <= 40 else self.text[:37] + "..."
        source = f", source={self.source!r}" if self.source is not None else ""
        return (
            f"Chunk({preview!r}, start={self.start}, end={self.end}, "
            f"lines={self.line_start}-{self.line_end}, index={self.index}{source})"
        )

    def __reduce__(self) -> tuple[Any, ...]:
        return (
            Chunk,
            (self.text, self.start, self.end, self.byte_start, self.byte_end, self.line_start, self.line_end,
             self.index, self.source, self.metadata),
        )


_core.set_chunk_type(Chunk)
