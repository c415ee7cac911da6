"""RAFT examples and the record formats fine-tuning tools read.

- ``hf``: gorilla's RAFT records — ``id, type, question, context{title, sentences},
  oracle_context, cot_answer, instruction`` (``context`` nests one list per field, as
  gorilla's datasets do), with real titles instead of placeholders;
- ``completion``: ``{"prompt", "completion"}`` (OpenAI-style completion fine-tuning);
- ``chat``: ``{"messages": [system?, user, assistant]}`` (OpenAI chat fine-tuning);
- ``eval``: ``{"question", "gold_final_answer", "context"}`` for evaluation.

The instruction shows every document as ``<DOCUMENT>text</DOCUMENT>`` on its own
line, then the question — the layout the RAFT paper's reference code trains on.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from .._files import atomic_output, fsync_path
from .quotes import ANSWER_MARKER

Format = Literal["hf", "completion", "chat", "eval"]
FORMATS: tuple[str, ...] = ("hf", "completion", "chat", "eval")


@dataclass(slots=True)
class RaftExample:
    """One training example: a question, the documents shown (oracle(s) and
    distractors, in shown order), and the chain-of-thought answer.

    Examples
    --------
    >>> ex = RaftExample("q0", "Why?", ["Because.", "Unrelated."], ["faq.rst: Why", "other.rst"], [0],
    ...                  "##begin_quote##Because.##end_quote## <ANSWER>: because")
    >>> ex.instruction()
    '<DOCUMENT>Because.</DOCUMENT>\\n<DOCUMENT>Unrelated.</DOCUMENT>\\nWhy?'
    >>> to_record(ex, "eval")["gold_final_answer"]
    'because'
    """

    id: str
    question: str
    documents: list[str]
    titles: list[str]
    oracle_positions: list[int]
    cot_answer: str
    type: str = "general"
    metadata: dict[str, Any] = field(default_factory=dict)

    def instruction(self) -> str:
        """The prompt: every document in a <DOCUMENT> block, then the question."""
        return "".join(f"<DOCUMENT>{d}</DOCUMENT>\n" for d in self.documents) + self.question

    def oracle_context(self) -> str:
        """The oracle document(s) (empty when this example shows none)."""
        return "\n".join(self.documents[p] for p in self.oracle_positions)

    def final_answer(self) -> str | None:
        """The text after the last ``<ANSWER>:``, or None."""
        marker = self.cot_answer.rfind(ANSWER_MARKER)
        return self.cot_answer[marker + len(ANSWER_MARKER):].strip() or None if marker >= 0 else None


def to_record(example: RaftExample, fmt: Format, *, system_prompt: str | None = None) -> dict[str, Any]:
    """The example as one record of format ``fmt``."""
    if fmt == "hf":
        return {
            "id": example.id,
            "type": example.type,
            "question": example.question,
            "context": {"title": [list(example.titles)], "sentences": [list(example.documents)]},
            "oracle_context": example.oracle_context(),
            "cot_answer": example.cot_answer,
            "instruction": example.instruction(),
        }
    if fmt == "completion":
        return {"prompt": example.instruction(), "completion": example.cot_answer}
    if fmt == "chat":
        messages = [{"role": "system", "content": system_prompt}] if system_prompt else []
        messages += [{"role": "user", "content": example.instruction()},
                     {"role": "assistant", "content": example.cot_answer}]
        return {"messages": messages}
    if fmt == "eval":
        return {"question": example.question, "gold_final_answer": example.final_answer(),
                "context": "".join(f"<DOCUMENT>{d}</DOCUMENT>\n" for d in example.documents).rstrip("\n")}
    raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")


def write_jsonl(examples: Iterable[RaftExample], path: str | os.PathLike[str], fmt: Format, *,
                system_prompt: str | None = None) -> int:
    """Stream examples to a JSON Lines file, published atomically (temporary file,
    fsync, rename): an interrupted write leaves no partial file. Returns the count."""
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    count = 0
    with atomic_output(path) as out:
        for example in examples:
            out.write(json.dumps(to_record(example, fmt, system_prompt=system_prompt), ensure_ascii=False))
            out.write("\n")
            count += 1
    return count


def to_dataset(examples: Iterable[RaftExample], fmt: Format, *, system_prompt: str | None = None) -> Any:
    """A Hugging Face ``datasets.Dataset`` of the examples in format ``fmt``
    (needs ``pip install 'ragtune[raft]'``)."""
    try:
        import datasets
    except ImportError as error:  # pragma: no cover - exercised only without the extra
        raise ImportError("to_dataset needs the datasets package: pip install 'ragtune[raft]'") from error
    return datasets.Dataset.from_list([to_record(e, fmt, system_prompt=system_prompt) for e in examples])


def write_parquet(examples: Iterable[RaftExample], path: str | os.PathLike[str], fmt: Format, *,
                  system_prompt: str | None = None, batch_rows: int = 10_000) -> int:
    """Stream examples into a Parquet file (pyarrow, one row group per ``batch_rows``),
    published atomically like :func:`write_jsonl`. Returns the count."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError as error:  # pragma: no cover - exercised only without the extra
        raise ImportError("write_parquet needs pyarrow: pip install 'ragtune[raft]'") from error
    if fmt not in FORMATS:
        raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=target.name + ".", suffix=".tmp", dir=target.parent)
    os.close(fd)
    count = 0
    writer = None

    def flush(batch: list[dict[str, Any]]) -> None:
        nonlocal writer, count
        table = pa.Table.from_pylist(batch, schema=writer.schema if writer is not None else None)
        writer = writer or pq.ParquetWriter(temporary, table.schema)
        writer.write_table(table)
        count += len(batch)

    try:
        batch: list[dict[str, Any]] = []
        for example in examples:
            batch.append(to_record(example, fmt, system_prompt=system_prompt))
            if len(batch) == batch_rows:
                flush(batch)
                batch = []
        if batch or writer is None:
            flush(batch)
        assert writer is not None
        writer.close()
        fsync_path(temporary)
        os.replace(temporary, target)
    except BaseException:
        if writer is not None:
            writer.close()
        Path(temporary).unlink(missing_ok=True)
        raise
    return count
