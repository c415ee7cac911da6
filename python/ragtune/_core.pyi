"""Type stubs for ragtune's private C++ extension (tests check they list exactly its exports)."""

from collections.abc import Callable, Sequence

import numpy as np
import numpy.typing as npt

__version__: str
INDEX_DEFAULTS: dict[str, int | float]  # HNSW and BM25 defaults of the C++ parameter structs
SAFETENSORS_DTYPES: dict[str, int]  # every safetensors dtype name and its bytes per element

def simd_info() -> dict[str, object]: ...
def force_isa(name: str | None) -> None: ...
def _kernel_count_codepoints(data: bytes) -> int: ...
def _kernel_count_byte(data: bytes, value: int) -> int: ...
def _kernel_is_ascii(data: bytes) -> bool: ...
def _kernel_find_all(haystack: bytes, needle: bytes) -> list[int]: ...
def _kernel_dot_f16(query: npt.ArrayLike, rows: npt.ArrayLike) -> npt.NDArray[np.float32]: ...
def _kernel_dot_i8(query: npt.ArrayLike, rows: npt.ArrayLike) -> npt.NDArray[np.float32]: ...
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

class SlotFilter:
    def __init__(self, allowed: npt.ArrayLike) -> None: ...
    def __len__(self) -> int: ...
    def count(self) -> int: ...

class VectorIndex:
    def __init__(
        self,
        *,
        dim: int,
        metric: str,
        m: int = 16,
        ef_construction: int = 200,
        ef_search: int = 64,
        seed: int = 100,
        min_graph_size: int = 4096,
        dtype: str = "f32",
        rescore: bool = False,
    ) -> None: ...
    @property
    def dim(self) -> int: ...
    @property
    def dtype(self) -> str: ...
    @property
    def rescore(self) -> bool: ...
    @property
    def metric(self) -> str: ...
    @property
    def has_graph(self) -> bool: ...
    @property
    def slot_count(self) -> int: ...
    def memory(self) -> dict[str, int]: ...
    def __len__(self) -> int: ...
    def put(self, vectors: npt.ArrayLike, slots: npt.ArrayLike, *, threads: int = 0) -> None: ...
    def remove(self, slots: npt.ArrayLike) -> None: ...
    def get(self, slots: npt.ArrayLike) -> npt.NDArray[np.float32]: ...
    def search(
        self,
        queries: npt.ArrayLike,
        k: int,
        *,
        filter: SlotFilter | None = None,
        mode: str = "auto",
        ef: int = 0,
        threads: int = 0,
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]: ...
    def build_graph(self, *, threads: int = 0) -> None: ...
    def save(self, vectors_path: str, graph_path: str, exact_path: str = "") -> None: ...
    @staticmethod
    def load(
        vectors_path: str,
        graph_path: str,
        *,
        m: int = 16,
        ef_construction: int = 200,
        ef_search: int = 64,
        seed: int = 100,
        min_graph_size: int = 4096,
        mmap: bool = False,
        exact_path: str = "",
    ) -> VectorIndex: ...

class BM25Index:
    def __init__(self, *, k1: float = 1.5, b: float = 0.75, stopwords: Sequence[str] = ...) -> None: ...
    @property
    def k1(self) -> float: ...
    @property
    def b(self) -> float: ...
    @property
    def vocabulary_size(self) -> int: ...
    def __len__(self) -> int: ...
    def tokenize(self, text: str) -> list[str]: ...
    def memory(self) -> int: ...
    def put(self, texts: Sequence[str], slots: npt.ArrayLike, *, threads: int = 0) -> None: ...
    def put_tokens(self, documents: Sequence[Sequence[str]], slots: npt.ArrayLike) -> None: ...
    def remove(self, slots: npt.ArrayLike) -> None: ...
    def search(
        self, queries: Sequence[str], k: int, *, filter: SlotFilter | None = None, threads: int = 0
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]: ...
    def statistics(self, terms: Sequence[str]) -> tuple[int, int, dict[str, int]]: ...
    def search_tokens(
        self,
        queries: Sequence[Sequence[str]],
        k: int,
        *,
        filter: SlotFilter | None = None,
        threads: int = 0,
        corpus: tuple[int, int, dict[str, int]] | None = None,
    ) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.int64]]: ...
    def save(self, path: str) -> None: ...
    @staticmethod
    def load(path: str, *, slot_limit: int) -> BM25Index: ...

def hash_embed(
    texts: Sequence[str], *, dim: int, bigrams: bool = True, threads: int = 0
) -> npt.NDArray[np.float32]: ...

def raft_assemble(
    chunk_count: int,
    oracle_offsets: npt.ArrayLike,
    oracle_ids: npt.ArrayLike,
    *,
    candidate_offsets: npt.ArrayLike | None = None,
    candidate_ids: npt.ArrayLike | None = None,
    groups: npt.ArrayLike | None = None,
    starts: npt.ArrayLike | None = None,
    ends: npt.ArrayLike | None = None,
    text_hashes: npt.ArrayLike | None = None,
    minhash: npt.ArrayLike | None = None,
    distractors: int = 4,
    p: float = 0.8,
    strategy: str = "random",
    hard_fraction: float = 0.5,
    seed: int = 0,
    near_duplicate_jaccard: float = 0.8,
    threads: int = 0,
    positions: npt.ArrayLike | None = None,
    total: int = 0,
) -> dict[str, object]: ...
def minhash_signatures(
    texts: Sequence[str], *, size: int = 64, shingle: int = 5, threads: int = 0
) -> npt.NDArray[np.uint32]: ...
def text_hashes(texts: Sequence[str], *, threads: int = 0) -> npt.NDArray[np.uint64]: ...
def check_quotes(
    answers: Sequence[str],
    oracles: Sequence[str],
    oracle_offsets: npt.ArrayLike,
    oracle_ids: npt.ArrayLike,
    *,
    normalise_whitespace: bool = False,
    threads: int = 0,
) -> dict[str, npt.NDArray[np.generic]]: ...

class RaftRecords:
    def __init__(
        self,
        texts: Sequence[str],
        titles: Sequence[str],
        ids: Sequence[str],
        types: Sequence[str],
        questions: Sequence[str],
        cot_answers: Sequence[str],
        document_offsets: npt.ArrayLike,
        documents: npt.ArrayLike,
        oracle_offsets: npt.ArrayLike,
        oracle_positions: npt.ArrayLike,
    ) -> None: ...
    def __len__(self) -> int: ...
    def write_jsonl(
        self,
        format: str,
        *,
        system_prompt: str = "",
        first: int,
        last: int,
        fd: int,
        offset: int,
        path: str,
        threads: int = 0,
    ) -> int: ...
    def encode(self, format: str, *, system_prompt: str = "", row: int) -> bytes: ...
    def compose(
        self, field: str, *, first: int, last: int, threads: int = 0
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.uint8], npt.NDArray[np.uint8]]: ...

class SafetensorsFile:
    def __init__(self, path: str) -> None: ...
    @property
    def metadata(self) -> dict[str, str]: ...
    @property
    def file_size(self) -> int: ...
    @property
    def tensors(self) -> list[dict[str, object]]: ...
    def read(self, name: str) -> npt.NDArray[np.generic]: ...
    def read_float32(self, name: str) -> npt.NDArray[np.float32]: ...

class SafetensorsCheckpoint:
    def __init__(self, path: str) -> None: ...
    @property
    def names(self) -> list[str]: ...
    @property
    def shard_names(self) -> list[str]: ...
    @property
    def metadata(self) -> dict[str, str]: ...
    def shard_of(self, name: str) -> str: ...
    def prefetch(self, name: str) -> None: ...
    def info(self, name: str) -> dict[str, object]: ...
    def read(self, name: str) -> npt.NDArray[np.generic]: ...
    def read_float32(self, name: str) -> npt.NDArray[np.float32]: ...

_Term = tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], float]

class CheckpointWriter:
    def __init__(
        self,
        out_dir: str,
        tensors: Sequence[tuple[str, str, Sequence[int]]],
        shard_size: int,
        metadata: dict[str, str],
        stem: str = "model",
    ) -> None: ...
    def copy(self, name: str, source: SafetensorsCheckpoint, source_name: str) -> None: ...
    def merge(
        self,
        name: str,
        source: SafetensorsCheckpoint,
        source_name: str,
        terms: Sequence[_Term],
        dense: npt.NDArray[np.float32] | None = None,
        magnitude: npt.NDArray[np.float32] | None = None,
        magnitude_per_column: bool = False,
        require_finite: bool = False,
        threads: int = 0,
    ) -> None: ...
    def merge_array(
        self,
        name: str,
        base: npt.NDArray[np.float32],
        terms: Sequence[_Term],
        dense: npt.NDArray[np.float32] | None = None,
        magnitude: npt.NDArray[np.float32] | None = None,
        magnitude_per_column: bool = False,
        require_finite: bool = False,
        threads: int = 0,
    ) -> None: ...
    def write(self, name: str, array: npt.NDArray[np.generic]) -> None: ...
    def commit(self) -> None: ...
    def abort(self) -> None: ...
    @property
    def file_order(self) -> list[str]: ...
    @property
    def staging_dir(self) -> str: ...
    @property
    def out_dir(self) -> str: ...
    @property
    def shard_count(self) -> int: ...
    @property
    def total_bytes(self) -> int: ...
    @property
    def committed(self) -> bool: ...

def round_float32(values: npt.NDArray[np.float32], dtype: str) -> npt.NDArray[np.uint16]: ...
def widen_16(bits: npt.NDArray[np.uint16], dtype: str) -> npt.NDArray[np.float32]: ...
