"""Sweeps: how chunk size, overlap, k and search mode change retrieval on your data."""

from __future__ import annotations

import time
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..chunking import RecursiveChunker
from ..embeddings.base import Embedder, resolve_embedding
from ..index import Index
from .metrics import METRICS, _cutoffs
from ..qa import QAPair
from .qrels import build_qrels
from .retriever import evaluate_retriever

MODES = ("dense", "bm25", "hybrid")


class _CachedEmbedder(Embedder):
    """Embeds each distinct text once across every configuration of a sweep."""

    def __init__(self, inner: Embedder) -> None:
        self.inner = inner
        self.cache: dict[str, np.ndarray] = {}
        self.dim = getattr(inner, "dim", 0)

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        new = [t for t in dict.fromkeys(texts) if t not in self.cache]
        if new:
            for text, vector in zip(new, self.inner.encode(new)):
                self.cache[text] = vector
        matrix = np.stack([self.cache[t] for t in texts]) if texts else np.zeros((0, self.dim), np.float32)
        self.dim = matrix.shape[1] if matrix.size else self.dim
        return matrix

    def encode_query(self, text: str) -> np.ndarray:
        return self.inner.encode_query(text)


@dataclass(slots=True)
class SweepResult:
    """Rows of a sweep, one per (chunk size, overlap, mode, k), with every metric.

    Each row: ``chunk_size``, ``chunk_overlap`` (characters), ``overlap`` (as asked:
    characters or a fraction), ``mode``, ``k``, ``chunks``, ``questions``, the five
    metrics, ``index_seconds`` and ``query_seconds``.

    ``rows`` is a list of dicts (``pandas.DataFrame(result.rows)`` works, as does
    :meth:`to_pandas`); :meth:`best` picks a winner; :meth:`plot` draws it.
    """

    rows: list[dict[str, Any]] = field(repr=False)
    questions: int = 0

    def to_pandas(self) -> Any:
        """The rows as a pandas DataFrame."""
        import pandas as pd

        return pd.DataFrame(self.rows)

    def best(self, metric: str = "recall", k: int | None = None) -> dict[str, Any]:
        """The row with the highest ``metric`` (at ``k``, default the largest k swept);
        ties go to fewer chunks (a cheaper index)."""
        if metric not in METRICS:
            raise ValueError(f"metric must be one of {', '.join(METRICS)}, got {metric!r}")
        k = k if k is not None else max(r["k"] for r in self.rows)
        candidates = [r for r in self.rows if r["k"] == k]
        if not candidates:
            raise ValueError(f"k={k} was not swept; swept: {sorted({r['k'] for r in self.rows})}")
        return max(candidates, key=lambda r: (r[metric], -r["chunks"]))

    def plot(self, metric: str = "recall", k: int | None = None, ax: Any = None) -> Any:
        """``metric`` at ``k`` against chunk size, one line per (mode, overlap); returns the Axes."""
        import matplotlib.pyplot as plt

        if metric not in METRICS:
            raise ValueError(f"metric must be one of {', '.join(METRICS)}, got {metric!r}")
        k = k if k is not None else max(r["k"] for r in self.rows)
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        lines: dict[tuple[str, float], list[tuple[int, float]]] = {}
        for row in self.rows:
            if row["k"] == k:
                lines.setdefault((row["mode"], row["overlap"]), []).append((row["chunk_size"], row[metric]))
        for (mode, overlap), points in sorted(lines.items()):
            points.sort()
            shown = ("no overlap" if overlap == 0 else f"overlap {overlap:.0%}" if isinstance(overlap, float)
                     and overlap < 1 else f"overlap {overlap} chars")
            ax.plot([p[0] for p in points], [p[1] for p in points], marker="o", label=f"{mode}, {shown}")
        ax.set_xlabel("chunk size (characters)")
        ax.set_ylabel(f"{metric}@{k}")
        ax.set_title(f"{metric}@{k} over {self.questions} questions")
        ax.grid(alpha=0.3)
        ax.legend(fontsize="small")
        return ax

    def __repr__(self) -> str:
        if not self.rows:
            return "SweepResult(empty)"
        top = self.best()
        return (f"SweepResult({len(self.rows)} rows, {self.questions} questions; best recall@{top['k']}="
                f"{top['recall']:.3f} at chunk_size={top['chunk_size']}, overlap={top['chunk_overlap']}, "
                f"{top['mode']})")


def sweep(
    documents: Mapping[str, str],
    pairs: Sequence[QAPair],
    *,
    chunk_sizes: Sequence[int] = (256, 512, 1000),
    overlaps: Sequence[int | float] = (0, 0.15),
    k: Sequence[int] = (1, 3, 5, 10),
    modes: Sequence[str] = MODES,
    embedding: Any = None,
    answer_prefix: int = 300,
    min_overlap: float = 0.5,
    progress: bool = True,
) -> SweepResult:
    """Chunk, index and evaluate every configuration on the same questions.

    Parameters
    ----------
    documents : ``{source: text}``; answers must be located in these (located
        :class:`QAPair` objects, or answers that appear verbatim in a document).
    chunk_sizes, overlaps : chunker settings; an overlap below 1 is a fraction of the
        chunk size, otherwise characters (combinations with overlap ≥ size are skipped).
    k, modes : cut-offs, and "dense", "bm25", "hybrid".
    embedding : embedder (default MiniLM); each distinct chunk text is embedded once.

    Each configuration is judged by its own qrels (the same rule,
    :func:`~ragtune.evaluate.build_qrels`), so configurations compare fairly.

    Examples
    --------
    >>> from ragtune.embeddings import HashingEmbeddings
    >>> docs = {"tea.txt": "Tea is brewed from leaves.\\n\\nCoffee is roasted from beans."}
    >>> pairs = [QAPair("How is coffee made?", "Coffee is roasted from beans.")]
    >>> result = sweep(docs, pairs, chunk_sizes=[30, 60], overlaps=[0], k=[1], modes=["bm25"],
    ...                embedding=HashingEmbeddings(dim=32), progress=False)
    >>> [(r["chunk_size"], r["recall"]) for r in result.rows]
    [(30, 1.0), (60, 1.0)]
    """
    from tqdm.auto import tqdm

    from .qrels import locate_answers

    if not isinstance(documents, Mapping) or not documents:
        raise ValueError("documents must be a non-empty {source: text} dict")
    for mode in modes:
        if mode not in MODES:
            raise ValueError(f"modes must be among {', '.join(MODES)}, got {mode!r}")
    cutoffs = _cutoffs(list(k))
    pairs = locate_answers(list(pairs), documents)
    unlocated = sum(1 for p in pairs if not p.located)
    if unlocated:
        raise ValueError(f"{unlocated} answers are not found verbatim in the documents; give located QAPairs "
                         "(source, start, end) so every configuration can be judged")
    configs = []
    for size in chunk_sizes:
        for overlap in overlaps:
            chars = int(round(overlap * size)) if isinstance(overlap, float) and overlap < 1 else int(overlap)
            if 0 <= chars < size:
                configs.append((int(size), chars, overlap))
    if not configs:
        raise ValueError("no valid (chunk_size, overlap) combination: overlaps must be smaller than chunk sizes")
    embedder = _CachedEmbedder(resolve_embedding(embedding)) if any(m != "bm25" for m in modes) else None
    sources, texts = list(documents), list(documents.values())
    rows = []
    questions = 0
    for size, overlap, setting in tqdm(configs, desc="sweep", unit="config", disable=not progress):
        chunker = RecursiveChunker(chunk_size=size, chunk_overlap=overlap)
        chunks = [c for doc in chunker.split_many(texts, sources=sources) for c in doc]
        started = time.perf_counter()
        index = Index(embedding=embedder if embedder is not None else _NoDense())
        index.add(chunks)
        index_seconds = time.perf_counter() - started

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # unanswerable questions are simply not judged in this configuration
            qrels = build_qrels(pairs, chunks, answer_prefix=answer_prefix, min_overlap=min_overlap)
        questions = max(questions, len(qrels))
        for mode in modes:
            result = evaluate_retriever(index, pairs, qrels, k=cutoffs, mode=mode)  # type: ignore[arg-type]
            for cut in cutoffs:
                row: dict[str, Any] = {"chunk_size": size, "chunk_overlap": overlap, "overlap": setting,
                                       "mode": mode, "k": cut,
                                       "chunks": len(chunks), "questions": len(qrels)}
                row.update({m: result.scores.mean[f"{m}@{cut}"] for m in METRICS})
                row["index_seconds"] = round(index_seconds, 3)
                row["query_seconds"] = round(result.seconds, 4)
                rows.append(row)
    return SweepResult(rows=rows, questions=questions)


class _NoDense(Embedder):
    """A BM25-only sweep needs no vectors; one constant dimension keeps Index happy."""

    dim = 1

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        return np.ones((len(texts), 1), dtype=np.float32)
