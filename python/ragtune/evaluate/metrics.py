"""Retrieval metrics as trec_eval (and so BEIR and pytrec_eval) computes them.

A *run* maps each query id to its retrieved document ids, best first (a list), or
to ``{doc_id: score}`` (ranked as trec_eval ranks: score descending, ties broken by
doc id descending). *Qrels* map each query id to ``{doc_id: grade}``; a grade of 1
or more is relevant and is also the gain of nDCG (linear gain, log2 discount).

Per query, with cut-off k and R relevant documents in the qrels:

- ``recall@k``    relevant retrieved in the top k / R           (trec_eval ``recall_k``)
- ``precision@k`` relevant retrieved in the top k / k           (``P_k``; k even if fewer came back)
- ``mrr@k``       1 / rank of the first relevant in the top k   (``recip_rank`` of the run cut at k)
- ``ndcg@k``      DCG@k / ideal DCG@k                           (``ndcg_cut_k``)
- ``hit_rate@k``  1 if any relevant is in the top k             (``success_k``)

A query with no relevant document scores 0 everywhere, as in trec_eval. Unlike
trec_eval (but like ``trec_eval -c``), a query of the qrels that is missing from the
run counts, with 0, in the means: a retriever that fails to answer is not excused.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

METRICS = ("recall", "precision", "mrr", "ndcg", "hit_rate")
DEFAULT_K = (1, 3, 5, 10)


def _ranked(query: str, retrieved: Any) -> list[str]:
    """Doc ids, best first, from a list or a {doc: score} mapping (trec_eval order)."""
    if isinstance(retrieved, Mapping):
        for doc, score in retrieved.items():
            if not isinstance(doc, str):
                raise TypeError(f"run[{query!r}] has a non-str doc id {doc!r}")
            if isinstance(score, bool) or not isinstance(score, (int, float)) or not math.isfinite(score):
                raise ValueError(f"run[{query!r}][{doc!r}] must be a finite number, got {score!r}")
        # Two stable sorts: doc id descending first, then score descending.
        by_doc = sorted(retrieved, reverse=True)
        return sorted(by_doc, key=lambda d: -float(retrieved[d]))
    if isinstance(retrieved, (str, bytes)) or not isinstance(retrieved, Iterable):
        raise TypeError(f"run[{query!r}] must be a list of doc ids or a {{doc_id: score}} dict, "
                        f"got {type(retrieved).__name__}")
    ranked = list(retrieved)
    for doc in ranked:
        if not isinstance(doc, str):
            raise TypeError(f"run[{query!r}] has a non-str doc id {doc!r}")
    if len(set(ranked)) != len(ranked):
        seen: set[str] = set()
        repeated = next(d for d in ranked if d in seen or seen.add(d))  # type: ignore[func-returns-value]
        raise ValueError(f"run[{query!r}] lists {repeated!r} twice; each document may be retrieved once")
    return ranked


def _grades(query: str, judged: Any) -> dict[str, int]:
    if not isinstance(judged, Mapping):
        raise TypeError(f"qrels[{query!r}] must be a {{doc_id: grade}} dict, got {type(judged).__name__}")
    grades = {}
    for doc, grade in judged.items():
        if not isinstance(doc, str):
            raise TypeError(f"qrels[{query!r}] has a non-str doc id {doc!r}")
        if isinstance(grade, bool) or not isinstance(grade, int) or grade < 0:
            raise ValueError(f"qrels[{query!r}][{doc!r}] must be a non-negative int grade, got {grade!r}")
        grades[doc] = grade
    return grades


def _cutoffs(k: int | Sequence[int]) -> tuple[int, ...]:
    values = (k,) if isinstance(k, int) else tuple(k)
    if not values or any(isinstance(v, bool) or not isinstance(v, int) or v < 1 for v in values):
        raise ValueError(f"k must be a positive int or a list of them, got {k!r}")
    return tuple(sorted(set(values)))


def query_metrics(ranked: Sequence[str], grades: Mapping[str, int], cutoffs: Sequence[int]) -> dict[str, float]:
    """All metrics of one query at each cut-off (see the module docstring)."""
    relevant = sum(1 for g in grades.values() if g >= 1)
    ideal = sorted((g for g in grades.values() if g >= 1), reverse=True)
    scores: dict[str, float] = {}
    for k in cutoffs:
        top = ranked[:k]
        hits = [grades.get(doc, 0) for doc in top]
        found = sum(1 for g in hits if g >= 1)
        first = next((rank for rank, g in enumerate(hits, start=1) if g >= 1), None)
        dcg = sum(g / math.log2(rank + 1) for rank, g in enumerate(hits, start=1) if g >= 1)
        idcg = sum(g / math.log2(rank + 1) for rank, g in enumerate(ideal[:k], start=1))
        scores[f"recall@{k}"] = found / relevant if relevant else 0.0
        scores[f"precision@{k}"] = found / k if relevant else 0.0
        scores[f"mrr@{k}"] = 1.0 / first if first else 0.0
        scores[f"ndcg@{k}"] = dcg / idcg if idcg > 0 else 0.0
        scores[f"hit_rate@{k}"] = 1.0 if first else 0.0
    return scores


@dataclass(slots=True)
class RetrievalScores:
    """Per-query and mean retrieval metrics.

    Attributes
    ----------
    mean : dict
        ``{"recall@5": 0.81, ...}``, averaged over every query of the qrels.
    per_query : dict
        ``{query_id: {"recall@5": 1.0, ...}}``.
    missing : list
        Queries of the qrels the run did not answer (scored 0).
    """

    mean: dict[str, float]
    per_query: dict[str, dict[str, float]] = field(repr=False)
    k: tuple[int, ...] = DEFAULT_K
    missing: list[str] = field(default_factory=list, repr=False)

    def __getitem__(self, name: str) -> float:
        """``scores["recall@5"]``: the mean of one metric."""
        try:
            return self.mean[name]
        except KeyError:
            raise KeyError(f"no metric {name!r}; available: {', '.join(self.mean)}") from None

    def rows(self) -> list[dict[str, Any]]:
        """One dict per (metric, k) with the mean: pandas-friendly."""
        return [{"metric": name.split("@")[0], "k": int(name.split("@")[1]), "value": value}
                for name, value in self.mean.items()]

    def to_pandas(self) -> Any:
        """Per-query scores as a DataFrame (one row per query), needs pandas."""
        import pandas as pd

        return pd.DataFrame.from_dict(self.per_query, orient="index")

    def __repr__(self) -> str:
        k = self.k[-1]
        shown = ", ".join(f"{m}@{k}={self.mean[f'{m}@{k}']:.3f}" for m in METRICS)
        return f"RetrievalScores({len(self.per_query)} queries, {shown})"


def retrieval_metrics(run: Mapping[str, Any], qrels: Mapping[str, Mapping[str, int]], *,
                      k: int | Sequence[int] = DEFAULT_K) -> RetrievalScores:
    """recall@k, precision@k, MRR@k, nDCG@k and hit rate@k of a run against qrels.

    Parameters
    ----------
    run : {query_id: [doc_id, ...] best first} or {query_id: {doc_id: score}}
    qrels : {query_id: {doc_id: grade}}; grade ≥ 1 is relevant (and the nDCG gain)
    k : a cut-off or several

    Examples
    --------
    >>> qrels = {"q1": {"a": 1}, "q2": {"b": 2, "c": 1}}
    >>> run = {"q1": ["x", "a"], "q2": ["b", "y", "c"]}
    >>> scores = retrieval_metrics(run, qrels, k=[1, 3])
    >>> scores["mrr@3"], scores["recall@1"], scores["hit_rate@1"]
    (0.75, 0.25, 0.5)
    >>> round(scores.per_query["q2"]["ndcg@3"], 4)
    0.9502
    """
    if not isinstance(run, Mapping):
        raise TypeError(f"run must be a dict {{query_id: ranked doc ids}}, got {type(run).__name__}")
    if not isinstance(qrels, Mapping):
        raise TypeError(f"qrels must be a dict {{query_id: {{doc_id: grade}}}}, got {type(qrels).__name__}")
    if not qrels:
        raise ValueError("qrels is empty: there is nothing to evaluate against")
    cutoffs = _cutoffs(k)
    per_query, missing = {}, []
    for query, judged in qrels.items():
        grades = _grades(query, judged)
        if query in run:
            ranked = _ranked(query, run[query])
        else:
            missing.append(query)
            ranked = []
        per_query[query] = query_metrics(ranked, grades, cutoffs)
    names = list(next(iter(per_query.values())))
    mean = {name: math.fsum(q[name] for q in per_query.values()) / len(per_query) for name in names}
    return RetrievalScores(mean=mean, per_query=per_query, k=cutoffs, missing=missing)
