"""Type stubs for ragtune's private C++ extension (tests check they list exactly its exports)."""

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

__version__: str

def simd_info() -> dict[str, object]: ...
def force_isa(name: str | None) -> None: ...
def _kernel_count_codepoints(data: bytes) -> int: ...
def _kernel_count_byte(data: bytes, value: int) -> int: ...
def _kernel_is_ascii(data: bytes) -> bool: ...
def _kernel_find_all(haystack: bytes, needle: bytes) -> list[int]: ...
class ChunkBase:
    text: str
    start: int
    end: int
    byte_start: int
    byte_end: int
    line_start: int
    line_end: int
    index: int
    source: str | None
    metadata: dict[str, object]
    def __init__(
        self,
        text: str,
        start: int,
        end: int,
        byte_start: int,
        byte_end: int,
        line_start: int,
        line_end: int,
        index: int,
        source: str | None = None,
        metadata: dict[str, object] | None = None,
    ) -> None: ...

def set_chunk_type(chunk_type: type[ChunkBase]) -> None: ...
def locate_spans(text: str, starts: npt.ArrayLike, ends: npt.ArrayLike) -> npt.NDArray[np.int64]: ...

class RecursiveSplitter:
    def __init__(
        self,
        *,
        chunk_size: int,
        chunk_overlap: int,
        separators: Sequence[str],
        keep: str,
        is_separator_regex: bool,
        strip_whitespace: bool,
        langchain_text: bool,
    ) -> None: ...
    def split(
        self,
        text: str,
        *,
        token_starts: npt.ArrayLike | None = None,
        separator_lengths: Sequence[int] | None = None,
        length_function: Callable[[str], int] | None = None,
        with_texts: bool = True,
        with_lines: bool = True,
    ) -> tuple[npt.NDArray[np.int64], list[str] | None]: ...
    def split_many(
        self,
        texts: list[str],
        *,
        token_starts: Sequence[npt.ArrayLike] | None = None,
        separator_lengths: Sequence[int] | None = None,
        threads: int = 0,
        with_texts: bool = True,
        with_lines: bool = True,
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64], list[str] | None]: ...
    def split_chunks(
        self,
        texts: list[str],
        sources: list[str | None],
        *,
        token_starts: Sequence[npt.ArrayLike] | None = None,
        separator_lengths: Sequence[int] | None = None,
        threads: int = 0,
    ) -> list[list[ChunkBase]]: ...
