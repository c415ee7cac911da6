"""Question–answer pairs and the qrels they imply over a set of chunks.

The relevance rule (one rule everywhere: evaluation, sweeps, RAFT oracles):

*A chunk is relevant to a question when it holds the answer's key span* — the
answer's first ``answer_prefix`` characters (300 by default: the part that
answers; long answers go on with examples). "Holds" means the chunk and the key
span overlap by at least ``min_overlap`` (default one half) of the shorter of the
two, so a large chunk must contain half the key span and a small chunk must lie
mostly inside it. Located answers (``source`` plus offsets, as from
:func:`~ragtune.datasets.parse_faq`) compare offsets within the same source; answers
given only as text are first located in the documents (:func:`locate_answers`), or
failing that matched by containment of the key text (whitespace-normalised).
Relevant chunks get grade 1.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any

from .._inputs import as_text
from ..chunking import Chunk
from ..chunking.chunk import chunk_id
from ..index.hit import Hit

_SPACE = re.compile(r"\s+")


@dataclass(frozen=True, slots=True)
class QAPair:
    """A question and its answer, optionally located in a document.

    ``start``/``end`` are code-point offsets of the answer in the document ``source``.

    Examples
    --------
    >>> QAPair("Why?", "Because.", source="faq.md", start=10, end=18).located
    True
    """

    question: str
    answer: str
    source: str | None = None
    start: int | None = None
    end: int | None = None
    id: str | None = None

    def __post_init__(self) -> None:
        # frozen: decoded UTF-8 bytes are stored as str through object.__setattr__
        object.__setattr__(self, "question", as_text(self.question, what="question"))
        object.__setattr__(self, "answer", as_text(self.answer, what="answer"))
        if not self.question.strip():
            raise ValueError("a QAPair needs a non-empty question")
        if (self.start is None) != (self.end is None):
            raise ValueError(f"give both start and end of the answer, or neither (question {self.question!r})")
        if self.start is not None:
            if self.source is None:
                raise ValueError(f"an answer with offsets needs its source (question {self.question!r})")
            if not (isinstance(self.start, int) and isinstance(self.end, int) and 0 <= self.start < self.end):
                raise ValueError(f"answer offsets must satisfy 0 <= start < end, got {self.start}, {self.end}")

    @property
    def located(self) -> bool:
        """True when the answer's offsets in its source are known."""
        return self.start is not None

    @classmethod
    def from_faq(cls, item: Any) -> QAPair:
        """From a :class:`~ragtune.datasets.FAQItem` (located)."""
        return cls(item.question, item.answer, source=item.source, start=item.answer_start, end=item.answer_end)


def pairs_from_faq(items: Iterable[Any]) -> list[QAPair]:
    """:class:`QAPair` objects from FAQ items, with ids ``source#n``.

    Examples
    --------
    >>> from ragtune.datasets import parse_faq
    >>> doc = "Why?\\n----\\n\\nBecause.\\n"
    >>> pairs_from_faq(parse_faq(doc, source="faq.rst"))[0]
    QAPair(question='Why?', answer='Because.', source='faq.rst', start=11, end=19, id='faq.rst#0')
    """
    pairs = []
    counts: dict[str | None, int] = {}
    for item in items:
        n = counts.get(item.source, 0)
        counts[item.source] = n + 1
        pairs.append(replace(QAPair.from_faq(item), id=f"{item.source}#{n}"))
    return pairs


def _normalised(text: str) -> str:
    return _SPACE.sub(" ", text).strip()


def locate_answers(pairs: Sequence[QAPair], documents: Mapping[str, str]) -> list[QAPair]:
    """Pairs whose answers are found verbatim in ``documents`` get ``source``/offsets.

    The answer's first occurrence wins (searching the pair's own ``source`` first when
    it has one). Pairs that cannot be found are returned unchanged.

    Examples
    --------
    >>> located = locate_answers([QAPair("Colour?", "Blue.")], {"a.txt": "The sky. Blue."})
    >>> located[0].source, located[0].start, located[0].end
    ('a.txt', 9, 14)
    """
    out = []
    for pair in pairs:
        if pair.located:
            out.append(pair)
            continue
        order = ([pair.source] if pair.source in documents else []) + [s for s in documents if s != pair.source]
        for source in order:
            at = documents[source].find(pair.answer)
            if at >= 0:
                out.append(replace(pair, source=source, start=at, end=at + len(pair.answer)))
                break
        else:
            out.append(pair)
    return out


def pair_id(pair: QAPair, position: int) -> str:
    """The query id of a pair: its ``id``, else ``q<position>``."""
    return pair.id if pair.id is not None else f"q{position}"


def _chunk_id(chunk: Chunk | Hit) -> str:
    """``source#index`` for a Chunk (as Index.add names it); a stored Hit's own id."""
    if isinstance(chunk, Hit):
        return chunk.id
    return chunk_id(chunk)


def relevant_chunks(pair: QAPair, chunks: Sequence[Chunk | Hit], *, answer_prefix: int = 300,
                    min_overlap: float = 0.5) -> list[Chunk | Hit]:
    """The chunks that hold the answer's key span (the rule in the module docstring).

    Examples
    --------
    >>> from ragtune import RecursiveChunker
    >>> text = "Tea is brewed.\\n\\nCoffee is roasted."
    >>> chunks = RecursiveChunker(chunk_size=20, chunk_overlap=0).split(text, source="d")
    >>> pair = QAPair("What is roasted?", "Coffee is roasted.", source="d", start=16, end=34)
    >>> [c.text for c in relevant_chunks(pair, chunks)]
    ['Coffee is roasted.']
    """
    if answer_prefix < 1:
        raise ValueError(f"answer_prefix must be at least 1, got {answer_prefix}")
    if not 0 < min_overlap <= 1:
        raise ValueError(f"min_overlap must be in (0, 1], got {min_overlap}")
    if pair.located:
        key_start = pair.start
        key_end = min(pair.end, key_start + answer_prefix)  # type: ignore[type-var]
        found = []
        for chunk in chunks:
            if chunk.source != pair.source:
                continue
            overlap = min(chunk.end, key_end) - max(chunk.start, key_start)  # type: ignore[type-var]
            shorter = min(key_end - key_start, chunk.end - chunk.start)  # type: ignore[operator]
            if overlap > 0 and overlap >= min_overlap * shorter:
                found.append(chunk)
        return found
    key = _normalised(pair.answer[:answer_prefix])
    if not key:
        return []
    return [chunk for chunk in chunks if key in _normalised(chunk.text)]


def build_qrels(pairs: Sequence[QAPair], chunks: Sequence[Chunk | Hit], *, answer_prefix: int = 300,
                min_overlap: float = 0.5, documents: Mapping[str, str] | None = None) -> dict[str, dict[str, int]]:
    """Qrels ``{query_id: {chunk_id: 1}}`` for question–answer pairs over chunks.

    Chunk ids are ``source#index``, the ids :meth:`ragtune.Index.add` gives chunks; the
    documents of a saved index can be judged too: ``build_qrels(pairs, index.get(index.ids()))``.
    Query ids are the pairs' ``id`` or ``q<position>``. ``documents`` (full texts by
    source) lets answers given as text be located first. Questions with no relevant
    chunk are left out, with a warning naming how many.

    Examples
    --------
    >>> from ragtune import RecursiveChunker
    >>> chunks = RecursiveChunker(chunk_size=20, chunk_overlap=0).split("Tea is brewed. Coffee is roasted.", source="d")
    >>> build_qrels([QAPair("What is roasted?", "Coffee is roasted.")], chunks)
    {'q0': {'d#1': 1}}
    """
    pairs = list(pairs)
    chunks = list(chunks)
    if not pairs:
        raise ValueError("no question–answer pairs to build qrels from")
    if not chunks:
        raise ValueError("no chunks to judge")
    for n, pair in enumerate(pairs):
        if not isinstance(pair, QAPair):
            raise TypeError(f"pairs[{n}] must be a QAPair, got {type(pair).__name__}")
    for n, chunk in enumerate(chunks):
        if not isinstance(chunk, (Chunk, Hit)):
            raise TypeError(f"chunks[{n}] must be a ragtune Chunk (or a Hit from Index.get), "
                            f"got {type(chunk).__name__}")
        if chunk.source is not None and chunk.start is None and any(p.located for p in pairs):
            raise ValueError(f"chunks[{n}] has no offsets, so located answers cannot be matched to it")
    if documents is not None:
        pairs = locate_answers(pairs, documents)
    by_source: dict[str | None, list[Chunk | Hit]] = {}
    for chunk in chunks:
        by_source.setdefault(chunk.source, []).append(chunk)
    qrels: dict[str, dict[str, int]] = {}
    unmatched = []
    for n, pair in enumerate(pairs):
        query = pair_id(pair, n)
        if query in qrels:
            raise ValueError(f"two pairs share the id {query!r}; ids must be unique")
        pool = by_source.get(pair.source, []) if pair.located else chunks
        found = relevant_chunks(pair, pool, answer_prefix=answer_prefix, min_overlap=min_overlap)
        if found:
            qrels[query] = {_chunk_id(c): 1 for c in found}
        else:
            unmatched.append(query)
    if not qrels:
        raise ValueError(f"none of the {len(pairs)} answers is held by any chunk: check that the chunks come from "
                         "the documents the answers are in (sources must match), or pass documents=")
    if unmatched:
        warnings.warn(f"{len(unmatched)} of {len(pairs)} questions have no chunk holding their answer and are left "
                      f"out of the qrels (first: {unmatched[0]!r})", stacklevel=2)
    return qrels
