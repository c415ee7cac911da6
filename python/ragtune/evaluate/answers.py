"""Answer-level metrics as RAGAS defines them, with a pluggable judge.

With a judge (:mod:`ragtune.evaluate.judges`) answering the elementary questions:

- **faithfulness** = statements of the answer the contexts support / statements
  (NaN when the answer makes no statement);
- **context recall** = statements of the reference supported by the contexts /
  statements of the reference (NaN without statements);
- **context precision** = Σₖ precision@k · vₖ / (Σₖ vₖ + 1e-10), where vₖ = 1 when the
  k-th context (in retrieved order) was useful to reach the reference (or the
  answer, without a reference) — average precision; 0 when nothing was useful;
- **answer relevancy** = mean cosine similarity between the question's embedding
  and those of ``strictness`` (3) questions generated from the answer, times 0 when
  every generation calls the answer noncommittal (RAGAS ≥ 0.3.6 gate); 0 when no
  question could be generated.

Contexts are joined with newlines where a metric looks at all of them at once, as
RAGAS does. Plus :func:`~ragtune.evaluate.grounding_score`, deterministic and free.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._inputs import as_text
from .grounding import grounding_score
from .judges import Judge

ANSWER_METRICS = ("faithfulness", "answer_relevancy", "context_precision", "context_recall", "grounding")


def _contexts(contexts: Sequence[str] | str) -> list[str]:
    if isinstance(contexts, str):
        contexts = [contexts]
    return [as_text(c, what=f"contexts[{n}]") for n, c in enumerate(contexts)]


def _check_judge(judge: Any) -> Judge:
    if not isinstance(judge, Judge):
        raise TypeError(f"judge must provide statements/verdicts/useful/question_for (LexicalJudge, LLMJudge, "
                        f"or your own), got {type(judge).__name__}")
    return judge


def _supported_share(judge: Judge, question: str, text: str, contexts: Sequence[str] | str) -> float:
    """Share of ``text``'s statements that the joined contexts support (NaN without statements)."""
    judge = _check_judge(judge)
    statements = judge.statements(as_text(question, what="question"), text)
    if not statements:
        return float("nan")
    verdicts = judge.verdicts(statements, "\n".join(_contexts(contexts)))
    return sum(verdicts) / len(verdicts) if verdicts else float("nan")


def faithfulness(question: str, answer: str, contexts: Sequence[str] | str, *, judge: Judge) -> float:
    """Share of the answer's statements that the contexts support.

    Examples
    --------
    >>> from ragtune.evaluate import LexicalJudge
    >>> faithfulness("Tuples?", "Tuples are immutable. Tuples are fast.",
    ...              ["Tuples are immutable sequences."], judge=LexicalJudge())
    0.5
    """
    return _supported_share(judge, question, as_text(answer, what="answer"), contexts)


def context_recall(question: str, contexts: Sequence[str] | str, reference: str, *, judge: Judge) -> float:
    """Share of the reference answer's statements that the contexts support.

    Examples
    --------
    >>> from ragtune.evaluate import LexicalJudge
    >>> context_recall("Tuples?", ["Tuples are immutable sequences."],
    ...                "Tuples are immutable. Lists are mutable.", judge=LexicalJudge())
    0.5
    """
    return _supported_share(judge, question, as_text(reference, what="reference"), contexts)


def average_precision(useful: Sequence[bool]) -> float:
    """RAGAS's context precision from per-context verdicts in retrieved order.

    Examples
    --------
    >>> round(average_precision([False, True, True]), 6)  # (1/2 + 2/3) / 2
    0.583333
    """
    hits, total = 0, 0.0
    for k, verdict in enumerate(useful, start=1):
        if verdict:
            hits += 1
            total += hits / k
    return total / (hits + 1e-10)


def context_precision(question: str, contexts: Sequence[str] | str, reference: str | None = None, *,
                      answer: str | None = None, judge: Judge) -> float:
    """Were the useful contexts ranked first? Judged against ``reference`` (or ``answer``).

    Examples
    --------
    >>> from ragtune.evaluate import LexicalJudge
    >>> round(context_precision("Tuples?", ["Sets are unordered.", "Tuples are immutable."],
    ...                         "Tuples are immutable.", judge=LexicalJudge()), 6)
    0.5
    """
    judge = _check_judge(judge)
    target = reference if reference is not None else answer
    if target is None:
        raise ValueError("context_precision needs reference= (the ground-truth answer) or answer=")
    contexts = _contexts(contexts)
    if not contexts:
        raise ValueError("context_precision needs at least one context")
    question = as_text(question, what="question")
    return average_precision([judge.useful(question, c, as_text(target, what="reference")) for c in contexts])


def _cosine(a: np.ndarray, b: np.ndarray) -> float:
    norms = float(np.linalg.norm(a) * np.linalg.norm(b))
    return float(np.dot(a, b) / norms) if norms > 0 else 0.0


def answer_relevancy(question: str, answer: str, *, judge: Judge, embedding: Any = None,
                     strictness: int = 3) -> float:
    """How well the answer addresses the question (see the module docstring).

    ``embedding``: any ragtune embedder or LangChain ``Embeddings`` (default MiniLM).

    Examples
    --------
    >>> from ragtune.embeddings import HashingEmbeddings
    >>> from ragtune.evaluate import LexicalJudge
    >>> emb = HashingEmbeddings(dim=256)
    >>> answer_relevancy("Are tuples immutable?", "Tuples are immutable.", judge=LexicalJudge(), embedding=emb) > 0.5
    True
    >>> answer_relevancy("Are tuples immutable?", "I don't know.", judge=LexicalJudge(), embedding=emb)
    0.0
    """
    from ..embeddings.base import resolve_embedding

    judge = _check_judge(judge)
    question = as_text(question, what="question")
    answer = as_text(answer, what="answer")
    if isinstance(strictness, bool) or not isinstance(strictness, int) or strictness < 1:
        raise ValueError(f"strictness must be a positive int, got {strictness!r}")
    generated = [judge.question_for(answer) for _ in range(strictness)]
    questions = [q for q, _ in generated if q.strip()]
    if not questions:
        return 0.0
    if all(noncommittal for _, noncommittal in generated):
        return 0.0
    embedder = resolve_embedding(embedding)
    original = np.asarray(embedder.embed_query(question), dtype=np.float64)
    vectors = np.asarray(embedder.embed_documents(questions), dtype=np.float64)
    return float(np.mean([_cosine(v, original) for v in vectors]))


@dataclass(slots=True)
class AnswerSample:
    """One RAG answer to judge: question, answer, retrieved contexts, optional reference."""

    question: str
    answer: str
    contexts: list[str]
    reference: str | None = None


@dataclass(slots=True)
class AnswerScores:
    """Per-sample answer metrics and their means (NaNs — undefined values — skipped)."""

    mean: dict[str, float]
    per_sample: list[dict[str, float]] = field(repr=False)

    def __getitem__(self, name: str) -> float:
        try:
            return self.mean[name]
        except KeyError:
            raise KeyError(f"no metric {name!r}; available: {', '.join(self.mean)}") from None

    def to_pandas(self) -> Any:
        import pandas as pd

        return pd.DataFrame(self.per_sample)

    def __repr__(self) -> str:
        shown = ", ".join(f"{k}={v:.3f}" for k, v in self.mean.items())
        return f"AnswerScores({len(self.per_sample)} samples, {shown})"


def _sample(item: Any, n: int) -> AnswerSample:
    if isinstance(item, AnswerSample):
        return item
    if isinstance(item, dict):
        try:
            return AnswerSample(item["question"], item["answer"], _contexts(item["contexts"]), item.get("reference"))
        except KeyError as missing:
            raise KeyError(f"samples[{n}] lacks {missing}: give question, answer, contexts (and reference)") from None
    raise TypeError(f"samples[{n}] must be an AnswerSample or a dict, got {type(item).__name__}")


def evaluate_answers(samples: Iterable[AnswerSample | dict[str, Any]], *, judge: Judge, embedding: Any = None,
                     metrics: Sequence[str] = ANSWER_METRICS, strictness: int = 3) -> AnswerScores:
    """Every answer metric for every sample; context recall only where a reference is given.

    Examples
    --------
    >>> from ragtune.embeddings import HashingEmbeddings
    >>> from ragtune.evaluate import LexicalJudge
    >>> scores = evaluate_answers([{"question": "Are tuples immutable?", "answer": "Tuples are immutable.",
    ...                             "contexts": ["Tuples are immutable sequences."],
    ...                             "reference": "Yes, tuples are immutable."}],
    ...                           judge=LexicalJudge(), embedding=HashingEmbeddings(dim=64))
    >>> scores["faithfulness"], scores["context_recall"], scores["grounding"]
    (1.0, 1.0, 1.0)
    """
    judge = _check_judge(judge)
    for metric in metrics:
        if metric not in ANSWER_METRICS:
            raise ValueError(f"unknown metric {metric!r}; choose from {', '.join(ANSWER_METRICS)}")
    if "answer_relevancy" in metrics:
        from ..embeddings.base import resolve_embedding

        embedding = resolve_embedding(embedding)  # once, not per sample
    rows = []
    for n, item in enumerate(samples):
        s = _sample(item, n)
        row: dict[str, float] = {}
        if "faithfulness" in metrics:
            row["faithfulness"] = faithfulness(s.question, s.answer, s.contexts, judge=judge)
        if "answer_relevancy" in metrics:
            row["answer_relevancy"] = answer_relevancy(s.question, s.answer, judge=judge, embedding=embedding,
                                                       strictness=strictness)
        if "context_precision" in metrics:
            row["context_precision"] = (context_precision(s.question, s.contexts, s.reference, answer=s.answer,
                                                          judge=judge) if s.contexts else float("nan"))
        if "context_recall" in metrics:
            row["context_recall"] = (context_recall(s.question, s.contexts, s.reference, judge=judge)
                                     if s.reference is not None else float("nan"))
        if "grounding" in metrics:
            row["grounding"] = grounding_score(s.answer, s.contexts).score
        rows.append(row)
    if not rows:
        raise ValueError("no samples to evaluate")
    mean = {}
    for metric in rows[0]:
        values = [r[metric] for r in rows if not math.isnan(r[metric])]
        mean[metric] = math.fsum(values) / len(values) if values else float("nan")
    return AnswerScores(mean=mean, per_sample=rows)
