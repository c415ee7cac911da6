"""Writing RAFT examples: JSON Lines, Parquet and Hugging Face ``datasets``, encoded
from columns (:class:`~ragtune.raft.columns.RaftColumns`) without a Python object per
example.

JSON Lines are encoded in C++ (``_core.RaftRecords``), byte for byte what
``json.dumps(to_record(example, fmt), ensure_ascii=False)`` gives, on several threads.
Parquet and ``datasets`` tables are built with Arrow from the same columns: document
lists are ``take``s from the pool of texts, and the composed fields (instruction,
oracle context, ...) come from C++ as Arrow string buffers, with the types
``pyarrow.Table.from_pylist`` infers from the records. Any iterable of
:class:`~ragtune.raft.RaftExample` is accepted too: it is turned into columns in
batches.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
from tqdm.auto import tqdm

from .._files import atomic_output, fsync_path
from .._inputs import as_int, as_threads
from .columns import RaftColumns, RaftExamples
from .formats import FORMATS, Format, RaftExample

# Examples per C++ call: the unit of progress, and of columns built from plain examples.
_STEP = 65_536
_ROLES = ("system", "user", "assistant")


def _check_format(fmt: str) -> None:
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")


def _column_parts(examples: Any) -> Iterator[RaftColumns]:
    """The examples as columns: as they are when assembled, else in batches."""
    from .assemble import RaftDataset

    if isinstance(examples, RaftDataset):
        yield examples.columns
        return
    if isinstance(examples, RaftExamples):
        yield examples.columns
        return
    if isinstance(examples, RaftColumns):
        yield examples
        return
    if isinstance(examples, (str, bytes, dict)) or not isinstance(examples, Iterable):
        raise TypeError(f"examples must be a RaftDataset or an iterable of RaftExample, got {type(examples).__name__}")
    batch: list[RaftExample] = []
    for example in examples:
        batch.append(example)
        if len(batch) == _STEP:
            yield RaftColumns.from_examples(batch)
            batch = []
    if batch:
        yield RaftColumns.from_examples(batch)


def _total(examples: Any) -> int | None:
    try:
        return len(examples)
    except TypeError:
        return None


def write_jsonl(examples: Any, path: str | os.PathLike[str], fmt: Format, *, system_prompt: str | None = None,
                threads: int = 0, progress: bool | None = None) -> int:
    """Write examples to a JSON Lines file in format ``fmt``, published atomically
    (temporary file, fsync, rename): an interrupted write leaves no partial file.
    Returns the number of examples.

    ``examples`` is a :class:`~ragtune.raft.RaftDataset` (or its ``.examples``), which
    is encoded straight from its columns on ``threads`` threads (0: all cores), or any
    iterable of :class:`~ragtune.raft.RaftExample`. The bytes equal
    ``json.dumps(to_record(example, fmt), ensure_ascii=False)`` plus a newline per
    example. ``progress`` shows a bar (default: for more than 200,000 examples).

    Examples
    --------
    >>> import tempfile, pathlib
    >>> ex = RaftExample("q0", "Why?", ["Because."], ["a.rst"], [0], "<ANSWER>: so")
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "train.jsonl"
    >>> write_jsonl([ex], out, "completion"), out.read_text(encoding="utf-8")
    (1, '{"prompt": "<DOCUMENT>Because.</DOCUMENT>\\\\nWhy?", "completion": "<ANSWER>: so"}\\n')
    """
    _check_format(fmt)
    threads = as_threads(threads)
    total = _total(examples)
    show = progress if progress is not None else (total or 0) > 200_000
    count = 0
    with atomic_output(path, binary=True) as out, \
            tqdm(total=total, unit="ex", desc=f"writing {fmt}", disable=not show) as bar:
        out.flush()
        offset = 0
        for columns in _column_parts(examples):
            records = columns.records()
            for first in range(0, len(columns), _STEP):
                last = min(len(columns), first + _STEP)
                offset += records.write_jsonl(fmt, system_prompt=system_prompt or "", first=first, last=last,
                                              fd=out.fileno(), offset=offset, path=os.fspath(path), threads=threads)
                bar.update(last - first)
            count += len(columns)
        out.seek(offset)
    return count


def _pyarrow() -> Any:
    try:
        import pyarrow as pa
    except ImportError as error:  # pragma: no cover - exercised only without the extra
        raise ImportError("Parquet and datasets output need pyarrow: pip install 'ragtune[raft]'") from error
    return pa


class _ArrowEncoder:
    """Arrow record batches of one format from columns (types as ``Table.from_pylist``
    infers them from :func:`~ragtune.raft.to_record`'s records)."""

    def __init__(self, columns: RaftColumns, fmt: Format, system_prompt: str | None, threads: int) -> None:
        self.pa = _pyarrow()
        self.columns, self.fmt, self.system_prompt, self.threads = columns, fmt, system_prompt or "", threads
        self.records = columns.records()
        self._pool: dict[str, Any] = {}

    def batch(self, first: int, last: int) -> Any:
        pa, c = self.pa, self.columns
        if self.fmt == "hf":
            doc_offsets = self._offsets(c.document_offsets, first, last)
            context = pa.StructArray.from_arrays(
                [self._one_list(pa.ListArray.from_arrays(doc_offsets, self._documents("titles", first, last))),
                 self._one_list(pa.ListArray.from_arrays(doc_offsets, self._documents("texts", first, last)))],
                names=["title", "sentences"])
            fields = {"id": self._strings(c.ids, first, last), "type": self._strings(c.types, first, last),
                      "question": self._strings(c.questions, first, last), "context": context,
                      "oracle_context": self._composed("oracle_context", first, last),
                      "cot_answer": self._strings(c.cot_answers, first, last),
                      "instruction": self._composed("instruction", first, last)}
        elif self.fmt == "completion":
            fields = {"prompt": self._composed("instruction", first, last),
                      "completion": self._strings(c.cot_answers, first, last)}
        elif self.fmt == "chat":
            fields = {"messages": self._messages(first, last)}
        else:
            fields = {"question": self._strings(c.questions, first, last),
                      "gold_final_answer": self._composed("final_answer", first, last),
                      "context": self._composed("eval_context", first, last)}
        return pa.RecordBatch.from_arrays(list(fields.values()), names=list(fields))

    def _strings(self, values: list[str], first: int, last: int) -> Any:
        return self.pa.array(values[first:last], self.pa.string())

    @staticmethod
    def _offsets(offsets: np.ndarray, first: int, last: int) -> np.ndarray:
        return (offsets[first:last + 1] - offsets[first]).astype(np.int32)

    def _one_list(self, values: Any) -> Any:
        """Each row's value wrapped in a one-element list (gorilla's ``[[...]]``)."""
        return self.pa.ListArray.from_arrays(np.arange(len(values) + 1, dtype=np.int32), values)

    def _documents(self, which: str, first: int, last: int) -> Any:
        pa, c = self.pa, self.columns
        if which not in self._pool:
            self._pool[which] = pa.array(getattr(c, which), pa.large_string())
        shown = c.documents[c.document_offsets[first]:c.document_offsets[last]]
        return self._pool[which].take(pa.array(shown)).cast(pa.string())

    def _composed(self, field: str, first: int, last: int) -> Any:
        pa = self.pa
        offsets, data, valid = self.records.compose(field, first=first, last=last, threads=self.threads)
        if offsets[-1] >= 2**31:
            raise ValueError(f"{last - first} examples hold more than 2 GB of {field}; write fewer rows per batch")
        nulls = None if valid.all() else pa.py_buffer(np.packbits(valid, bitorder="little"))
        return pa.StringArray.from_buffers(last - first, pa.py_buffer(offsets.astype(np.int32)), pa.py_buffer(data),
                                           nulls)

    def _messages(self, first: int, last: int) -> Any:
        pa, rows = self.pa, last - first
        roles = _ROLES if self.system_prompt else _ROLES[1:]
        contents = [self._composed("instruction", first, last), self._strings(self.columns.cot_answers, first, last)]
        if self.system_prompt:
            contents.insert(0, pa.array([self.system_prompt] * rows, pa.string()))
        width = len(roles)
        # Row r's messages are entries r, rows + r, ... of the concatenated contents.
        order = (np.arange(width)[None, :] * rows + np.arange(rows)[:, None]).ravel()
        content = pa.concat_arrays(contents).take(pa.array(order))
        role = pa.array(list(roles) * rows, pa.string())
        messages = pa.StructArray.from_arrays([role, content], names=["role", "content"])
        return pa.ListArray.from_arrays(np.arange(0, rows * width + 1, width, dtype=np.int32), messages)


def _batches(examples: Any, fmt: Format, system_prompt: str | None, rows: int, threads: int) -> Iterator[Any]:
    for columns in _column_parts(examples):
        encoder = _ArrowEncoder(columns, fmt, system_prompt, threads)
        for first in range(0, len(columns), rows):
            yield encoder.batch(first, min(len(columns), first + rows))


def to_dataset(examples: Any, fmt: Format, *, system_prompt: str | None = None, threads: int = 0) -> Any:
    """A Hugging Face ``datasets.Dataset`` of the examples in format ``fmt``, built from
    Arrow columns (needs ``pip install 'ragtune[raft]'``).

    Examples
    --------
    >>> ex = RaftExample("q0", "Why?", ["Because."], ["a.rst"], [0], "<ANSWER>: so")
    >>> to_dataset([ex], "eval")[0]
    {'question': 'Why?', 'gold_final_answer': 'so', 'context': '<DOCUMENT>Because.</DOCUMENT>'}
    """
    try:
        import datasets
    except ImportError as error:  # pragma: no cover - exercised only without the extra
        raise ImportError("to_dataset needs the datasets package: pip install 'ragtune[raft]'") from error
    _check_format(fmt)
    pa = _pyarrow()
    batches = list(_batches(examples, fmt, system_prompt, 10_000, as_threads(threads)))
    if not batches:
        return datasets.Dataset.from_list([])
    return datasets.Dataset(pa.Table.from_batches(batches))


def write_parquet(examples: Any, path: str | os.PathLike[str], fmt: Format, *, system_prompt: str | None = None,
                  batch_rows: int = 10_000, threads: int = 0) -> int:
    """Stream examples into a Parquet file (pyarrow, one row group per ``batch_rows``),
    published atomically like :func:`write_jsonl`. Returns the count.

    Examples
    --------
    >>> import tempfile, pathlib, pyarrow.parquet as pq
    >>> ex = RaftExample("q0", "Why?", ["Because."], ["a.rst"], [0], "<ANSWER>: so")
    >>> out = pathlib.Path(tempfile.mkdtemp()) / "train.parquet"
    >>> write_parquet([ex], out, "completion"), pq.read_table(out).column("completion").to_pylist()
    (1, ['<ANSWER>: so'])
    """
    _check_format(fmt)
    batch_rows = as_int(batch_rows, name="batch_rows", minimum=1)
    pa = _pyarrow()
    import pyarrow.parquet as pq

    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=target.name + ".", suffix=".tmp", dir=target.parent)
    os.close(fd)
    count = 0
    writer = None
    try:
        for batch in _batches(examples, fmt, system_prompt, batch_rows, as_threads(threads)):
            writer = writer or pq.ParquetWriter(temporary, batch.schema)
            writer.write_table(pa.Table.from_batches([batch]))
            count += batch.num_rows
        if writer is None:  # no examples: an empty file with no columns, as from_pylist([]) gives
            writer = pq.ParquetWriter(temporary, pa.schema([]))
            writer.write_table(pa.table({}))
        writer.close()
        fsync_path(temporary)
        os.replace(temporary, target)
    except BaseException:
        if writer is not None:
            writer.close()
        Path(temporary).unlink(missing_ok=True)
        raise
    return count
