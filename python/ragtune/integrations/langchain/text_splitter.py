"""A drop-in LangChain ``RecursiveCharacterTextSplitter`` running ragtune's C++ core.

Output is identical to ``langchain_text_splitters.RecursiveCharacterTextSplitter``
(same texts, same Documents, same metadata) for every option and preset, except
that ``start_index`` is always the chunk's true position: LangChain finds it by
searching for the chunk text, which goes wrong when a passage repeats.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from typing import Any, Literal

try:
    from langchain_core.documents import Document
    from langchain_text_splitters import Language, TextSplitter
except ImportError as error:  # pragma: no cover - exercised only without the extra
    raise ImportError(
        "ragtune.integrations.langchain needs LangChain: pip install 'ragtune[langchain]'"
    ) from error

from ... import _core
from ..._inputs import as_text
from ...chunking.recursive import DEFAULT_SEPARATORS, check_separators, keep_mode, separators_for_language


class RecursiveCharacterTextSplitter(TextSplitter):
    """LangChain's recursive splitter, same constructor and methods, in C++.

    Parameters are LangChain's: ``separators``, ``keep_separator``,
    ``is_separator_regex`` and the ``TextSplitter`` options (``chunk_size``,
    ``chunk_overlap``, ``length_function``, ``add_start_index``,
    ``strip_whitespace``). ``length_function=len`` (the default) runs entirely in
    C++; any other function is called per piece, exactly as LangChain does.

    Examples
    --------
    >>> from ragtune.integrations.langchain import RecursiveCharacterTextSplitter
    >>> splitter = RecursiveCharacterTextSplitter(chunk_size=12, chunk_overlap=0, add_start_index=True)
    >>> [(d.page_content, d.metadata["start_index"]) for d in splitter.create_documents(["same text. same text."])]
    [('same text.', 0), ('same text.', 11)]
    """

    def __init__(
        self,
        separators: list[str] | None = None,
        keep_separator: bool | Literal["start", "end"] = True,  # noqa: FBT001, FBT002
        is_separator_regex: bool = False,  # noqa: FBT001, FBT002
        **kwargs: Any,
    ) -> None:
        super().__init__(keep_separator=keep_separator, **kwargs)
        self._separators = check_separators(separators) if separators else list(DEFAULT_SEPARATORS)
        self._is_separator_regex = is_separator_regex
        self._core = _core.RecursiveSplitter(
            chunk_size=self._chunk_size,
            chunk_overlap=self._chunk_overlap,
            separators=self._separators,
            keep=keep_mode(keep_separator),
            is_separator_regex=bool(is_separator_regex),
            strip_whitespace=bool(self._strip_whitespace),
            langchain_text=True,
        )
        self._python_length: Callable[[str], int] | None = (
            None if self._length_function is len else self._length_function
        )

    def _split(self, text: str) -> tuple[Any, list[str]]:
        # Only code-point offsets are needed here, so the core skips line numbers.
        text = as_text(text)
        if self._python_length is not None:
            return self._core.split(text, length_function=self._python_length, with_lines=False)
        return self._core.split(text, with_lines=False)

    def split_text(self, text: str) -> list[str]:
        """Split text into chunk strings (identical to LangChain's)."""
        return self._split(text)[1]

    def create_documents(self, texts: list[str], metadatas: list[dict[Any, Any]] | None = None) -> list[Document]:
        """Documents for each chunk of each text; ``start_index`` (when enabled) is exact."""
        if metadatas is not None and len(metadatas) != len(texts):
            raise ValueError(f"metadatas has {len(metadatas)} entries for {len(texts)} texts; give one per text")
        metadatas_ = metadatas or [{}] * len(texts)
        documents = []
        for text, metadata in zip(texts, metadatas_):
            offsets, chunks = self._split(text)
            for row, chunk in zip(offsets.tolist(), chunks):
                chunk_metadata = copy.deepcopy(metadata)
                if self._add_start_index:
                    chunk_metadata["start_index"] = row[0]
                documents.append(Document(page_content=chunk, metadata=chunk_metadata))
        return documents

    def split_documents(self, documents: Iterable[Document]) -> list[Document]:
        """Split Documents, keeping each one's metadata on its chunks."""
        documents = list(documents)
        return self.create_documents([d.page_content for d in documents], [d.metadata for d in documents])

    @classmethod
    def from_language(cls, language: Language, **kwargs: Any) -> RecursiveCharacterTextSplitter:
        """A splitter with LangChain's separator preset for ``language``."""
        return cls(separators=separators_for_language(language), is_separator_regex=True, **kwargs)

    @staticmethod
    def get_separators_for_language(language: Language) -> list[str]:
        """LangChain's separator preset for ``language``."""
        return separators_for_language(language)

    def __repr__(self) -> str:
        return (
            f"ragtune RecursiveCharacterTextSplitter(chunk_size={self._chunk_size}, "
            f"chunk_overlap={self._chunk_overlap}, separators={self._separators!r}, "
            f"keep_separator={self._keep_separator!r}, is_separator_regex={self._is_separator_regex})"
        )
