"""An index saved as shards (one ragtune Index per shard, written in parallel, for
instance by :func:`ragtune.integrations.ray.write_index`), searched as one.

The shards hold contiguous ranges of one ordering of the documents, and results are
merged by (score, position in that ordering): the order one :class:`~ragtune.Index`
over every document keeps (higher score first, then the earlier document). BM25 is
scored with the statistics of the whole corpus (documents, total length and each
query term's document frequency, summed over the shards at query time), so exact
dense, BM25 and hybrid results equal those of one index over the same documents, bit
for bit. Graph (HNSW) search is approximate per shard, as it is in one index.

Layout: ``<folder>/sharded.json`` (the manifest, written last and atomically) and one
saved Index per shard, ``<folder>/shard-00000`` ...
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import numpy as np

from .._files import read_json, write_json_atomically
from .._inputs import as_int, as_threads
from .fusion import reciprocal_rank_fusion
from .hit import Hit
from .index import Index, Mode, search_arguments
from .persistence import check_format

MANIFEST = "sharded.json"
FORMAT = "ragtune.sharded-index"
VERSION = 1


def shard_name(number: int) -> str:
    """The folder of shard ``number`` inside a sharded index."""
    return f"shard-{number:05d}"


def write_manifest(folder: str | os.PathLike[str], shards: Sequence[dict[str, Any]], **extra: Any) -> Path:
    """Publish a sharded index: ``shards`` lists ``{"path": <folder name>, "documents": n}``
    in order (each a saved Index inside ``folder``). Written atomically, after the shards."""
    root = Path(folder)
    offset, entries = 0, []
    for n, shard in enumerate(shards):
        documents = as_int(shard["documents"], name=f"shards[{n}].documents", minimum=0)
        entries.append({"path": str(shard["path"]), "documents": documents, "offset": offset})
        offset += documents
    manifest = {"format": FORMAT, "version": VERSION, "documents": offset, "shards": entries, **extra}
    write_json_atomically(root / MANIFEST, manifest)
    return root / MANIFEST


class ShardedIndex:
    """Search several saved index shards as one index.

    Examples
    --------
    >>> index = ShardedIndex.load("corpus-index")                    # doctest: +SKIP
    >>> index.search("how do I pin a version?", k=5, mode="hybrid")  # doctest: +SKIP
    """

    def __init__(self, shards: Sequence[Index], *, threads: int = 0, path: Path | None = None) -> None:
        shards = list(shards)
        if not shards:
            raise ValueError("a sharded index needs at least one shard")
        for n, shard in enumerate(shards):
            if not isinstance(shard, Index):
                raise TypeError(f"shards[{n}] must be a ragtune Index, got {type(shard).__name__}")
        first = shards[0]
        dims = {s.dim for s in shards if s.dim is not None}
        if len(dims) > 1:
            raise ValueError(f"the shards hold vectors of different dimensions ({sorted(dims)}); they cannot be "
                             "searched as one index")
        identities = {s._embedding_identity() or s._built_with for s in shards} - {None}
        if len(identities) > 1:
            raise ValueError("the shards were built with different embedders; their vectors are not comparable")
        for n, shard in enumerate(shards[1:], start=1):
            if shard.settings["metric"] != first.settings["metric"] or (
                    shard.settings["bm25_k1"], shard.settings["bm25_b"]) != (first.settings["bm25_k1"],
                                                                            first.settings["bm25_b"]):
                raise ValueError(f"shard {n} was built with other settings than shard 0 ({shard.settings} vs "
                                 f"{first.settings}); every shard must use the same metric and BM25 parameters")
        for n, shard in enumerate(shards):
            # Global positions are shard offset + slot: a shard with freed slots (deletes)
            # would make them overlap.
            if len(shard._records.records) != len(shard):
                raise ValueError(f"shard {n} has deleted documents (free slots); shards must be written whole, "
                                 "as write_index writes them")
        seen: set[str] = set()
        for n, shard in enumerate(shards):
            ids = shard.ids()
            if not seen.isdisjoint(ids):
                repeated = next(i for i in ids if i in seen)
                raise ValueError(f"shard {n} repeats an id of an earlier shard ({repeated!r}); each document must "
                                 "live in one shard")
            seen.update(ids)
        self._shards = shards
        self._sizes = [len(s._records.records) for s in shards]
        self._offsets = np.cumsum([0] + [len(s) for s in shards]).tolist()
        self.threads = as_threads(threads)
        self.path = path

    @classmethod
    def load(cls, path: str | os.PathLike[str], *, embedding: Any = None, threads: int = 0,
             mmap: bool = False) -> ShardedIndex:
        """Open a sharded index folder (see the module docstring): every shard is loaded with
        one embedder (the saved one, rebuilt once, unless ``embedding`` is given).

        ``mmap=True`` maps every shard (see :meth:`Index.load`): it opens in milliseconds, and
        processes on one host that open the same folder (Ray workers, several servers) share
        the vectors' and graphs' pages instead of holding a copy each."""
        root = Path(path)
        manifest = read_json(root / MANIFEST, what="sharded index manifest")
        check_format(manifest, FORMAT, VERSION, where=str(root / MANIFEST), kind="ragtune sharded index")
        entries = manifest.get("shards")
        if not isinstance(entries, list) or not entries:
            raise ValueError(f"{root / MANIFEST} lists no shards")
        shards: list[Index] = []
        for n, entry in enumerate(entries):
            name = entry.get("path") if isinstance(entry, dict) else None
            if not isinstance(name, str) or Path(name).name != name or name in ("", ".", "..") or "\\" in name:
                raise ValueError(f"{root / MANIFEST}: shard {n} is damaged ({entry!r})")
            shard = Index.load(root / entry["path"], embedding=embedding, threads=1, mmap=mmap)
            if len(shard) != entry.get("documents"):
                raise ValueError(f"{root / entry['path']} holds {len(shard)} documents, the manifest says "
                                 f"{entry.get('documents')!r}: the sharded index is damaged")
            embedding = shard.embedding  # one embedder (one model in memory) for every shard
            shards.append(shard)
        return cls(shards, threads=threads, path=root)

    # -- what it holds ---------------------------------------------------------------

    @property
    def shards(self) -> list[Index]:
        """The shards, in order."""
        return list(self._shards)

    @property
    def embedding(self) -> Any:
        return self._shards[0].embedding

    @property
    def dim(self) -> int | None:
        return next((s.dim for s in self._shards if s.dim is not None), None)

    def __len__(self) -> int:
        return int(self._offsets[-1])

    def ids(self) -> list[str]:
        """Every document id, shard by shard."""
        return [id_ for shard in self._shards for id_ in shard.ids()]

    def __contains__(self, id_: object) -> bool:
        return any(id_ in shard for shard in self._shards)

    def get(self, ids: Sequence[str], *, missing: str = "raise") -> list[Hit]:
        """The stored documents with these ids, in the order given (see :meth:`Index.get`)."""
        if missing not in ("raise", "skip"):
            raise ValueError(f"missing must be 'raise' or 'skip', got {missing!r}")
        out = []
        for id_ in list(ids):
            shard = next((s for s in self._shards if id_ in s), None)
            if shard is None:
                if missing == "raise":
                    raise KeyError(f"no document with id {id_!r} in this sharded index")
                continue
            out.extend(shard.get([id_]))
        return out

    def stats(self) -> dict[str, Any]:
        """Documents, shards and per-shard statistics."""
        return {"documents": len(self), "shards": len(self._shards), "dim": self.dim,
                "per_shard": [s.stats() for s in self._shards]}

    def __repr__(self) -> str:
        return (f"ShardedIndex({len(self)} documents in {len(self._shards)} shards, dim={self.dim}, "
                f"embedding={self.embedding!r})")

    # -- searching ---------------------------------------------------------------------

    def search(self, query: str, k: int = 4, filter: dict[str, Any] | None = None, mode: Mode = "dense", *,
               ef: int | None = None, fetch_k: int | None = None, weights: tuple[float, float] = (1.0, 1.0),
               exact: bool = False) -> list[Hit]:
        """:meth:`ragtune.Index.search` over every shard."""
        return self.search_many([query], k=k, filter=filter, mode=mode, ef=ef, fetch_k=fetch_k, weights=weights,
                                exact=exact)[0]

    def search_many(self, queries: Sequence[str], k: int = 4, filter: dict[str, Any] | None = None,
                    mode: Mode = "dense", *, ef: int | None = None, fetch_k: int | None = None,
                    weights: tuple[float, float] = (1.0, 1.0), exact: bool = False) -> list[list[Hit]]:
        """:meth:`ragtune.Index.search_many` over every shard, searched in parallel and merged exactly."""
        self._check_unchanged()
        queries, k, depth = search_arguments(queries, k=k, mode=mode, weights=weights, fetch_k=fetch_k)
        ef_value = as_int(ef, name="ef", minimum=1) if ef is not None else None
        if not queries or len(self) == 0:
            return [[] for _ in queries]
        vectors = self._shards[0]._embed_queries(queries) if mode != "bm25" else None
        corpus = self._corpus(queries) if mode != "dense" else None

        def run(shard: Index) -> tuple[Any, Any]:
            return shard._candidates(queries, vectors, mode=mode, depth=depth, filter=filter, ef=ef_value,
                                     exact=exact, corpus=corpus)

        with ThreadPoolExecutor(max_workers=min(len(self._shards), self.threads or os.cpu_count() or 1)) as pool:
            found = list(pool.map(run, self._shards))
        results = []
        for q in range(len(queries)):
            dense = self._merged([f[0] for f in found], q, depth) if mode != "bm25" else []
            bm25 = self._merged([f[1] for f in found], q, depth) if mode != "dense" else []
            if mode == "hybrid":
                fused = reciprocal_rank_fusion([[o for o, _ in dense], [o for o, _ in bm25]], weights, k=k,
                                               tiebreak=self._id_at,
                                               scores=[[s for _, s in dense], [s for _, s in bm25]])
                results.append([self._hit_of(o, score) for o, score in fused])
            else:
                results.append([self._hit_of(o, score) for o, score in (dense or bm25)[:k]])
        return results

    def search_by_vector(self, vector: Any, k: int = 4, filter: dict[str, Any] | None = None, *,
                         ef: int | None = None, exact: bool = False) -> list[Hit]:
        """Dense search with a query vector you computed, over every shard."""
        self._check_unchanged()
        k = as_int(k, name="k", minimum=1, maximum=1_000_000)
        hits: list[tuple[float, int, Hit]] = []
        for shard, offset in zip(self._shards, self._offsets):
            for hit in shard.search_by_vector(vector, k=k, filter=filter, ef=ef, exact=exact):
                hits.append((-hit.score, offset + shard._records.slot_of[hit.id], hit))
        return [h for _, _, h in sorted(hits, key=lambda t: (t[0], t[1]))[:k]]

    def _check_unchanged(self) -> None:
        """Positions are shard offset + slot: a shard changed since (an add or delete through
        a reference to it) would put documents at another's positions."""
        if [len(s._records.records) for s in self._shards] != self._sizes or \
                sum(len(s) for s in self._shards) != len(self):
            raise ValueError("a shard was changed after the sharded index was opened (documents added or "
                             "deleted); a ShardedIndex is read-only: write the shards again and reopen it")

    def _corpus(self, queries: list[str]) -> tuple[list[list[str]], tuple[int, int, dict[str, int]]]:
        """The queries' tokens and the BM25 statistics of the whole corpus for their terms."""
        tokens = [self._shards[0]._bm25.tokenize(q) for q in queries]
        terms = sorted({t for query in tokens for t in query})
        documents = total = 0
        frequency = dict.fromkeys(terms, 0)
        for shard in self._shards:
            n, length, own = shard._bm25.statistics(terms)
            documents += n
            total += length
            for term, df in own.items():
                frequency[term] += df
        return tokens, (documents, total, frequency)

    def _merged(self, per_shard: list[Any], q: int, depth: int) -> list[tuple[int, float]]:
        """(global position, score) of the best ``depth`` across shards, in one index's order."""
        out: list[tuple[float, int]] = []
        for found, offset in zip(per_shard, self._offsets):
            if found is None:  # an empty shard
                continue
            scores, slots = found
            for score, slot in zip(scores[q].tolist(), slots[q].tolist()):
                if slot >= 0:
                    out.append((-score, offset + slot))
        out.sort()
        return [(ordinal, -negative) for negative, ordinal in out[:depth]]

    def _locate(self, ordinal: int) -> tuple[Index, int]:
        """The shard and slot of a global position."""
        shard = int(np.searchsorted(self._offsets, ordinal, side="right")) - 1
        return self._shards[shard], ordinal - self._offsets[shard]

    def _hit_of(self, ordinal: int, score: float) -> Hit:
        shard, slot = self._locate(ordinal)
        return shard._hit(slot, score)

    def _id_at(self, ordinal: int) -> str:
        """The id at a global position (fusion breaks ties by id, as one index does)."""
        shard, slot = self._locate(ordinal)
        return shard._id_of(slot)
