"""RAFT question generation on a Ray Dataset of chunks: an actor pool of LLM clients,
each chunk's questions checkpointed so a rerun asks the LLM only about what is missing."""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from typing import Any

import pyarrow as pa
import ray

from ...raft.generate import _Checkpoint, generate_into, pairs_from_entries
from .shards import _rows

#: The columns of a question row: a QAPair's fields (QAPair.from_dict reads a row back).
QA_COLUMNS = ("id", "question", "answer", "source", "oracle_ids", "cot_answer", "doc", "index")


class _QuestionActor:
    """One LLM client per actor; one checkpoint file per actor in the shared folder."""

    def __init__(self, llm: Any, options: dict[str, Any], checkpoint: str | None) -> None:
        self.llm = llm() if options.pop("factory") else llm
        self.options = options
        folder = Path(checkpoint) if checkpoint is not None else None
        # What earlier runs finished, read once: in this run each chunk is in one batch only,
        # so what other actors finish now never comes back here.
        self.earlier: dict[str, list[dict[str, Any]]] = {}
        for path in sorted(folder.glob("*.jsonl")) if folder is not None else []:
            self.earlier.update(_Checkpoint(path, read_only=True).done)
        self.state = _Checkpoint(folder / f"{uuid.uuid4().hex}.jsonl" if folder is not None else None)

    def __call__(self, batch: pa.Table) -> pa.Table:
        chunks, ids, _ = _rows(batch)
        docs = batch.column("doc").to_pylist() if "doc" in batch.column_names else [None] * len(ids)
        pending = [c for c, id_ in zip(chunks, ids) if id_ not in self.earlier]
        if pending:
            generate_into(self.state, pending, self.llm, progress=False, **self.options)
        rows: dict[str, list[Any]] = {name: [] for name in QA_COLUMNS}
        for chunk, id_, doc in zip(chunks, ids, docs):
            entries = self.earlier[id_] if id_ in self.earlier else self.state.done.get(id_, [])
            for pair in pairs_from_entries(chunk, id_, entries):
                for name in ("id", "question", "answer", "source", "cot_answer"):
                    rows[name].append(getattr(pair, name))
                rows["oracle_ids"].append(list(pair.oracle_ids))
                rows["doc"].append(doc)
                rows["index"].append(getattr(chunk, "index", None))
        types = {"oracle_ids": pa.list_(pa.string()), "doc": pa.int64(), "index": pa.int64()}
        return pa.table({name: pa.array(values, types.get(name, pa.string())) for name, values in rows.items()})


def generate_qa(ds: Any, llm: Any, *, questions_per_chunk: int = 3, system_prompt: str | None = None,
                concurrency: int = 2, threads: int = 4, retries: int = 3, retry_wait: float = 1.0,
                checkpoint: str | os.PathLike[str] | None = None, batch_size: int = 16,
                llm_factory: bool = False) -> Any:
    """Questions and chain-of-thought answers for every chunk row (as :func:`chunk` gives
    them), by :func:`ragtune.raft.generate_qa` in a pool of ``concurrency`` Ray actors,
    each with its own LLM client and ``threads`` calls in flight.

    One row per question: a :class:`~ragtune.qa.QAPair`'s fields (``id`` is
    ``<chunk id>:q<k>``, ``oracle_ids`` the chunk), plus the chunk's ``doc`` and ``index``.
    The rows equal ``generate_qa`` on one machine with the same LLM.

    Parameters
    ----------
    llm : a callable ``prompt -> str`` or a LangChain chat model, sent to each actor; with
        ``llm_factory=True``, a zero-argument callable that builds the client in the actor
        (for clients that hold connections and cannot be pickled)
    checkpoint : a folder every actor can write (shared on a multi-node cluster): each
        finished chunk is appended to the actor's own file there, and a rerun (after a
        failure or a kill) skips every chunk any actor has finished

    Examples
    --------
    >>> questions = generate_qa(chunks, my_llm, checkpoint="qa-checkpoint")   # doctest: +SKIP
    """
    for name, value in (("questions_per_chunk", questions_per_chunk), ("concurrency", concurrency),
                        ("threads", threads), ("retries", retries), ("batch_size", batch_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive int, got {value!r}")
    if checkpoint is not None:
        Path(checkpoint).mkdir(parents=True, exist_ok=True)
    options = {"questions_per_chunk": questions_per_chunk, "system_prompt": system_prompt, "threads": threads,
               "retries": retries, "retry_wait": retry_wait, "factory": bool(llm_factory)}
    return ds.map_batches(
        _QuestionActor, fn_constructor_kwargs={"llm": llm, "options": options,
                                               "checkpoint": str(checkpoint) if checkpoint is not None else None},
        batch_size=batch_size, batch_format="pyarrow", compute=ray.data.ActorPoolStrategy(size=concurrency),
        num_cpus=1)
