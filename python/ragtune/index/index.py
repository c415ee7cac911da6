"""ragtune.Index: one embedded index for dense, BM25 and hybrid retrieval with
filters, citations and crash-safe persistence."""

from __future__ import annotations

import io
import json
import math
import os
import threading
import time
import uuid
import warnings
import weakref
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any, Literal

import numpy as np

from .. import _core
from .._gc import gc_paused
from .._inputs import as_int, as_text, as_threads
from ..chunking.chunk import Chunk, chunk_id
from ..embeddings.base import Embedder, resolve_embedding
from ..embeddings.spec import describe, embedder_from_spec
from .filters import FilterCompiler, filter_key
from .fusion import fuse_rankings, maximal_marginal_relevance
from .memory import IndexMemory, python_bytes
from .hit import Hit
from .._files import write_file
from .embedding_cache import DEFAULT_LIMIT, KEYS_FILE, VECTORS_FILE, EmbeddingCache
from .persistence import begin_snapshot, commit_snapshot, current_snapshot, read_manifest, read_settings
from .records import POSITIONS_FILE, Record, RecordStore, SavedRecords, record_positions
from .rwlock import ReadWriteLock
from .sync import Cleanup, SyncReport, as_documents, content_hash, plan_sources, stable_ids

Mode = Literal["dense", "bm25", "hybrid"]
Metric = Literal["cosine", "ip", "l2"]
VectorDtype = Literal["f32", "f16", "int8"]
_VECTOR_DTYPES = ("f32", "f16", "int8")
_MODES = ("dense", "bm25", "hybrid")
# Filters compiled to bitsets are cached per index version; a few suffice for query loops.
_FILTER_CACHE_SIZE = 32
# HNSW and BM25 defaults, defined once by the C++ core (m=16, ef_construction=200,
# ef_search=64, exact_below=4096, bm25_k1=1.5, bm25_b=0.75).
_DEFAULTS = _core.INDEX_DEFAULTS
STATE_FILE = "state.json"
# Files the index can rebuild: when one fails its checksum the index loads without it.
_REBUILDABLE = frozenset({STATE_FILE, KEYS_FILE, VECTORS_FILE})
# Files an index opened with mmap=True checksums only on Index.verify(): the big ones.
_DEFERRED = frozenset({"vectors.bin", "graph.bin", "exact.bin", "bm25.bin", "records.jsonl", POSITIONS_FILE, KEYS_FILE,
                       VECTORS_FILE})


class Index:
    """Dense vectors, BM25 and documents in one index, searched together.

    Parameters
    ----------
    embedding : embedder, optional
        Turns text into vectors: a ragtune embedder, any LangChain ``Embeddings``
        or a callable ``list[str] -> vectors``. Default: :class:`MiniLMEmbeddings`
        (offline all-MiniLM-L6-v2).
    metric : "cosine", "ip" or "l2"
        How vectors compare.
    m, ef_construction, ef_search : int
        HNSW graph parameters (hnswlib's meaning); ``ef_search`` can also be set per search.
    exact_below : int
        Collections smaller than this are searched exactly (no graph is built).
    bm25_k1, bm25_b : float
        BM25 parameters (Lucene variant).
    threads : int
        Threads for batch work: 0 uses all cores.
    embedding_cache : int
        Most vectors kept in the embedding cache (keyed by the embedder's identity and
        the text's hash; saved with the index), so re-adding or re-syncing a text never
        embeds it again. 0 turns the cache off.
    vector_dtype : "f32", "f16" or "int8"
        How the index stores vectors. ``"f16"`` halves their memory (IEEE half; values
        must stay within +-65504); ``"int8"`` quarters it, with a per-dimension symmetric
        scale learned from the vectors added (and widened, re-coding what is stored, when
        later vectors reach past it). Searches compare the query in float32 with the
        stored values; filters, deletes, BM25, hybrid and persistence are the same for
        every dtype. See ``benchmarks/RESULTS.md`` for the recall each one keeps.
    rescore : bool
        With ``vector_dtype`` ``"f16"`` or ``"int8"``: keep every vector in float32 as well,
        in a file (mapped: on disk, not in the process's memory; saved with the index), and
        rank a search's 4 x k best candidates (at least 40) by their float32 scores. The
        recall of float32 for the memory of the compact type, at the cost of reading the
        candidates' rows.

    Examples
    --------
    >>> from ragtune import Index
    >>> from ragtune.embeddings import HashingEmbeddings
    >>> index = Index(embedding=HashingEmbeddings(dim=256))
    >>> ids = index.add(["Cats purr when content.", "Dogs bark at strangers."],
    ...                 metadatas=[{"animal": "cat"}, {"animal": "dog"}], ids=["c", "d"])
    >>> [h.id for h in index.search("why do dogs bark", k=1, mode="bm25")]
    ['d']
    >>> [h.id for h in index.search("purr", k=2, filter={"animal": "dog"})]
    ['d']
    """

    def __init__(
        self,
        *,
        embedding: Any = None,
        metric: Metric = "cosine",
        m: int = _DEFAULTS["m"],
        ef_construction: int = _DEFAULTS["ef_construction"],
        ef_search: int = _DEFAULTS["ef_search"],
        exact_below: int = _DEFAULTS["exact_below"],
        bm25_k1: float = _DEFAULTS["bm25_k1"],
        bm25_b: float = _DEFAULTS["bm25_b"],
        threads: int = 0,
        embedding_cache: int = DEFAULT_LIMIT,
        vector_dtype: VectorDtype = "f32",
        rescore: bool = False,
    ) -> None:
        if metric not in ("cosine", "ip", "l2"):
            raise ValueError(f"metric must be 'cosine', 'ip' or 'l2', got {metric!r}")
        if vector_dtype not in _VECTOR_DTYPES:
            raise ValueError(f"vector_dtype must be 'f32', 'f16' or 'int8', got {vector_dtype!r}")
        if not isinstance(rescore, bool):
            raise TypeError(f"rescore must be True or False, got {rescore!r}")
        if rescore and vector_dtype == "f32":
            raise ValueError("rescore=True rescores compact vectors with float32 ones: use it with "
                             "vector_dtype='f16' or 'int8' (float32 vectors are exact already)")
        self.embedding: Embedder = resolve_embedding(embedding)
        self.metric = metric
        self.settings = {
            "metric": metric,
            "m": as_int(m, name="m", minimum=2, maximum=2048),
            "ef_construction": as_int(ef_construction, name="ef_construction", minimum=1),
            "ef_search": as_int(ef_search, name="ef_search", minimum=1),
            "exact_below": as_int(exact_below, name="exact_below", minimum=0),
            "bm25_k1": float(bm25_k1),
            "bm25_b": float(bm25_b),
            "vector_dtype": vector_dtype,
            "rescore": rescore,
        }
        self.threads = as_threads(threads)
        self._vectors: Any = None  # created when the dimension is known (first add)
        self._bm25_index: Any = _core.BM25Index(k1=float(bm25_k1), b=float(bm25_b))
        self._bm25_saved: tuple[Any, Path, int, int] | None = None  # (open file, path, slots, documents)
        self._bm25_loading = threading.Lock()
        self._snapshot: Path | None = None  # the snapshot Index.load read (for verify())
        self._records = RecordStore()
        self._lock = ReadWriteLock()
        self._filters: dict[tuple[str, int], Any] = {}
        self._id_order_cache: tuple[tuple[int, int], np.ndarray] | None = None  # (records, version), slot order
        self.cache_limit = as_int(embedding_cache, name="embedding_cache", minimum=0)
        self._cache: EmbeddingCache | None = None
        self._sources: dict[str, str] = {}    # source -> content hash of the text last synced
        self._chunker: str | None = None      # repr of the chunker the last sync used
        self._over_window: set[str] = set()   # ids whose text is longer than the embedder reads
        self._warned_window = False
        self._embedded = self._reused = 0     # texts embedded / taken from the cache by this object
        self._built_with: str | None = None   # the saved embedder identity (Index.load)
        self._identity_check: tuple[str, Any, Path] | None = None  # (saved identity, spec, folder) not yet checked

    @property
    def _bm25(self) -> Any:
        """The BM25 index; one opened with mmap=True reads its file at the first use."""
        if self._bm25_saved is not None:
            with self._bm25_loading:
                if self._bm25_saved is not None:
                    # Read through the descriptor opened at load: a later save that removes the
                    # old snapshot (here or in another process) cannot take the file away.
                    handle, path, slots, documents = self._bm25_saved
                    through = f"/proc/self/fd/{handle.fileno()}"
                    try:
                        bm25 = _core.BM25Index.load(through, slot_limit=slots)
                    except (ValueError, OSError) as error:
                        raise type(error)(str(error).replace(through, str(path))) from None
                    if len(bm25) != documents:
                        raise ValueError(f"{path.parent}: BM25 data does not match the records (damaged index)")
                    self._bm25_index, self._bm25_saved = bm25, None
                    handle.close()
        return self._bm25_index

    @_bm25.setter
    def _bm25(self, value: Any) -> None:
        if self._bm25_saved is not None:
            self._bm25_saved[0].close()
        self._bm25_index, self._bm25_saved = value, None

    # -- adding ------------------------------------------------------------------

    def add(
        self,
        items: Iterable[str | Chunk | Any],
        metadatas: Sequence[dict[str, Any] | None] | None = None,
        ids: Sequence[str] | None = None,
        *,
        vectors: Any = None,
    ) -> list[str]:
        """Add texts, chunks (keeping their citations) or LangChain Documents.

        Adding an id that exists replaces it. Returns the ids, in order.

        Parameters
        ----------
        items : texts, :class:`~ragtune.Chunk` objects, or LangChain ``Document`` objects
        metadatas : one dict per item, merged over a chunk's or Document's own metadata
        ids : one id per item; default: a Document's ``id``, ``source#index`` for chunks,
            else a random UUID
        vectors : precomputed embeddings (n, dim), to skip the embedder
        """
        records = [self._record(item, i) for i, item in enumerate(_as_list(items, "items"))]
        n = len(records)
        if metadatas is not None:
            metadatas = list(metadatas)
            if len(metadatas) != n:
                raise ValueError(f"metadatas has {len(metadatas)} entries for {n} items; give one per item")
            for i, (record, extra) in enumerate(zip(records, metadatas)):
                if extra is not None and not isinstance(extra, dict):
                    raise TypeError(f"metadatas[{i}] must be a dict or None, got {type(extra).__name__}")
                record.metadata = {**record.metadata, **(extra or {})}
        if ids is not None:
            ids = list(ids)
            if len(ids) != n:
                raise ValueError(f"ids has {len(ids)} entries for {n} items; give one per item")
            for i, (record, id_) in enumerate(zip(records, ids)):
                if not isinstance(id_, str) or not id_:
                    raise TypeError(f"ids[{i}] must be a non-empty str, got {id_!r}")
                record.id = id_
        if len({r.id for r in records}) != n:
            raise ValueError("ids must be unique within one add() call")
        if n == 0:
            return []
        over: set[str] = set()
        if vectors is None:
            matrix = self._embed_documents([r.text for r in records])
            over = self._over_window_ids(records)
        else:
            matrix = _matrix(vectors, n)
        with self._lock.writing():
            self._put(records, matrix, over)
        return [r.id for r in records]

    def _put(self, records: list[Record], matrix: np.ndarray, over_window: set[str]) -> None:
        """Store records with their vectors (ids already stored are replaced). Needs the write lock."""
        if self._vectors is None:
            self._vectors = _core.VectorIndex(
                dim=int(matrix.shape[1]), metric=self.metric, m=self.settings["m"],
                ef_construction=self.settings["ef_construction"], ef_search=self.settings["ef_search"],
                min_graph_size=max(1, self.settings["exact_below"]), dtype=self.settings["vector_dtype"],
                rescore=self.settings["rescore"],
            )
        elif matrix.shape[1] != self._vectors.dim:
            raise ValueError(f"vectors have {matrix.shape[1]} dimensions; this index holds {self._vectors.dim}")
        new_ids = [r.id for r in records if r.id not in self._records.slot_of]
        checkpoint = self._records.checkpoint()
        slots = np.asarray(self._records.assign([r.id for r in records]), dtype=np.int64)
        try:
            self._vectors.put(matrix, slots, threads=self.threads)
        except BaseException:
            # Refused before anything was stored (a value f16 cannot hold, a full disk for the
            # float32 rows): the slots go back as they were, replaced ids keep their vectors.
            self._records.undo_assign(new_ids, checkpoint)
            raise
        self._bm25.put([r.text for r in records], slots, threads=self.threads)
        for slot, record in zip(slots.tolist(), records):
            self._records.store(slot, record)
        self._over_window.difference_update(r.id for r in records)
        self._over_window |= over_window

    def _record(self, item: Any, position: int) -> Record:
        if isinstance(item, str):
            return Record(uuid.uuid4().hex, item)
        if isinstance(item, Chunk):
            id_ = chunk_id(item) if item.source is not None else uuid.uuid4().hex
            return Record(id_, item.text, dict(item.metadata), item.source, item.start, item.end,
                          item.line_start, item.line_end)
        if hasattr(item, "page_content") and hasattr(item, "metadata"):
            text = as_text(item.page_content, what=f"items[{position}].page_content")
            metadata = dict(item.metadata or {})
            id_ = getattr(item, "id", None) or uuid.uuid4().hex
            return Record(
                str(id_), text, metadata, metadata.get("source") if isinstance(metadata.get("source"), str) else None
            )
        raise TypeError(f"items[{position}] must be str, Chunk or Document, got {type(item).__name__}")

    def _check_identity(self) -> None:
        """Refuse an embedder whose identity differs from the one the loaded index was built with."""
        if self._identity_check is None:
            return
        saved, spec, root = self._identity_check
        given = self._embedding_identity()
        if given is not None and given != saved:
            raise ValueError(f"{root} was built with {describe(spec)}, not {self.embedding!r}: their vectors "
                             f"are not comparable. Load it without embedding= to use the saved embedder, or build "
                             f"a new index with this one")
        self._identity_check = None

    def _embed_documents(self, texts: list[str]) -> np.ndarray:
        """Vectors of ``texts``: from the embedding cache where it has them, the rest embedded
        (and remembered)."""
        self._check_identity()
        cache = self._embedding_cache()
        if cache is None:
            self._embedded += len(texts)
            return _matrix(np.asarray(self.embedding.encode(texts), dtype=np.float32), len(texts))
        found, missing = cache.take(texts)
        if missing:
            fresh = _matrix(np.asarray(self.embedding.encode([texts[i] for i in missing]), dtype=np.float32),
                            len(missing))
            cache.put([texts[i] for i in missing], fresh)
            for row, position in enumerate(missing):
                found[position] = fresh[row]
        self._embedded += len(missing)
        self._reused += len(texts) - len(missing)
        return _matrix(np.stack(found), len(texts))

    def _embedding_cache(self) -> EmbeddingCache | None:
        """The cache for the current embedder (a new one when the embedder changed), or
        None when it is off or the embedder cannot be identified."""
        if self.cache_limit == 0:
            return None
        identity = self._embedding_identity()
        if identity is None:
            return None
        if self._cache is None or self._cache.identity != identity:
            self._cache = EmbeddingCache(identity, limit=self.cache_limit)
        return self._cache

    def _embedding_spec(self) -> dict[str, Any] | None:
        try:
            return self.embedding.spec()
        except (ImportError, OSError):
            return None

    def _embedding_identity(self) -> str | None:
        """The embedder's identity, or None when it cannot tell (or its model is not
        installed: an index of precomputed vectors must still save)."""
        try:
            return self.embedding.identity
        except (ImportError, OSError):
            return None

    def _over_window_ids(self, records: list[Record]) -> set[str]:
        """Ids of the records the embedder cuts short, with one warning per index."""
        window = self.embedding.window
        if window is None:
            return set()
        over = {r.id for r, cut in zip(records, window.over([r.text for r in records])) if cut}
        if over and not self._warned_window:
            self._warned_window = True
            warnings.warn(
                f"{len(over)} of {len(records)} texts are longer than the {window.tokens} tokens "
                f"{type(self.embedding).__name__} reads; the rest of each is not embedded, so dense search cannot "
                f"find it. Chunk with RecursiveChunker.for_embedder(index.embedding) (index.stats() counts them)",
                UserWarning, stacklevel=3)
        return over

    # -- keeping in step with documents ---------------------------------------------

    def sync(
        self,
        documents: dict[str, str],
        *,
        chunker: Any = None,
        cleanup: Cleanup = "incremental",
        path: str | os.PathLike[str] | None = None,
    ) -> SyncReport:
        """Bring the index in step with ``documents`` ({source: text}), embedding only
        text it has never seen.

        - A source whose text (content hash) is unchanged is not touched.
        - A changed source is chunked again; chunks whose text is unchanged keep their
          place and vector (their offsets follow the edit), only new texts are embedded,
          and those the embedding cache knows (a moved or restored text) are not.
        - ``cleanup="full"`` removes sources missing from ``documents``;
          ``"incremental"`` keeps them.
        - Everything is embedded before the index changes, and ``path`` saves the result
          as one snapshot (crash-safe): the index is as before or as after, never a mix.

        Chunks get ids from their text (``source#<hash>``, see
        :func:`ragtune.index.sync.stable_ids`): an id survives edits elsewhere in its
        document and disappears when its own text changes. Records added with
        :meth:`add` that carry a ``source`` are managed by source too.

        Parameters
        ----------
        documents : dict of source -> text
        chunker : optional
            Anything with ``split_many(texts, sources=...)``; default
            ``RecursiveChunker.for_embedder(self.embedding)``. A different chunker than
            the last sync's re-chunks every source (vectors still come from the cache).
        cleanup : "incremental" or "full"
        path : folder, optional
            Save the synced index there (one atomic snapshot).

        Examples
        --------
        >>> from ragtune.embeddings import HashingEmbeddings
        >>> index = Index(embedding=HashingEmbeddings(dim=64))
        >>> index.sync({"a.md": "Cats purr.", "b.md": "Dogs bark."}).chunks_embedded
        2
        >>> report = index.sync({"a.md": "Cats purr.", "c.md": "Birds sing."}, cleanup="full")
        >>> report.added, report.deleted, report.unchanged, report.chunks_embedded
        (['c.md'], ['b.md'], 1, 1)
        """
        from ..chunking import RecursiveChunker

        started = time.perf_counter()
        documents = as_documents(documents)
        if cleanup not in ("incremental", "full"):
            raise ValueError(f"cleanup must be 'incremental' or 'full', got {cleanup!r}")
        chunker = RecursiveChunker.for_embedder(self.embedding) if chunker is None else chunker
        if not callable(getattr(chunker, "split_many", None)):
            raise TypeError(f"chunker must have split_many(texts, sources=...), got {type(chunker).__name__}")
        signature = repr(chunker)
        identity = self._embedding_identity()
        if len(self) and self._built_with is not None and identity is not None and identity != self._built_with:
            raise ValueError(f"this index was built with embedder {self._built_with!r}, not {identity!r}: new "
                             f"vectors would not be comparable with the stored ones. Load it with the embedder "
                             f"it was built with, or build a new index")
        with self._lock.reading():
            held: dict[str, list[str]] = {}
            for record in self._records.records:
                if record is not None and record.source is not None:
                    held.setdefault(record.source, []).append(record.id)
            known: dict[str, str | None] = {s: None for s in held} | dict(self._sources)
        plan = plan_sources(documents, known, same_chunker=signature == self._chunker, cleanup=cleanup)
        report = SyncReport(added=plan.added, changed=plan.changed, deleted=plan.deleted, unchanged=len(plan.unchanged))

        touched = plan.added + plan.changed
        chunked = chunker.split_many([documents[s] for s in touched], sources=touched) if touched else []
        new_records: list[Record] = []
        kept: list[Record] = []
        gone: list[str] = [i for s in plan.deleted for i in held.get(s, [])]
        for source, chunks in zip(touched, chunked):
            old_ids = set(held.get(source, []))
            ids = stable_ids(chunks, source)
            for id_, chunk in zip(ids, chunks):
                record = Record(id_, chunk.text, dict(chunk.metadata), source, chunk.start, chunk.end,
                                chunk.line_start, chunk.line_end)
                (kept if id_ in old_ids else new_records).append(record)
            gone.extend(old_ids.difference(ids))
        embedded_before, reused_before = self._embedded, self._reused
        matrix = self._embed_documents([r.text for r in new_records]) if new_records else None
        over = self._over_window_ids(new_records) if new_records else set()

        with self._lock.writing():  # nothing below can fail on the user's data: all of it is checked
            self._remove(gone)
            if matrix is not None:
                self._put(new_records, matrix, over)
            for record in kept:  # same text, new offsets
                self._records.store(self._records.slot_of[record.id], record)
            for source in plan.deleted:
                self._sources.pop(source, None)
            self._sources.update({s: content_hash(documents[s]) for s in touched})
            self._chunker = signature
        report.chunks_embedded = self._embedded - embedded_before
        report.chunks_reused = self._reused - reused_before
        report.chunks_kept, report.chunks_removed, report.chunks_total = len(kept), len(gone), len(self)
        if path is not None:
            report.snapshot = self.save(path).name
        report.seconds = time.perf_counter() - started
        return report

    def stats(self) -> dict[str, Any]:
        """What the index holds: documents, sources, dimension, texts longer than the
        embedder's window (``over_window``: cut when embedded), the embedding cache, and
        texts embedded vs reused by this object.

        Examples
        --------
        >>> from ragtune.embeddings import HashingEmbeddings
        >>> index = Index(embedding=HashingEmbeddings(dim=8))
        >>> index.add(["a b", "c"], ids=["x", "y"])
        ['x', 'y']
        >>> {k: index.stats()[k] for k in ("documents", "over_window", "embedded")}
        {'documents': 2, 'over_window': 0, 'embedded': 2}
        """
        try:
            window = self.embedding.window
        except (ImportError, OSError):  # the model is not installed: nothing was embedded with it
            window = None
        with self._lock.reading():
            sources = {r.source for r in self._records.records if r is not None and r.source is not None}
            return {
                "documents": len(self._records), "sources": len(sources), "synced_sources": len(self._sources),
                "dim": self.dim, "metric": self.metric, "embedding": repr(self.embedding),
                "window_tokens": window.tokens if window is not None else None,
                "over_window": len(self._over_window),
                "cache_entries": len(self._cache) if self._cache is not None else 0,
                "cache_limit": self.cache_limit, "embedded": self._embedded, "reused": self._reused,
            }

    def memory(self) -> IndexMemory:
        """Bytes held, by part: vectors (the one copy, which the graph reads by slot),
        graph, BM25, records and the embedding cache (see :class:`IndexMemory`).

        Examples
        --------
        >>> from ragtune.embeddings import HashingEmbeddings
        >>> index = Index(embedding=HashingEmbeddings(dim=8))
        >>> _ = index.add(["a b", "c"], ids=["x", "y"])
        >>> index.memory().count
        2
        """
        with self._lock.reading():
            vectors = self._vectors.memory() if self._vectors is not None else {}
            records = self._records
            cache = self._cache.memory_bytes() if self._cache is not None else 0
            bm25 = self._bm25_index.memory() if self._bm25_saved is None else 0  # not read yet: nothing held
            return IndexMemory(
                vectors=vectors.get("vectors", 0) + vectors.get("norms", 0) + vectors.get("slot_map", 0),
                graph=vectors.get("graph", 0), bm25=bm25, records=python_bytes(records.held()),
                embedding_cache=cache, mapped=vectors.get("mapped", 0), count=len(records))

    # -- reading and deleting ------------------------------------------------------

    def get(self, ids: Sequence[str], *, missing: Literal["raise", "skip"] = "raise") -> list[Hit]:
        """The stored documents for these ids (score 1.0), in order.

        Unknown ids raise KeyError (naming them) unless ``missing="skip"``.
        """
        ids = _as_list(ids, "ids")
        with self._lock.reading():
            unknown = [i for i in ids if i not in self._records.slot_of]
            if unknown and missing == "raise":
                raise KeyError(f"unknown ids: {unknown[:10]}{' ...' if len(unknown) > 10 else ''}")
            return [self._hit(self._records.slot_of[i], 1.0) for i in ids if i in self._records.slot_of]

    def delete(self, ids: Sequence[str]) -> int:
        """Delete documents by id; unknown ids are ignored. Returns how many were deleted."""
        ids = _as_list(ids, "ids")
        with self._lock.writing():
            return self._remove([str(i) for i in ids])

    def _remove(self, ids: list[str]) -> int:
        """Delete these ids (unknown ones ignored). Needs the write lock."""
        slots = np.asarray(self._records.remove(ids), dtype=np.int64)
        if len(slots) and self._vectors is not None:
            self._vectors.remove(slots)
            self._bm25.remove(slots)
        self._over_window.difference_update(ids)
        return int(len(slots))

    def vectors(self, ids: Sequence[str]) -> np.ndarray:
        """The stored vectors of these ids (normalised for cosine), shape (n, dim)."""
        with self._lock.reading():
            slots = [self._records.slot_of[i] for i in _as_list(ids, "ids")]
            return self._vectors.get(np.asarray(slots, dtype=np.int64)) if slots else np.zeros((0, 0), np.float32)

    def __len__(self) -> int:
        return len(self._records)

    def ids(self) -> list[str]:
        """Every stored id, in insertion order of their slots (a snapshot).

        Examples
        --------
        >>> from ragtune.embeddings import HashingEmbeddings
        >>> index = Index(embedding=HashingEmbeddings(dim=8))
        >>> index.add(["a", "b"], ids=["x", "y"])
        ['x', 'y']
        >>> index.ids()
        ['x', 'y']
        """
        with self._lock.reading():
            return [r.id for r in self._records.records if r is not None]

    def __contains__(self, id_: object) -> bool:
        return id_ in self._records.slot_of

    @property
    def dim(self) -> int | None:
        """Vector dimension (None until the first add)."""
        return None if self._vectors is None else int(self._vectors.dim)

    # -- searching ---------------------------------------------------------------------

    def search(
        self,
        query: str,
        k: int = 4,
        filter: dict[str, Any] | None = None,
        mode: Mode = "dense",
        *,
        ef: int | None = None,
        fetch_k: int | None = None,
        weights: tuple[float, float] = (1.0, 1.0),
        exact: bool = False,
    ) -> list[Hit]:
        """The k best documents for a query.

        Parameters
        ----------
        query : str
        k : int
            How many hits (fewer only when fewer documents match the filter).
        filter : dict, optional
            Metadata filter (see :mod:`ragtune.index.filters`), applied during the search.
        mode : "dense", "bm25" or "hybrid"
            Hybrid fuses the dense and BM25 rankings by reciprocal rank (c=60, ``weights``).
        ef : int, optional
            HNSW search breadth for this query (default: the index's ``ef_search``).
        fetch_k : int, optional
            Hybrid: candidates taken from each ranking (default max(4k, 20)).
        exact : bool
            Force exact dense search.
        """
        return self.search_many([query], k=k, filter=filter, mode=mode, ef=ef, fetch_k=fetch_k, weights=weights,
                                exact=exact)[0]

    def search_many(
        self,
        queries: Sequence[str],
        k: int = 4,
        filter: dict[str, Any] | None = None,
        mode: Mode = "dense",
        *,
        ef: int | None = None,
        fetch_k: int | None = None,
        weights: tuple[float, float] = (1.0, 1.0),
        exact: bool = False,
    ) -> list[list[Hit]]:
        """:meth:`search` for many queries at once (embedded in one batch, searched in parallel)."""
        queries, k, depth = search_arguments(queries, k=k, mode=mode, weights=weights, fetch_k=fetch_k)
        ef = as_int(ef, name="ef", minimum=1) if ef is not None else None
        query_vectors = self._embed_queries(queries) if mode != "bm25" and queries else None
        with self._lock.reading():
            if self._vectors is None or not queries:
                return [[] for _ in queries]
            dense, bm25 = self._rankings(queries, query_vectors, mode=mode, depth=depth, filter=filter, ef=ef,
                                         exact=exact)
            if mode != "hybrid":
                scores, slots = dense if mode == "dense" else bm25  # type: ignore[misc]
                return self._hits(scores, slots)
            assert dense is not None and bm25 is not None
            bounds, slots, scores = fuse_rankings([dense, bm25], weights, k=k, order=self._id_order())
            hits = self._hits(scores[None, :], slots[None, :])[0]
            return [hits[bounds[q]:bounds[q + 1]] for q in range(len(queries))]

    def _rankings(self, queries: list[str], query_vectors: Any, *, mode: Mode, depth: int,
                  filter: dict[str, Any] | None, ef: int | None, exact: bool,
                  corpus: tuple[list[list[str]], Any] | None = None) -> tuple[Any, Any]:
        """The dense and BM25 rankings, each ``(scores, slots)`` arrays (None when the mode
        skips it). ``corpus`` (the queries' tokens and BM25 statistics of a whole corpus)
        scores BM25 as part of that corpus (:class:`~ragtune.index.sharded.ShardedIndex`).
        Needs the read lock."""
        slot_filter = self._slot_filter(filter)
        dense = bm25 = None
        if mode != "bm25":
            dense = self._vectors.search(query_vectors, depth, filter=slot_filter, mode="exact" if exact else "auto",
                                         ef=ef or 0, threads=self.threads)
        if mode != "dense":
            if corpus is None:
                bm25 = self._bm25.search(queries, depth, filter=slot_filter, threads=self.threads)
            else:
                tokens, statistics = corpus
                bm25 = self._bm25.search_tokens(tokens, depth, filter=slot_filter, threads=self.threads,
                                                corpus=statistics)
        return dense, bm25

    def _candidates(self, queries: list[str], query_vectors: Any, *, mode: Mode, depth: int,
                    filter: dict[str, Any] | None, ef: int | None, exact: bool,
                    corpus: tuple[list[list[str]], Any] | None = None) -> tuple[Any, Any]:
        """:meth:`_rankings` under the read lock; (None, None) for an empty index."""
        with self._lock.reading():
            if self._vectors is None:
                return None, None
            return self._rankings(queries, query_vectors, mode=mode, depth=depth, filter=filter, ef=ef,
                                  exact=exact, corpus=corpus)

    def search_by_vector(self, vector: Any, k: int = 4, filter: dict[str, Any] | None = None, *,
                         ef: int | None = None, exact: bool = False) -> list[Hit]:
        """Dense search with a query vector you computed."""
        k = as_int(k, name="k", minimum=1, maximum=1_000_000)
        with self._lock.reading():
            if self._vectors is None:
                return []
            query = _matrix(vector, 1)
            scores, slots = self._vectors.search(query, k, filter=self._slot_filter(filter),
                                                 mode="exact" if exact else "auto",
                                                 ef=as_int(ef, name="ef", minimum=1) if ef is not None else 0,
                                                 threads=self.threads)
            return self._hits(scores, slots)[0]

    def max_marginal_relevance(self, query: str | Any, k: int = 4, fetch_k: int = 20, lambda_mult: float = 0.5,
                               filter: dict[str, Any] | None = None) -> list[Hit]:
        """Relevant but diverse hits: MMR over the ``fetch_k`` best dense candidates.

        ``query`` is a text or a query vector. ``lambda_mult`` 1 = pure relevance, 0 = pure diversity.
        """
        k = as_int(k, name="k", minimum=1)
        fetch_k = as_int(fetch_k, name="fetch_k", minimum=1)
        if not 0 <= lambda_mult <= 1:
            raise ValueError(f"lambda_mult must be between 0 and 1, got {lambda_mult}")
        vector = self._embed_queries([query])[0] if isinstance(query, str) else _matrix(query, 1)[0]
        candidates = self.search_by_vector(vector, k=max(k, fetch_k), filter=filter)
        if not candidates:
            return []
        matrix = self.vectors([h.id for h in candidates])
        chosen = maximal_marginal_relevance(vector, matrix, k=k, lambda_mult=float(lambda_mult))
        return [candidates[i] for i in chosen]

    def _embed_queries(self, queries: list[str]) -> np.ndarray:
        self._check_identity()
        if len(queries) == 1:
            return _matrix(self.embedding.encode_query(queries[0]), 1)
        return _matrix(self.embedding.encode(queries), len(queries))

    def _slot_filter(self, spec: dict[str, Any] | None) -> Any:
        """The compiled bitset for a filter (cached while the index is unchanged). Needs the read lock."""
        if spec is None:
            return None
        key = (filter_key(spec), self._records.version)
        cached = self._filters.get(key)
        if cached is None:
            mask = FilterCompiler(self._records.metadatas()).mask(spec)
            cached = _core.SlotFilter(mask)
            if len(self._filters) >= _FILTER_CACHE_SIZE:
                self._filters.clear()
            self._filters[key] = cached
        return cached

    def _id_order(self) -> np.ndarray:
        """Each slot's place in id order (free slots first), for breaking fused ties by id.
        Cached while the index is unchanged. Needs the read lock."""
        version = (id(self._records), self._records.version)
        if self._id_order_cache is None or self._id_order_cache[0] != version:
            ids = [r.id if r is not None else "" for r in self._records.records]
            order = np.empty(len(ids), dtype=np.int64)
            order[sorted(range(len(ids)), key=ids.__getitem__)] = np.arange(len(ids))
            self._id_order_cache = (version, order)
        return self._id_order_cache[1]

    def _id_of(self, slot: int) -> str:
        record = self._records.records[slot]
        return record.id if record is not None else ""

    def _hits(self, scores: np.ndarray, slots: np.ndarray) -> list[list[Hit]]:
        """One list of hits per row of the core's (scores, slots) matrices (slot -1: none)."""
        records = self._records.records
        out = []
        with gc_paused():  # many small objects, no cycles: collections would only walk the index
            for row_scores, row_slots in zip(scores.tolist(), slots.tolist()):
                hits = []
                for score, slot in zip(row_scores, row_slots):
                    if slot < 0:
                        continue
                    r = records[slot]
                    assert r is not None, "the core returned a free slot"
                    hits.append(Hit(r.id, score, r.text, dict(r.metadata), r.source, r.start, r.end, r.line_start,
                                    r.line_end))
                out.append(hits)
        return out

    def _hit(self, slot: int, score: float) -> Hit:
        record = self._records.records[slot]
        assert record is not None, "the core returned a free slot"
        return Hit(record.id, score, record.text, dict(record.metadata), record.source, record.start, record.end,
                   record.line_start, record.line_end)

    # -- persistence ------------------------------------------------------------------

    def save(self, path: str | os.PathLike[str]) -> Path:
        """Save to a folder, atomically: a crash mid-save leaves the previous save loadable.

        Returns the snapshot folder written. Metadata must be JSON-serialisable.
        """
        root = Path(path)
        with self._lock.reading():
            staging = begin_snapshot(root)
            lines, slots = [], []
            for slot, record in enumerate(self._records.records):
                if record is None:
                    continue
                try:
                    lines.append(json.dumps(record.to_json(slot), ensure_ascii=False).encode("utf-8"))
                except (TypeError, ValueError) as error:
                    raise TypeError(f"metadata of {record.id!r} cannot be saved as JSON: {error}") from None
                slots.append(slot)
            write_file(staging / "records.jsonl", b"\n".join(lines) + b"\n")
            # Where each record's line starts: Index.load(mmap=True) reads records on demand by it.
            positions = io.BytesIO()
            np.save(positions, record_positions(lines, slots), allow_pickle=False)
            write_file(staging / POSITIONS_FILE, positions.getvalue())
            if self._vectors is not None:
                self._vectors.save(str(staging / "vectors.bin"), str(staging / "graph.bin"),
                                   str(staging / "exact.bin"))
            self._bm25.save(str(staging / "bm25.bin"))
            state = {"sources": self._sources, "chunker": self._chunker, "over_window": sorted(self._over_window)}
            write_file(staging / STATE_FILE, json.dumps(state, ensure_ascii=False).encode("utf-8"))
            settings = {**self.settings, "dim": self.dim, "slots": len(self._records.records),
                        "embedding": repr(self.embedding), "embedding_identity": self._embedding_identity(),
                        "embedding_spec": self._embedding_spec()}
            if self._cache is not None and len(self._cache):
                settings["embedding_cache"] = self._cache.save(staging)
            final = commit_snapshot(root, staging, settings)
            if self._snapshot is not None and self._snapshot.parent == root:
                self._snapshot = final  # what verify() checks now (the old snapshot is gone)
            return final

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, embedding: Any = None, threads: int = 0,
             embedding_cache: int = DEFAULT_LIMIT, mmap: bool = False) -> Index:
        """Load a saved index, with the embedder it was built with.

        ``embedding=None`` rebuilds the saved embedder (MiniLM with its model path, or
        HashingEmbeddings with its settings; a LangChain or custom embedder must be
        passed again). An embedder whose identity differs from the saved one is refused
        with a message naming both (with ``mmap=True`` at its first embedding: hashing a
        model's files takes longer than opening the index); one that cannot tell its
        identity is checked by dimension at the first search or add.

        A damaged embedding cache or sync state (``state.json``) does not stop the load:
        it is reported with a warning and rebuilt (the cache refills as texts are
        embedded; sources without a known hash are re-chunked at the next sync).

        ``mmap=True`` opens without reading everything: the vectors and the graph's base
        layer stay in the snapshot's files, mapped copy-on-write (pages are read when a
        search touches them and shared by every process that maps the same snapshot);
        records are parsed when a hit shows them, BM25 is read at the first BM25 or
        hybrid search. Checks: every file's size and the graph's whole structure at open
        (a damaged graph is refused, never followed); the SHA-256 checksums of the large
        files only on :meth:`verify`. Until then a corrupted vector page gives wrong
        scores for its rows, a corrupted record raises ValueError naming its slot when a
        hit reads it, and corrupted BM25 data raises ValueError at its first use. The first
        add or delete copies what it changes into memory; the files are never written.
        ragtune never rewrites a saved snapshot, and nothing else should while it is mapped.

        Examples
        --------
        >>> import tempfile
        >>> from ragtune.embeddings import HashingEmbeddings
        >>> folder = tempfile.mkdtemp()
        >>> index = Index(embedding=HashingEmbeddings(dim=32))
        >>> _ = index.add(["red apples", "green pears"], ids=["a", "p"])
        >>> _ = index.save(folder)
        >>> opened = Index.load(folder, mmap=True)
        >>> [h.id for h in opened.search("apples", k=1, mode="bm25")]
        ['a']
        >>> opened.verify()
        """
        root = Path(path)
        snapshot = current_snapshot(root)
        if snapshot is None:
            raise FileNotFoundError(f"{root} holds no saved ragtune index (no CURRENT file)")
        manifest, damaged = read_manifest(snapshot, optional=_REBUILDABLE,
                                          deferred=_DEFERRED if mmap else frozenset())
        s = read_settings(snapshot, manifest)
        saved_spec, saved_identity = manifest["settings"].get("embedding_spec"), manifest["settings"].get(
            "embedding_identity")
        if embedding is None and saved_spec is not None:
            embedding = embedder_from_spec(saved_spec)
        index = cls(embedding=embedding, metric=s["metric"], m=s["m"], ef_construction=s["ef_construction"],
                    ef_search=s["ef_search"], exact_below=s["exact_below"], bm25_k1=s["bm25_k1"],
                    bm25_b=s["bm25_b"], threads=threads, embedding_cache=embedding_cache,
                    vector_dtype=s["vector_dtype"], rescore=s["rescore"])
        if isinstance(saved_identity, str):
            index._identity_check = (saved_identity, saved_spec, root)
            if not mmap:  # a mapped index checks at its first embedding (hashing a model's files takes ~70 ms)
                index._check_identity()
        slots = s["slots"]
        has_vectors = (snapshot / "vectors.bin").exists()
        # On demand only where the snapshot says where each record lies (saved by ragtune
        # since mmap=True; older snapshots are read at once) and the vectors back the slot count.
        lazy = mmap and POSITIONS_FILE in manifest["files"] and has_vectors
        if has_vectors:
            index._vectors = _core.VectorIndex.load(
                str(snapshot / "vectors.bin"), str(snapshot / "graph.bin"), m=s["m"],
                ef_construction=s["ef_construction"], ef_search=s["ef_search"],
                min_graph_size=max(1, s["exact_below"]), mmap=mmap,
                exact_path=str(snapshot / "exact.bin") if s["rescore"] else "")
            # The slot count is backed by the vector file's bytes, so a hostile manifest cannot
            # make the loader allocate for slots that do not exist.
            if (index._vectors.dim != s["dim"] or index._vectors.dtype != s["vector_dtype"]
                    or index._vectors.rescore != s["rescore"]
                    or index._vectors.slot_count != slots):
                raise ValueError(f"{snapshot}: vectors do not match the records (damaged index)")
        if lazy:
            try:
                positions = np.load(snapshot / POSITIONS_FILE, allow_pickle=False)
            except (ValueError, OSError, EOFError) as error:
                raise ValueError(f"{snapshot}/{POSITIONS_FILE} is corrupted: {error}") from None
            saved = SavedRecords(snapshot / "records.jsonl", slots, positions)
            live = saved.live
            index._records.restore_saved(saved)
        else:
            items = []
            number = 0  # reported if the file cannot even be decoded
            try:
                for number, line in enumerate((snapshot / "records.jsonl").read_text(encoding="utf-8").splitlines()):
                    if line:
                        items.append(Record.from_json(json.loads(line)))
            except (ValueError, KeyError, TypeError) as error:
                raise ValueError(f"{snapshot}/records.jsonl is corrupted near line {number + 1}: {error}") from None
            if slots < len(items):
                raise ValueError(f"{snapshot}/manifest.json: slots={slots!r} is not a count covering the records")
            if not has_vectors and slots != len(items):
                raise ValueError(f"{snapshot}: {slots} slots but no vector file (damaged index)")
            live = len(items)
            index._records.restore(slots, items)
        if has_vectors and len(index._vectors) != live:
            raise ValueError(f"{snapshot}: vectors do not match the records (damaged index)")
        if mmap:
            handle = open(snapshot / "bm25.bin", "rb")  # noqa: SIM115  closed when read, or with the index
            weakref.finalize(index, handle.close)
            index._bm25_saved = (handle, snapshot / "bm25.bin", slots, live)
        else:
            index._bm25 = _core.BM25Index.load(str(snapshot / "bm25.bin"), slot_limit=slots)
            if len(index._bm25) != live:
                raise ValueError(f"{snapshot}: BM25 data does not match the records (damaged index)")
        index._snapshot = snapshot
        index._restore_rebuildable(snapshot, manifest, damaged)
        identity = manifest["settings"].get("embedding_identity")
        index._built_with = identity if isinstance(identity, str) else None
        return index

    def verify(self) -> None:
        """Check every file of the snapshot this index was loaded from against the size and
        SHA-256 its manifest records (what ``Index.load(mmap=True)`` leaves for later).

        Raises ValueError naming the first damaged file: load the index again from a good
        copy, or rebuild it."""
        if self._snapshot is None:
            raise ValueError("this index was not loaded from a folder: there is nothing on disk to verify")
        read_manifest(self._snapshot)

    def _restore_rebuildable(self, snapshot: Path, manifest: dict[str, Any], damaged: list[str]) -> None:
        """Load the sync state and the embedding cache; whatever is damaged is reported and rebuilt."""
        problems = list(damaged)
        state_lost = STATE_FILE in damaged
        if STATE_FILE in manifest["files"] and not state_lost:
            try:
                state = json.loads((snapshot / STATE_FILE).read_text(encoding="utf-8"))
                sources, chunker, over = state["sources"], state["chunker"], state["over_window"]
                if not (isinstance(sources, dict) and all(isinstance(k, str) and isinstance(v, str)
                                                          for k, v in sources.items())
                        and (chunker is None or isinstance(chunker, str))
                        and isinstance(over, list) and all(isinstance(i, str) for i in over)):
                    raise ValueError("unexpected types")
                self._sources, self._chunker = sources, chunker
                self._over_window = {i for i in over if i in self._records.slot_of}
            except (ValueError, KeyError, TypeError) as error:
                problems.append(f"{STATE_FILE} ({error})")
                state_lost = True
        if state_lost:
            window = self.embedding.window if self.dim is not None else None
            records = [r for r in self._records.records if r is not None]
            if window is not None and records:  # recount what the embedder cuts; sources re-hash at the next sync
                self._over_window = {r.id for r, cut in zip(records, window.over([r.text for r in records])) if cut}
        info = manifest["settings"].get("embedding_cache")
        if info is not None and not set(damaged) & {KEYS_FILE, VECTORS_FILE}:
            try:
                self._cache = EmbeddingCache.load(snapshot, info, limit=self.cache_limit)
            except (ValueError, OSError) as error:
                problems.append(f"the embedding cache ({error})")
        if problems:
            warnings.warn(f"{snapshot}: {', '.join(problems)} failed its check and is rebuilt; the index itself is "
                          f"intact. Save the index to store the rebuilt parts.", UserWarning, stacklevel=3)

    def __repr__(self) -> str:
        dtype = "" if self.settings["vector_dtype"] == "f32" else f", vector_dtype={self.settings['vector_dtype']!r}"
        return (f"Index({len(self)} documents, dim={self.dim}, metric={self.metric!r}{dtype}, "
                f"embedding={self.embedding!r}, graph={bool(self._vectors is not None and self._vectors.has_graph)})")


def search_arguments(queries: Any, *, k: Any, mode: Any, weights: Any,
                     fetch_k: Any) -> tuple[list[str], int, int]:
    """Checked search arguments shared by Index and ShardedIndex: the queries as text,
    k, and the depth of each ranking (k, or ``fetch_k`` for hybrid fusion)."""
    queries = [as_text(q, what=f"queries[{i}]") for i, q in enumerate(_as_list(queries, "queries"))]
    k = as_int(k, name="k", minimum=1, maximum=1_000_000)
    if mode not in _MODES:
        raise ValueError(f"mode must be one of {', '.join(_MODES)}, got {mode!r}")
    if len(weights) != 2 or not all(isinstance(w, (int, float)) and math.isfinite(w) for w in weights):
        raise ValueError(f"weights must be two finite numbers (dense, bm25), got {weights!r}")
    depth = k if mode != "hybrid" else as_int(fetch_k if fetch_k is not None else max(4 * k, 20),
                                               name="fetch_k", minimum=k)
    return queries, k, depth


def _as_list(values: Any, what: str) -> list[Any]:
    if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
        raise TypeError(f"{what} must be a list, got {type(values).__name__}")
    return list(values)


def _matrix(values: Any, rows: int) -> np.ndarray:
    """A (rows, dim) finite float32 matrix, or a clear error."""
    try:
        matrix = np.asarray(values, dtype=np.float32)
    except (TypeError, ValueError) as error:
        raise TypeError(f"vectors must be numbers: {error}") from None
    if matrix.ndim == 1:
        matrix = matrix.reshape(1, -1)
    if matrix.ndim != 2 or matrix.shape[0] != rows or matrix.shape[1] == 0:
        raise ValueError(f"expected {rows} vector(s), got an array of shape {matrix.shape}")
    if not np.isfinite(matrix).all():
        raise ValueError("vectors hold NaN or infinity")
    return np.ascontiguousarray(matrix)


