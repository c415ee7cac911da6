"""The unit every ragtune pipeline passes around: a piece of a document that
knows exactly where it came from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


# Not frozen: frozen dataclasses construct several times slower, and corpora
# produce millions of chunks.
@dataclass(slots=True)
class Chunk:
    """A chunk of a document with exact offsets for citations.

    ``original[chunk.start:chunk.end] == chunk.text`` always holds, even when the
    same passage repeats and chunks overlap.

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
    """

    text: str
    start: int
    end: int
    byte_start: int
    byte_end: int
    line_start: int
    line_end: int
    index: int
    source: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    def citation(self) -> str:
        """``source:line_start-line_end``, the form editors and terminals link to."""
        where = self.source if self.source is not None else "<text>"
        return f"{where}:{self.line_start}-{self.line_end}"

    def __repr__(self) -> str:
        preview = self.text if len(self.text) <= 40 else self.text[:37] + "..."
        source = f", source={self.source!r}" if self.source is not None else ""
        return (
            f"Chunk({preview!r}, start={self.start}, end={self.end}, "
            f"lines={self.line_start}-{self.line_end}, index={self.index}{source})"
        )
