"""Documents as a Ray Dataset: files listed on the driver by the command line's rules,
read on the workers."""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pyarrow as pa
import ray

from ...cli.files import MAX_DOCUMENT_BYTES, document_paths, read_document

#: Files read per task: enough to amortise a task, few enough to spread a folder over workers.
FILES_PER_TASK = 16
MIN_BLOCKS, MAX_BLOCKS = 64, 2000


def _read(batch: pa.Table) -> pa.Table:
    texts = [read_document(Path(p)) for p in batch.column("path").to_pylist()]
    return pa.table({"doc": batch.column("doc"), "source": batch.column("source"), "text": pa.array(texts)})


def read_documents(paths: str | os.PathLike[str] | Sequence[str | os.PathLike[str]], *, follow_links: bool = False,
                   max_bytes: int = MAX_DOCUMENT_BYTES) -> Any:
    """A :class:`ray.data.Dataset` of documents: one row per file with ``doc`` (its
    position in the listing), ``source`` and ``text``.

    Folders are walked as ``ragtune index`` walks them (.txt/.md/.rst/.html, sorted;
    links that leave the folder skipped unless ``follow_links``; files over
    ``max_bytes`` skipped with a note; bytes that are not UTF-8 replaced), and sources
    are named the same way (``folder/relative/path``); a file given by itself is named
    by its file name. The paths must be readable from every worker (a shared
    filesystem on a multi-node cluster).

    Examples
    --------
    >>> ds = read_documents(["docs/"])                   # doctest: +SKIP
    >>> ds.take(1)[0]["source"]                          # doctest: +SKIP
    'docs/index.md'
    """
    given = [paths] if isinstance(paths, (str, os.PathLike)) else list(paths)
    if not given:
        raise ValueError("give at least one file or folder of documents")
    rows: list[dict[str, Any]] = []
    for item in given:
        path = Path(item)
        if path.is_file():
            rows.append({"source": path.name, "path": str(path.resolve())})
        elif path.is_dir():
            prefix = Path(path.resolve().name)
            rows.extend({"source": str(prefix / name), "path": str(file)}
                        for name, file in document_paths(path, follow_links=follow_links, max_bytes=max_bytes))
        else:
            raise FileNotFoundError(f"{path} is neither a file nor a folder of documents")
    if not rows:
        raise ValueError(f"no documents (.txt/.md/.rst/.html) found in {', '.join(map(str, given))}")
    sources = [r["source"] for r in rows]
    if len(set(sources)) != len(sources):
        twice = next(s for s in sources if sources.count(s) > 1)
        raise ValueError(f"two documents would have the source {twice!r}: give folders with different names")
    for n, row in enumerate(rows):
        row["doc"] = n
    # Enough blocks for every worker of a large cluster to read (and, downstream, chunk
    # and embed) at once; a small folder gets one file per block.
    blocks = max(1, min(len(rows), max(len(rows) // FILES_PER_TASK, MIN_BLOCKS), MAX_BLOCKS))
    listing = ray.data.from_items(rows, override_num_blocks=blocks)
    return listing.map_batches(_read, batch_format="pyarrow", batch_size=None)
