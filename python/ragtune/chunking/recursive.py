"""RecursiveChunker: LangChain's recursive character splitting in C++, with exact
offsets, parallel over documents, and lengths in characters or tokens."""

from __future__ import annotations

from collections.abc import Sequence
import functools
from typing import Any, Literal

import numpy as np
from tqdm.auto import tqdm

from .. import _core
from .._gc import gc_paused
from .._inputs import as_int, as_optional_sources, as_text, as_texts, as_threads
from .chunk import Chunk
from .lengths import LengthPlan, cut_to_token_limit, resolve_length
from .presets import LANGUAGE_SEPARATORS

DEFAULT_SEPARATORS = ["\n\n", "\n", " ", ""]
# Each separator is one level of recursion in the core; bound the depth.
MAX_SEPARATORS = 128
KeepSeparator = bool | Literal["start", "end"]

# Offsets come back from the core as rows of this layout.
_START, _END, _BYTE_START, _BYTE_END, _LINE_START, _LINE_END = range(6)
# Documents per core call when a progress bar is shown.
_PROGRESS_BATCH = 512
# ragtune's defaults when it sizes chunks itself: characters when the embedder reads
# any length, and an overlap of 15% of the chunk size in either unit.
CHARACTER_CHUNK_SIZE = 1000
OVERLAP_SHARE = 0.15


def _default_overlap(size: Any) -> int:
    return round(OVERLAP_SHARE * as_int(size, name="chunk_size", minimum=1))


def separators_for_language(language: Any) -> list[str]:
    """The separator preset for a language ("python", "markdown", "rst", ...), as LangChain defines it.

    Accepts a name or LangChain's ``Language`` enum. Raises ValueError for unknown names.

    Examples
    --------
    >>> separators_for_language("python")[:3]
    ['\\nclass ', '\\ndef ', '\\n\\tdef ']
    """
    name = getattr(language, "value", language)
    if not isinstance(name, str) or name.lower() not in LANGUAGE_SEPARATORS:
        known = ", ".join(sorted(LANGUAGE_SEPARATORS))
        raise ValueError(f"unknown language preset {language!r}; choose one of: {known}")
    return list(LANGUAGE_SEPARATORS[name.lower()])


def keep_mode(keep_separator: Any) -> str:
    """Map LangChain's keep_separator (True/False/"start"/"end") to the core's name."""
    if keep_separator is True or keep_separator == "start":
        return "start"
    if keep_separator is False:
        return "none"
    if keep_separator == "end":
        return "end"
    raise ValueError(f"keep_separator must be True, False, 'start' or 'end', got {keep_separator!r}")


def check_separators(separators: Any) -> list[str]:
    """None means LangChain's default; otherwise a list of str."""
    if separators is None:
        return list(DEFAULT_SEPARATORS)
    if isinstance(separators, str) or not isinstance(separators, Sequence):
        raise TypeError(f"separators must be a list of str, got {type(separators).__name__}")
    for i, s in enumerate(separators):
        if not isinstance(s, str):
            raise TypeError(f"separators[{i}] must be str, got {type(s).__name__}")
    if len(separators) > MAX_SEPARATORS:
        raise ValueError(f"at most {MAX_SEPARATORS} separators are supported, got {len(separators)}")
    return list(separators) or list(DEFAULT_SEPARATORS)


def check_sizes(chunk_size: Any, chunk_overlap: Any) -> tuple[int, int]:
    size = as_int(chunk_size, name="chunk_size", minimum=1)
    overlap = as_int(chunk_overlap, name="chunk_overlap", minimum=0)
    if overlap > size:
        raise ValueError(f"chunk_overlap ({overlap}) must not exceed chunk_size ({size}); make the overlap smaller")
    return size, overlap


class RecursiveChunker:
    """Split text into chunks the way LangChain's RecursiveCharacterTextSplitter does,
    with exact offsets, in C++.

    Separators are tried in order (paragraphs, lines, words, characters by default);
    a piece still too long is split with the next one, and small pieces are merged
    back up to ``chunk_size`` with ``chunk_overlap`` carried between chunks.

    Parameters
    ----------
    chunk_size : int
        Maximum chunk length, in the unit of ``length``.
    chunk_overlap : int
        How much of the end of one chunk starts the next.
    separators : list of str, optional
        Tried in order; ``""`` splits into characters. Default ``["\\n\\n", "\\n", " ", ""]``.
    keep_separator : bool or "start" or "end"
        Keep separators with the following piece (True/"start"), the previous one
        ("end"), or drop them (False). With False, chunks are still verbatim slices
        of the input: pieces are joined with the separator actually between them.
        Boundaries are LangChain's, whose length counts one separator between pieces,
        so a slice that spans a run of separators (several spaces, say) can be longer
        than ``chunk_size`` by that run.
    is_separator_regex : bool
        Treat separators as regular expressions (Python ``re`` syntax).
    strip_whitespace : bool
        Strip whitespace from both ends of each chunk.
    length : "chars", a Hugging Face tokenizer, or callable
        How length is measured: code points; tokens of a fast tokenizer (each
        document tokenised once; every chunk is guaranteed to have at most
        ``chunk_size`` tokens when tokenised alone); or any ``str -> int`` callable
        (called per piece, exactly as LangChain does).

    Examples
    --------
    >>> from ragtune import RecursiveChunker
    >>> chunker = RecursiveChunker(chunk_size=20, chunk_overlap=5)
    >>> [c.text for c in chunker.split("The quick brown fox jumps over the lazy dog.")]
    ['The quick brown fox', 'fox jumps over the', 'the lazy dog.']
    """

    def __init__(
        self,
        *,
        chunk_size: int = 1000,
        chunk_overlap: int = 200,
        separators: list[str] | None = None,
        keep_separator: KeepSeparator = True,
        is_separator_regex: bool = False,
        strip_whitespace: bool = True,
        length: Any = "chars",
    ) -> None:
        self.chunk_size, self.chunk_overlap = check_sizes(chunk_size, chunk_overlap)
        self.separators = check_separators(separators)
        # Pickled as these arguments (the C++ splitter is rebuilt), so a chunker travels to
        # worker processes (multiprocessing, Ray) like any Python object.
        self._arguments = {"chunk_size": chunk_size, "chunk_overlap": chunk_overlap, "separators": separators,
                           "keep_separator": keep_separator, "is_separator_regex": is_separator_regex,
                           "strip_whitespace": strip_whitespace, "length": length}
        self.keep_separator = keep_separator
        self.is_separator_regex = bool(is_separator_regex)
        self.strip_whitespace = bool(strip_whitespace)
        self._length: LengthPlan = resolve_length(length)
        self._core = self._make_core(langchain_text=False)
        self._separator_tokens = (
            self._length.counter.count(self.separators) if self._length.counter is not None else None
        )

    def _make_core(self, *, langchain_text: bool) -> Any:
        return _core.RecursiveSplitter(
            chunk_size=self.chunk_size,
            chunk_overlap=self.chunk_overlap,
            separators=self.separators,
            keep=keep_mode(self.keep_separator),
            is_separator_regex=self.is_separator_regex,
            strip_whitespace=self.strip_whitespace,
            langchain_text=langchain_text,
        )

    @classmethod
    def from_language(cls, language: Any, **options: Any) -> RecursiveChunker:
        """A chunker with LangChain's separator preset for ``language`` (regex separators).

        Examples
        --------
        >>> chunker = RecursiveChunker.from_language("python", chunk_size=200, chunk_overlap=0)
        >>> chunker.is_separator_regex
        True
        """
        if "separators" in options or "is_separator_regex" in options:
            raise TypeError("from_language sets separators and is_separator_regex itself; pass the other options only")
        return cls(separators=separators_for_language(language), is_separator_regex=True, **options)

    @classmethod
    def for_embedder(cls, embedder: Any = None, *, chunk_size: int | None = None, chunk_overlap: int | None = None,
                     **options: Any) -> RecursiveChunker:
        """A chunker whose chunks fit ``embedder``'s window: lengths in the embedder's own
        tokens, ``chunk_size`` = the window less its special tokens (254 for MiniLM),
        overlap 15% of that. Every chunk is then embedded whole, never silently cut.

        An embedder without a window (it reads any length) gets the character default,
        ``chunk_size=1000, chunk_overlap=150``.

        Examples
        --------
        >>> from ragtune.embeddings import MiniLMEmbeddings
        >>> chunker = RecursiveChunker.for_embedder(MiniLMEmbeddings())
        >>> chunker.chunk_size, chunker.chunk_overlap
        (254, 38)
        """
        from ..embeddings.base import resolve_embedding

        if "length" in options:
            raise TypeError("for_embedder measures in the embedder's tokens; pass the other options only")
        window = resolve_embedding(embedder).window
        if window is None:
            return cls.in_characters(chunk_size=chunk_size, chunk_overlap=chunk_overlap, **options)
        size = window.text_tokens if chunk_size is None else as_int(chunk_size, name="chunk_size", minimum=1)
        if size > window.text_tokens:
            raise ValueError(f"chunk_size={size} tokens does not fit the embedder's window of {window.tokens} tokens "
                             f"({window.special_tokens} of them special); use at most {window.text_tokens}")
        overlap = _default_overlap(size) if chunk_overlap is None else chunk_overlap
        return cls(chunk_size=size, chunk_overlap=overlap, length=window.tokenizer, **options)

    @classmethod
    def in_characters(cls, *, chunk_size: int | None = None, chunk_overlap: int | None = None,
                      **options: Any) -> RecursiveChunker:
        """ragtune's character chunking: ``chunk_size=1000`` and an overlap of 15% of the
        size unless given (what ``--chunk-unit chars`` and embedders without a window use).

        Examples
        --------
        >>> chunker = RecursiveChunker.in_characters(chunk_size=400)
        >>> chunker.chunk_size, chunker.chunk_overlap
        (400, 60)
        """
        size = CHARACTER_CHUNK_SIZE if chunk_size is None else chunk_size
        overlap = _default_overlap(size) if chunk_overlap is None else chunk_overlap
        return cls(chunk_size=size, chunk_overlap=overlap, **options)

    # -- splitting ---------------------------------------------------------------

    def split(self, text: str, *, source: str | None = None) -> list[Chunk]:
        """Split one document into chunks with exact offsets.

        Parameters
        ----------
        text : str
            The document (UTF-8 bytes are accepted and decoded).
        source : str, optional
            Where it came from, carried into each chunk for citations.

        Examples
        --------
        >>> chunks = RecursiveChunker(chunk_size=11, chunk_overlap=0).split("one two\\nthree four")
        >>> [(c.text, c.start, c.line_start) for c in chunks]
        [('one two', 0, 1), ('three four', 8, 2)]
        """
        return self.split_many([as_text(text)], sources=[source], threads=1)[0]

    def split_many(
        self,
        texts: Sequence[str],
        *,
        sources: Sequence[str | None] | None = None,
        threads: int = 0,
        progress: bool | None = None,
    ) -> list[list[Chunk]]:
        """Split many documents in parallel; results are in input order and identical
        whatever the thread count.

        Parameters
        ----------
        texts : sequence of str
            The documents.
        sources : sequence of str, optional
            One source per document.
        threads : int
            0 uses all cores (oneTBB's default); N uses exactly N.
        progress : bool, optional
            Show a progress bar; by default only for large batches on a terminal.

        Examples
        --------
        >>> out = RecursiveChunker(chunk_size=5, chunk_overlap=0).split_many(["a b c", "d"], sources=["x", "y"])
        >>> [[c.text for c in doc] for doc in out]
        [['a b c'], ['d']]
        """
        texts = as_texts(texts)
        sources = as_optional_sources(sources, len(texts))
        threads = as_threads(threads)
        plan = self._length
        if plan.kind == "callable":
            results = self._split_with_callable(texts, progress=bool(progress))
            with gc_paused():
                return [self._to_chunks(offsets, chunk_texts, source)
                        for (offsets, chunk_texts), source in zip(results, sources)]
        show = progress if progress is not None else len(texts) > 4 * _PROGRESS_BATCH
        batch_size = _PROGRESS_BATCH if show else max(1, len(texts))
        out: list[list[Chunk]] = []
        with tqdm(total=len(texts), unit="doc", desc="chunking", disable=not show) as bar, gc_paused():
            for first in range(0, len(texts), batch_size):
                batch = texts[first : first + batch_size]
                batch_sources = sources[first : first + batch_size]
                if plan.kind == "tokens":
                    assert plan.counter is not None
                    docs = self._core.split_chunks(batch, batch_sources, token_starts=plan.counter.token_starts(batch),
                                                   separator_lengths=self._separator_tokens, threads=threads)
                    out.extend(self._enforce_token_limit_on_chunks(docs))
                else:
                    out.extend(self._core.split_chunks(batch, batch_sources, threads=threads))
                bar.update(len(batch))
        return out

    def split_texts(self, text: str) -> list[str]:
        """Just the chunk strings of one document (no Chunk objects; the fastest path)."""
        if self._length.kind == "chars":
            return self._core.split(as_text(text), with_lines=False)[1]
        return [c.text for c in self.split(text)]

    def _split_with_callable(self, texts: list[str], *, progress: bool) -> list[tuple[np.ndarray, list[str]]]:
        """(offsets rows, chunk strings) per document, measuring with the user's Python callable
        (which needs the GIL, so documents go one at a time)."""
        function = self._length.function
        results = []
        with tqdm(total=len(texts), unit="doc", desc="chunking", disable=not progress) as bar:
            for text in texts:
                results.append(self._core.split(text, length_function=function))
                bar.update(1)
        return results

    def _enforce_token_limit_on_chunks(self, docs: list[list[Chunk]]) -> list[list[Chunk]]:
        """Re-tokenise every chunk alone (one batch for all documents) and cut the
        rare chunk that exceeds the limit at token boundaries."""
        counter = self._length.counter
        assert counter is not None
        counts = iter(counter.count([c.text for doc in docs for c in doc]))
        fixed = []
        for doc in docs:
            doc_counts = [next(counts) for _ in doc]
            if max(doc_counts, default=0) <= self.chunk_size:
                fixed.append(doc)
                continue
            rows: list[list[int]] = []
            texts: list[str] = []
            for chunk, n in zip(doc, doc_counts):
                if n <= self.chunk_size:
                    rows.append([chunk.start, chunk.end, chunk.byte_start, chunk.byte_end,
                                 chunk.line_start, chunk.line_end])
                    texts.append(chunk.text)
                    continue
                for a, b in cut_to_token_limit(chunk.text, self.chunk_size, counter):
                    piece = chunk.text[a:b]
                    byte_start = chunk.byte_start + len(chunk.text[:a].encode("utf-8"))
                    line_start = chunk.line_start + chunk.text.count("\n", 0, a)
                    rows.append([
                        chunk.start + a, chunk.start + b, byte_start, byte_start + len(piece.encode("utf-8")),
                        line_start, line_start + piece.count("\n", 0, max(0, len(piece) - 1)),
                    ])
                    texts.append(piece)
            source = doc[0].source if doc else None
            fixed.append(self._to_chunks(np.asarray(rows, dtype=np.int64).reshape(-1, 6), texts, source))
        return fixed

    @staticmethod
    def _to_chunks(offsets: np.ndarray, chunk_texts: list[str] | None, source: str | None) -> list[Chunk]:
        assert chunk_texts is not None
        return [
            Chunk(chunk_text, row[0], row[1], row[2], row[3], row[4], row[5], i, source, {})
            for i, (row, chunk_text) in enumerate(zip(offsets.tolist(), chunk_texts))
        ]

    def __reduce__(self) -> tuple[Any, ...]:
        return (functools.partial(type(self), **self._arguments), ())

    def __repr__(self) -> str:
        separators = self.separators if len(self.separators) <= 6 else [*self.separators[:5], "..."]
        return (
            f"RecursiveChunker(chunk_size={self.chunk_size}, chunk_overlap={self.chunk_overlap}, "
            f"separators={separators!r}, keep_separator={self.keep_separator!r}, "
            f"is_separator_regex={self.is_separator_regex}, strip_whitespace={self.strip_whitespace}, "
            f"length={self._length.describe()!r})"
        )
