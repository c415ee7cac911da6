"""The qrels question–answer pairs imply over a set of chunks, by ragtune's one
relevance rule (:mod:`ragtune.qa`): a pair's named oracle chunks, else the chunks that
hold the answer's key span. Relevant chunks get grade 1.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence

from ..chunking import Chunk
from ..index.hit import Hit
from ..qa import QAPair, item_id, locate_answers, pair_id, relevant_chunks

__all__ = ["QAPair", "build_qrels", "locate_answers", "pair_id", "pairs_from_faq", "relevant_chunks"]


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
        pool = by_source.get(pair.source, []) if pair.located and not pair.oracle_ids else chunks
        found = relevant_chunks(pair, pool, answer_prefix=answer_prefix, min_overlap=min_overlap)
        if found:
            qrels[query] = {item_id(c): 1 for c in found}
        else:
            unmatched.append(query)
    if not qrels:
        raise ValueError(f"none of the {len(pairs)} answers is held by any chunk: check that the chunks come from "
                         "the documents the answers are in (sources must match), or pass documents=")
    if unmatched:
        warnings.warn(f"{len(unmatched)} of {len(pairs)} questions have no chunk holding their answer and are left "
                      f"out of the qrels (first: {unmatched[0]!r})", stacklevel=2)
    return qrels


def pairs_from_faq(items: Iterable[QAPair]) -> list[QAPair]:
    """Deprecated: :func:`ragtune.datasets.parse_faq` returns located :class:`QAPair`
    objects with ids ``source#n`` itself; this returns them as a list."""
    warnings.warn("pairs_from_faq is no longer needed: parse_faq returns QAPair objects with ids; "
                  "use its result directly", DeprecationWarning, stacklevel=2)
    items = list(items)
    for n, item in enumerate(items):
        if not isinstance(item, QAPair):
            raise TypeError(f"items[{n}] must be a QAPair from parse_faq, got {type(item).__name__}")
    return items
