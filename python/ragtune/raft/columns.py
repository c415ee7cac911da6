"""RAFT examples kept as columns: what :func:`~ragtune.raft.assemble` returns and what
the writers encode, with no Python object per example.

An example's documents are indices into a pool of texts (the chunk corpus, plus the
texts a token budget cut), so a million examples over 30,000 chunks hold 30,000
strings, not five million, and the C++ writer escapes each chunk once.
:class:`~ragtune.raft.RaftExample` objects are built only when asked for
(:class:`RaftExamples` indexing and iteration).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any, overload

import numpy as np

from .. import _core
from .formats import RaftExample


@dataclass(eq=False)
class RaftColumns:
    """Examples as columns: row ``i`` shows ``texts[documents[document_offsets[i]:
    document_offsets[i + 1]]]`` (titled by the same positions in ``titles``), of which
    ``oracle_positions[oracle_offsets[i]:oracle_offsets[i + 1]]`` are oracles.

    Examples
    --------
    >>> ex = RaftExample("q0", "Why?", ["Because.", "Other."], ["a", "b"], [0], "<ANSWER>: so")
    >>> columns = RaftColumns.from_examples([ex, ex])
    >>> len(columns), len(columns.texts), columns.example(1) == ex
    (2, 2, True)
    """

    texts: list[str]
    titles: list[str]
    ids: list[str]
    types: list[str]
    questions: list[str]
    cot_answers: list[str]
    document_offsets: np.ndarray
    documents: np.ndarray
    oracle_offsets: np.ndarray
    oracle_positions: np.ndarray
    metadata: list[dict[str, Any]]

    def __len__(self) -> int:
        return len(self.ids)

    def __repr__(self) -> str:
        return f"RaftColumns({len(self)} examples over {len(self.texts)} texts)"

    def example(self, row: int) -> RaftExample:
        """Row ``row`` as a :class:`RaftExample` (a new object each call)."""
        shown = self.documents[self.document_offsets[row]:self.document_offsets[row + 1]].tolist()
        positions = self.oracle_positions[self.oracle_offsets[row]:self.oracle_offsets[row + 1]].tolist()
        return RaftExample(self.ids[row], self.questions[row], [self.texts[d] for d in shown],
                           [self.titles[d] for d in shown], positions, self.cot_answers[row], self.types[row],
                           self.metadata[row])

    def records(self) -> Any:
        """A C++ encoder over the columns as they are now: it checks them and keeps its
        own copy of the index arrays and references to the strings, so a write is
        consistent even if the columns change while it runs. Build one per write."""
        return _core.RaftRecords(self.texts, self.titles, self.ids, self.types, self.questions, self.cot_answers,
                                 self.document_offsets, self.documents, self.oracle_offsets, self.oracle_positions)

    @classmethod
    def from_examples(cls, examples: Iterable[RaftExample]) -> RaftColumns:
        """Columns holding ``examples``; a text shown with the same title in several
        examples is pooled once."""
        pool: dict[tuple[str, str], int] = {}
        ids, types, questions, answers, metadata = [], [], [], [], []
        document_offsets, documents, oracle_offsets, oracle_positions = [0], [], [0], []
        for n, example in enumerate(examples):
            if not isinstance(example, RaftExample):
                raise TypeError(f"examples[{n}] must be a RaftExample, got {type(example).__name__}")
            if len(example.titles) != len(example.documents):
                raise ValueError(f"example {example.id!r} has {len(example.documents)} documents but "
                                 f"{len(example.titles)} titles")
            for text, title in zip(example.documents, example.titles):
                documents.append(pool.setdefault((text, title), len(pool)))
            document_offsets.append(len(documents))
            oracle_positions.extend(example.oracle_positions)
            oracle_offsets.append(len(oracle_positions))
            ids.append(example.id)
            types.append(example.type)
            questions.append(example.question)
            answers.append(example.cot_answer)
            metadata.append(example.metadata)
        return cls([text for text, _ in pool], [title for _, title in pool], ids, types, questions, answers,
                   _int64(document_offsets), _int64(documents), _int64(oracle_offsets), _int64(oracle_positions),
                   metadata)

    @classmethod
    def concat(cls, parts: Sequence[RaftColumns]) -> RaftColumns:
        """The rows of ``parts`` one after another (their pools appended)."""
        if not parts:
            return cls.from_examples([])
        texts, titles, documents, doc_offsets, positions, oracle_offsets = [], [], [], [np.zeros(1, np.int64)], [], \
            [np.zeros(1, np.int64)]
        for part in parts:
            documents.append(part.documents + len(texts))
            doc_offsets.append(part.document_offsets[1:] + doc_offsets[-1][-1])
            positions.append(part.oracle_positions)
            oracle_offsets.append(part.oracle_offsets[1:] + oracle_offsets[-1][-1])
            texts += part.texts
            titles += part.titles
        return cls(texts, titles, [i for p in parts for i in p.ids], [t for p in parts for t in p.types],
                   [q for p in parts for q in p.questions], [a for p in parts for a in p.cot_answers],
                   np.concatenate(doc_offsets), np.concatenate(documents), np.concatenate(oracle_offsets),
                   np.concatenate(positions), [m for p in parts for m in p.metadata])


def _int64(values: list[int]) -> np.ndarray:
    return np.asarray(values, dtype=np.int64)


class RaftExamples(Sequence[RaftExample]):
    """A read-only sequence of :class:`RaftExample` over :class:`RaftColumns`: each
    example is built anew when indexed or iterated, so changing one changes nothing
    in the dataset. To edit, take ``examples = list(data.examples)``, change them, and
    write that list (the writers take any examples) or assign it back with
    ``data.examples = examples``.

    Examples
    --------
    >>> ex = RaftExample("q0", "Why?", ["Because."], ["a"], [0], "<ANSWER>: so")
    >>> examples = RaftExamples(RaftColumns.from_examples([ex]))
    >>> examples
    RaftExamples(1 examples over 1 texts)
    >>> examples[0].question, examples[-1] == ex
    ('Why?', True)
    """

    def __init__(self, columns: RaftColumns) -> None:
        self.columns = columns

    def __len__(self) -> int:
        return len(self.columns)

    @overload
    def __getitem__(self, item: int) -> RaftExample: ...

    @overload
    def __getitem__(self, item: slice) -> list[RaftExample]: ...

    def __getitem__(self, item: int | slice) -> RaftExample | list[RaftExample]:
        if isinstance(item, slice):
            return [self.columns.example(row) for row in range(*item.indices(len(self)))]
        if not isinstance(item, (int, np.integer)) or isinstance(item, bool):
            raise TypeError(f"examples are indexed by int or slice, got {type(item).__name__}")
        row = int(item) + len(self) if item < 0 else int(item)
        if not 0 <= row < len(self):
            raise IndexError(f"example {item} is out of range for {len(self)} examples")
        return self.columns.example(row)

    def __iter__(self) -> Iterator[RaftExample]:
        for row in range(len(self)):
            yield self.columns.example(row)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, RaftExamples):
            other = list(other)
        return isinstance(other, (list, tuple)) and len(other) == len(self) and all(
            a == b for a, b in zip(self, other))

    __hash__ = None  # type: ignore[assignment]  # equal to lists, so not hashable

    def __repr__(self) -> str:
        return f"RaftExamples({len(self)} examples over {len(self.columns.texts)} texts)"
