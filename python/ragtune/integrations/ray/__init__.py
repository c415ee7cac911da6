"""ragtune's stages on Ray Data: the same chunking, embedding, indexing and RAFT as on
one machine, as functions over :class:`ray.data.Dataset`, for corpora that outgrow it.

Each stage gives what the single-process path gives (tested): chunks with the same
offsets, the same vectors, shards that search as one index (:class:`ShardedIndex`,
exact results equal to one :class:`~ragtune.Index`), the same RAFT examples.

>>> import ray
>>> from ragtune import RecursiveChunker
>>> from ragtune.integrations import ray as rt                                # doctest: +SKIP
>>> docs = rt.read_documents(["docs/"])                                      # doctest: +SKIP
>>> chunks = rt.chunk(docs, RecursiveChunker(chunk_size=1000, chunk_overlap=150))  # doctest: +SKIP
>>> vectors = rt.embed(chunks, "minilm", concurrency=4)                      # doctest: +SKIP
>>> index = rt.write_index(vectors, "corpus-index", shards=8)                # doctest: +SKIP

Needs Ray: ``pip install 'ragtune[ray]'``.
"""

from __future__ import annotations

try:
    import ray  # noqa: F401
    import ray.data  # noqa: F401
except ImportError as error:  # pragma: no cover - exercised by a test that hides Ray
    raise ImportError(
        "ragtune.integrations.ray needs Ray Data, which is not installed: pip install 'ragtune[ray]' "
        f"(or pip install 'ray[data]'); the import failed with: {error}"
    ) from None

from ...index.sharded import ShardedIndex
from .chunks import chunk
from .documents import read_documents
from .embed import embed
from .questions import generate_qa
from .raft import DistributedRaft, raft
from .shards import write_index

__all__ = ["DistributedRaft", "ShardedIndex", "chunk", "embed", "generate_qa", "raft", "read_documents",
           "write_index"]
