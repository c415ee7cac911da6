"""RAFT assembly on Ray: questions checked and sampled per partition, with the same
examples :func:`ragtune.raft.assemble` gives on one machine (each question's random
stream and oracle decision are those of its position in the whole set)."""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pyarrow as pa
import ray

from ..._inputs import as_int
from ...qa import QAPair
from ...raft.assemble import (
    Prepared,
    RaftCorpus,
    RaftDataset,
    RaftReport,
    prepare,
    sample,
    token_budget,
)
from ...raft.formats import RaftExample
from .order import ordered
from .shards import _rows

_PAIR_FIELDS = ("id", "question", "answer", "source", "start", "end", "oracle_ids", "cot_answer", "question_start")


def _pairs(part: Any) -> list[QAPair]:
    out = []
    for batch in part.iter_batches(batch_size=4096, batch_format="pyarrow"):
        names = [n for n in _PAIR_FIELDS if n in batch.column_names]
        columns = {n: batch.column(n).to_pylist() for n in names}
        for row in range(batch.num_rows):
            out.append(QAPair.from_dict({n: columns[n][row] for n in names if columns[n][row] is not None}))
    return out


@ray.remote(num_returns=2)
def _prepare_part(part: Any, corpus: RaftCorpus, first_number: int, options: dict[str, Any]) -> tuple[Any, Any]:
    accepted, report = prepare(corpus, _pairs(part), first_number=first_number, threads=1, **options)
    return accepted, report


def _load_index(index: Any) -> Any:
    if index is None or not isinstance(index, (str, os.PathLike)):
        return index
    from ...index import Index, ShardedIndex
    from ...index.sharded import MANIFEST

    # Mapped: the workers on one host share the index's pages instead of each reading a copy.
    if os.path.exists(os.path.join(index, MANIFEST)):
        return ShardedIndex.load(index, mmap=True)
    return Index.load(index, mmap=True)


@ray.remote(num_returns=2)
def _sample_part(accepted: list[Prepared], corpus: RaftCorpus, first_position: int, total: int,
                 options: dict[str, Any]) -> tuple[pa.Table, RaftReport]:
    report = RaftReport()
    options = dict(options)
    options["index"] = _load_index(options.get("index"))
    columns = sample(corpus, accepted, report, first_position=first_position, total=total, threads=1, **options)
    texts, titles = pa.array(columns.texts, pa.large_string()), pa.array(columns.titles, pa.large_string())
    shown = pa.array(columns.documents)
    document_offsets = pa.array(columns.document_offsets.astype(np.int32))
    table = pa.table({
        "id": pa.array(columns.ids, pa.string()),
        "question": pa.array(columns.questions, pa.string()),
        "documents": pa.ListArray.from_arrays(document_offsets, texts.take(shown).cast(pa.string())),
        "titles": pa.ListArray.from_arrays(document_offsets, titles.take(shown).cast(pa.string())),
        "oracle_positions": pa.ListArray.from_arrays(pa.array(columns.oracle_offsets.astype(np.int32)),
                                                     pa.array(columns.oracle_positions)),
        "cot_answer": pa.array(columns.cot_answers, pa.string()),
        "type": pa.array(columns.types, pa.string()),
        "metadata": pa.array([json.dumps(m, ensure_ascii=False) for m in columns.metadata], pa.string()),
    })
    return table, report


@dataclass
class DistributedRaft:
    """What :func:`raft` gives: the examples as a Ray Dataset (one row per example, a
    :class:`~ragtune.raft.RaftExample`'s fields, metadata as JSON) and the report."""

    examples: Any
    report: RaftReport

    def to_raft_dataset(self) -> RaftDataset:
        """The examples gathered here as a :class:`~ragtune.raft.RaftDataset` (for
        ``write_jsonl`` / ``write_parquet``, which give the files one machine would)."""
        examples = [RaftExample(r["id"], r["question"], list(r["documents"]), list(r["titles"]),
                                [int(p) for p in r["oracle_positions"]], r["cot_answer"], r["type"],
                                json.loads(r["metadata"]))
                    for r in self.examples.take_all()]
        return RaftDataset(examples, self.report)

    def __repr__(self) -> str:
        r = self.report
        return (f"DistributedRaft({r.examples} examples from {r.items} questions, oracle kept in {r.kept_oracle}, "
                f"{r.hard_distractors} hard + {r.random_distractors} random distractors)")


def raft(questions: Any, chunks: Any, *, documents: Mapping[str, str] | Any = None, parts: int | None = None,
         distractors: int = 4, p: float = 0.8, strategy: str = "random", index: Any = None, mode: str = "hybrid",
         candidates: int = 20, hard_fraction: float = 0.5, seed: int = 0, near_duplicate_jaccard: float = 0.8,
         verify_quotes: str = "drop", normalise_whitespace: bool = False, max_tokens: int | None = None,
         tokenizer: Any = None) -> DistributedRaft:
    """RAFT examples from a Dataset of questions (:func:`generate_qa`'s rows, or any rows
    with a :class:`~ragtune.qa.QAPair`'s fields) over a Dataset of chunks (:func:`chunk`'s
    rows), assembled in ``parts`` Ray tasks with :func:`ragtune.raft.assemble`'s
    guarantees: the examples equal the single-process ones for the same questions in the
    same order, whatever the number of parts (tested).

    The corpus (every chunk's text and the sampler's arrays) is built once and shared by
    all tasks through the object store. ``index`` (hard and mixed strategies) is the
    folder of a saved Index or sharded index that every worker can open. ``documents``
    gives section titles: ``{source: text}`` or a Dataset from :func:`read_documents`.
    Other arguments are :func:`ragtune.raft.assemble`'s.

    Examples
    --------
    >>> result = raft(generate_qa(chunks, llm), chunks, distractors=4, p=0.8)   # doctest: +SKIP
    >>> write_jsonl(result.to_raft_dataset().examples, "train.jsonl", "chat")   # doctest: +SKIP
    """
    if verify_quotes not in ("drop", "flag", "off"):
        raise ValueError(f"verify_quotes must be 'drop', 'flag' or 'off', got {verify_quotes!r}")
    if parts is not None and (isinstance(parts, bool) or not isinstance(parts, int) or parts < 1):
        raise ValueError(f"parts must be a positive int, got {parts!r}")
    distractors = as_int(distractors, name="distractors", minimum=0, maximum=1000)
    candidates = as_int(candidates, name="candidates", minimum=1, maximum=10000)
    if index is not None and not isinstance(index, (str, os.PathLike)):
        raise TypeError("index must be the folder of a saved Index or sharded index that every worker can open "
                        f"(an index object cannot be sent to Ray tasks), got {type(index).__name__}")
    if index is not None:
        index = os.fspath(index)
    rows = []
    for batch in ordered(chunks).iter_batches(batch_size=4096, batch_format="pyarrow"):
        items, _, metadata = _rows(batch)
        for item, meta in zip(items, metadata):
            item.metadata = meta
        rows.extend(items)
    if documents is not None and not isinstance(documents, Mapping):
        documents = {r["source"]: r["text"] for r in documents.take_all()}
    corpus = ray.put(RaftCorpus.build(rows, documents=documents))
    budget = token_budget(max_tokens, tokenizer)
    pairs = ordered(questions)
    total_pairs = pairs.count()
    if total_pairs == 0:
        raise ValueError("no questions to assemble")
    count = min(parts or max(1, int(ray.cluster_resources().get("CPU", 1))), total_pairs)
    bounds = [total_pairs * n // count for n in range(1, count)]
    pieces = pairs.split_at_indices(bounds) if bounds else [pairs]
    starts = [0, *bounds]
    check = {"verify_quotes": verify_quotes, "normalise_whitespace": normalise_whitespace, "budget": budget}
    prepared = [_prepare_part.remote(piece, corpus, start, check) for piece, start in zip(pieces, starts)]
    reports = ray.get([r for _, r in prepared])
    report = sum(reports[1:], reports[0])
    if report.unmatched == total_pairs:
        raise ValueError(f"none of the {total_pairs} answers is held by any chunk: check that the chunks come from "
                         "the documents the answers are in (sources must match), or name oracle_ids")
    accepted_counts = [r.items - r.unmatched - r.dropped_for_quotes - r.dropped_for_budget for r in reports]
    total = sum(accepted_counts)
    draw = {"distractors": distractors, "p": p, "strategy": strategy, "index": index, "mode": mode,
            "candidates": candidates, "hard_fraction": hard_fraction, "seed": seed,
            "near_duplicate_jaccard": near_duplicate_jaccard, "budget": budget}
    first, sampled = 0, []
    for (accepted, _), n in zip(prepared, accepted_counts):
        sampled.append(_sample_part.remote(accepted, corpus, first, total, draw))
        first += n
    tables = [t for t, _ in sampled]
    for part_report in ray.get([r for _, r in sampled]):
        report = report + part_report
    return DistributedRaft(ray.data.from_arrow_refs(tables), report)

