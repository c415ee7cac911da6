"""What ``Index.sync`` decides: which sources are new, changed, unchanged or gone
(by a content hash per source), and the ids of the chunks (by their text, so ids
survive edits elsewhere in a document); and the report it returns."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from .._inputs import as_text
from ..chunking.chunk import Chunk

Cleanup = Literal["incremental", "full"]


def content_hash(text: str) -> str:
    """SHA-256 of a source's text: unchanged sources are recognised by it."""
    return hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()


def stable_ids(chunks: Sequence[Chunk], source: str) -> list[str]:
    """``source#<12 hex digits of the text's hash>`` per chunk; the n-th repeat of the
    same text in one source gets ``~n`` appended.

    An id names a text in a source: it survives edits anywhere else in the
    document, and disappears when that chunk's own text changes (a stored id then
    raises KeyError in ``Index.get``; it never silently names other text).

    Examples
    --------
    >>> from ragtune import RecursiveChunker
    >>> chunks = RecursiveChunker(chunk_size=3, chunk_overlap=0).split("ab ab cd", source="x")
    >>> stable_ids(chunks, "x")
    ['x#e0c43ac66001', 'x#e0c43ac66001~2', 'x#5efc3ac6f129']
    """
    seen: dict[str, int] = {}
    ids = []
    for chunk in chunks:
        digest = hashlib.blake2b(chunk.text.encode("utf-8", "surrogatepass"), digest_size=6).hexdigest()
        seen[digest] = seen.get(digest, 0) + 1
        ids.append(f"{source}#{digest}" + (f"~{seen[digest]}" if seen[digest] > 1 else ""))
    return ids


def as_documents(documents: Any) -> dict[str, str]:
    """``{source: text}`` checked: non-empty str sources, str texts (valid UTF-8)."""
    if not isinstance(documents, Mapping):
        raise TypeError(f"documents must be a mapping {{source: text}}, got {type(documents).__name__}; "
                        f"read folders with ragtune.cli.files.documents_by_source")
    out = {}
    for source, text in documents.items():
        if not isinstance(source, str) or not source:
            raise TypeError(f"every source must be a non-empty str, got {source!r}")
        out[source] = as_text(text, what=f"documents[{source!r}]")
    return out


@dataclass
class SourcePlan:
    """Sources by what a sync does to them."""

    added: list[str]
    changed: list[str]
    unchanged: list[str]
    deleted: list[str]


def plan_sources(documents: dict[str, str], known: dict[str, str | None], *, same_chunker: bool,
                 cleanup: Cleanup) -> SourcePlan:
    """Compare the documents with what the index holds (``known``: source -> content
    hash, None for a source the index holds without one, which counts as changed)."""
    added, changed, unchanged = [], [], []
    for source, text in documents.items():
        if source not in known:
            added.append(source)
        elif same_chunker and known[source] == content_hash(text):
            unchanged.append(source)
        else:
            changed.append(source)
    deleted = sorted(s for s in known if s not in documents) if cleanup == "full" else []
    return SourcePlan(added, changed, unchanged, deleted)


@dataclass
class SyncReport:
    """What one ``Index.sync`` did.

    ``chunks_embedded`` counts texts sent to the embedder; ``chunks_reused`` new
    chunks whose vector came from the embedding cache; ``chunks_kept`` chunks of
    changed sources whose text did not change (kept in place, vector untouched).
    """

    added: list[str] = field(default_factory=list)
    changed: list[str] = field(default_factory=list)
    deleted: list[str] = field(default_factory=list)
    unchanged: int = 0
    chunks_embedded: int = 0
    chunks_reused: int = 0
    chunks_kept: int = 0
    chunks_removed: int = 0
    chunks_total: int = 0
    seconds: float = 0.0
    snapshot: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    def summary(self) -> str:
        """One line for people."""
        return (f"{len(self.added)} sources added, {len(self.changed)} changed, {len(self.deleted)} deleted, "
                f"{self.unchanged} unchanged; chunks: {self.chunks_embedded} embedded, {self.chunks_reused} from "
                f"the cache, {self.chunks_kept} kept, {self.chunks_removed} removed, {self.chunks_total} in the "
                f"index; {self.seconds:.1f} s")

    def __repr__(self) -> str:
        return f"SyncReport({self.summary()})"
