"""Evaluate any retriever — a ragtune Index, a RagtuneRetriever, any LangChain
retriever or a plain function — on question–answer pairs and their qrels."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from ..chunking import Chunk
from ..chunking.chunk import chunk_id
from ..index import Hit, Index
from .metrics import DEFAULT_K, RetrievalScores, _cutoffs, retrieval_metrics
from ..qa import QAPair, pair_id
from .qrels import build_qrels

Mode = Literal["dense", "bm25", "hybrid"]


@dataclass(slots=True)
class RetrievalEvaluation:
    """What :func:`evaluate_retriever` measured.

    Attributes
    ----------
    scores : RetrievalScores
        Means (``evaluation.scores["recall@5"]``) and per-query values.
    run : dict
        ``{query_id: [doc_id, ...]}`` as retrieved, best first.
    qrels : dict
        The judgements used.
    seconds : float
        Wall time of retrieval alone.
    short_results : int
        Queries that got fewer than the largest k documents back.
    """

    scores: RetrievalScores
    run: dict[str, list[str]] = field(repr=False)
    qrels: dict[str, dict[str, int]] = field(repr=False)
    seconds: float = 0.0
    short_results: int = 0

    @property
    def queries_per_second(self) -> float:
        return len(self.run) / self.seconds if self.seconds > 0 else float("inf")

    def __getitem__(self, name: str) -> float:
        return self.scores[name]

    def __repr__(self) -> str:
        return (f"RetrievalEvaluation({self.scores!r}, {self.queries_per_second:,.0f} queries/s"
                + (f", {self.short_results} short result lists" if self.short_results else "") + ")")


def _questions(pairs: Any) -> dict[str, str]:
    if isinstance(pairs, Mapping):
        questions = dict(pairs)
    else:
        questions = {}
        for n, pair in enumerate(pairs):
            if isinstance(pair, QAPair):
                questions[pair_id(pair, n)] = pair.question
            elif isinstance(pair, str):
                questions[f"q{n}"] = pair
            else:
                raise TypeError(f"pairs[{n}] must be a QAPair or a question str, got {type(pair).__name__}")
    for query, question in questions.items():
        if not isinstance(question, str) or not question.strip():
            raise ValueError(f"question {query!r} must be a non-empty str, got {question!r}")
    if not questions:
        raise ValueError("no questions to evaluate")
    return questions


class _DocumentIds:
    """Maps whatever a retriever returns (Hit, LangChain Document, id str) to chunk ids.

    With the indexed chunks known, a Document is recognised as a chunk by its id, its
    (source, start_index) or its text, in that order — stores such as LangChain's
    InMemoryVectorStore give documents ids of their own (UUIDs). Otherwise its own id
    is used, so qrels may name any ids the retriever returns.
    """

    def __init__(self, chunks: Sequence[Chunk] | None) -> None:
        self.ids: set[str] = set()
        self.by_span: dict[tuple[str | None, int], str] = {}
        self.by_text: dict[str, str] = {}
        for chunk in chunks or ():
            id_ = chunk_id(chunk)
            self.ids.add(id_)
            self.by_span[(chunk.source, chunk.start)] = id_
            self.by_text.setdefault(chunk.text, id_)

    def __call__(self, item: Any) -> str:
        if isinstance(item, str):
            return item
        if isinstance(item, Hit):
            return item.id
        metadata = getattr(item, "metadata", None) or {}
        own = [i for i in (getattr(item, "id", None), metadata.get("id")) if isinstance(i, str) and i]
        if self.ids:
            for candidate in own:
                if candidate in self.ids:
                    return candidate
            start = metadata.get("start_index", metadata.get("start"))
            if (metadata.get("source"), start) in self.by_span:
                return self.by_span[(metadata.get("source"), start)]
            text = getattr(item, "page_content", None)
            if text in self.by_text:
                return self.by_text[text]
        if own:
            return own[0]
        raise ValueError("a retrieved document has no id, and neither its (source, start_index) nor its text "
                         "matches a chunk: give Documents ids, or pass chunks= (the chunks that were indexed)")


def _retrieve(retriever: Any, questions: list[str], depth: int, mode: Mode | None,
              to_id: _DocumentIds) -> list[list[str]]:
    if isinstance(retriever, Index):
        hits = retriever.search_many(questions, k=depth, mode=mode or "hybrid")
        return [[h.id for h in found] for found in hits]
    try:
        from ..integrations.langchain import RagtuneRetriever
    except ImportError:  # LangChain is an extra
        RagtuneRetriever = None  # type: ignore[assignment,misc]
    if RagtuneRetriever is not None and isinstance(retriever, RagtuneRetriever):
        hits = retriever.index.search_many(questions, k=depth, mode=mode or retriever.mode, filter=retriever.filter,
                                           fetch_k=retriever.fetch_k, weights=retriever.weights)
        return [[h.id for h in found] for found in hits]
    if mode is not None:
        raise ValueError("mode= applies to a ragtune Index or RagtuneRetriever; configure other retrievers directly")
    if hasattr(retriever, "batch") and hasattr(retriever, "invoke"):
        documents = retriever.batch(questions)
    elif callable(retriever):
        documents = [retriever(question) for question in questions]
    else:
        raise TypeError(f"retriever must be a ragtune Index, a LangChain retriever or a function question -> "
                        f"documents, got {type(retriever).__name__}")
    run = []
    for found in documents:
        ids = list(dict.fromkeys(to_id(item) for item in found))  # a document counts once, at its best rank
        run.append(ids[:depth])
    return run


def evaluate_retriever(
    retriever: Index | Any | Callable[[str], Sequence[Any]],
    pairs: Sequence[QAPair] | Sequence[str] | Mapping[str, str],
    qrels: Mapping[str, Mapping[str, int]] | None = None,
    *,
    chunks: Sequence[Chunk] | None = None,
    k: int | Sequence[int] = DEFAULT_K,
    mode: Mode | None = None,
    answer_prefix: int = 300,
    min_overlap: float = 0.5,
) -> RetrievalEvaluation:
    """Retrieve for every question and score the run against qrels.

    Parameters
    ----------
    retriever : a ragtune :class:`~ragtune.Index` (searched in one batch), a
        ``RagtuneRetriever`` (its mode/filter, with k raised to the largest cut-off),
        any LangChain retriever (``batch``; returns its own k), or a function
        ``question -> list`` of ids, Hits or Documents.
    pairs : :class:`QAPair` objects (ids from ``pair.id`` or ``q<n>``), question strs
        (ids ``q<n>``) or ``{query_id: question}``.
    qrels : ``{query_id: {doc_id: grade}}``; default: built from ``pairs`` and ``chunks``
        with :func:`~ragtune.evaluate.build_qrels` (same ``answer_prefix``, ``min_overlap``).
    chunks : the indexed chunks (to build qrels, and to recognise LangChain Documents
        that carry no id by their source and ``start_index`` or their text).
    mode : for a ragtune Index: "dense", "bm25" or "hybrid" (default hybrid).

    Examples
    --------
    >>> from ragtune import Index, RecursiveChunker
    >>> from ragtune.embeddings import HashingEmbeddings
    >>> chunks = RecursiveChunker(chunk_size=40, chunk_overlap=0).split(
    ...     "Tea is brewed from leaves.\\n\\nCoffee is roasted from beans.", source="drinks.txt")
    >>> index = Index(embedding=HashingEmbeddings(dim=64))
    >>> _ = index.add(chunks)
    >>> pairs = [QAPair("How is coffee made?", "Coffee is roasted from beans.")]
    >>> result = evaluate_retriever(index, pairs, chunks=chunks, k=[1, 2], mode="bm25")
    >>> result["recall@1"], result.run
    (1.0, {'q0': ['drinks.txt#1', 'drinks.txt#0']})
    """
    questions = _questions(pairs)
    cutoffs = _cutoffs(k)
    if qrels is None:
        if chunks is None or isinstance(pairs, Mapping) or not all(isinstance(p, QAPair) for p in pairs):
            raise ValueError("give qrels=, or QAPair pairs with chunks= to build them from")
        qrels = build_qrels(pairs, chunks, answer_prefix=answer_prefix, min_overlap=min_overlap)  # type: ignore[arg-type]
    judged = {q: questions[q] for q in qrels if q in questions}
    if not judged:
        raise ValueError("no question id appears in the qrels: ids must match (QAPair.id or q<position>)")
    unknown = [q for q in qrels if q not in questions]
    if unknown:
        raise KeyError(f"qrels name {len(unknown)} queries with no question (first: {unknown[0]!r})")
    started = time.perf_counter()
    retrieved = _retrieve(retriever, list(judged.values()), cutoffs[-1], mode, _DocumentIds(chunks))
    seconds = time.perf_counter() - started
    run = dict(zip(judged, retrieved))
    scores = retrieval_metrics(run, qrels, k=cutoffs)
    short = sum(1 for ids in run.values() if len(ids) < cutoffs[-1])
    return RetrievalEvaluation(scores=scores, run=run, qrels={q: dict(v) for q, v in qrels.items()},
                               seconds=seconds, short_results=short)
