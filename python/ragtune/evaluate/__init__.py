"""Measure retrieval and answers on your own data.

Retrieval (:func:`retrieval_metrics`, equal to trec_eval/pytrec_eval):
recall@k, precision@k, MRR@k, nDCG@k, hit rate@k. :func:`evaluate_retriever` runs a
ragtune Index, a RagtuneRetriever, any LangChain retriever or a function over
question–answer pairs (:class:`QAPair`), with qrels from :func:`build_qrels` (a chunk
is relevant when it holds the answer's key span). :func:`sweep` compares chunk sizes,
overlaps, k and dense / BM25 / hybrid search, as a table and a plot.

Answers: :func:`grounding_score` (deterministic), and RAGAS-style
:func:`faithfulness`, :func:`context_precision`, :func:`context_recall`,
:func:`answer_relevancy` with a pluggable judge (:class:`LexicalJudge`,
:class:`LLMJudge`, or your own), all at once with :func:`evaluate_answers`.
"""

from __future__ import annotations

from .answers import (
    ANSWER_METRICS,
    AnswerSample,
    AnswerScores,
    answer_relevancy,
    average_precision,
    context_precision,
    context_recall,
    evaluate_answers,
    faithfulness,
)
from .grounding import GroundingScore, grounding_score
from .judges import Judge, JudgeError, LexicalJudge, LLMJudge
from .metrics import METRICS, RetrievalScores, retrieval_metrics
from ..qa import QAPair, locate_answers, relevant_chunks
from .qrels import build_qrels, pairs_from_faq
from .retriever import RetrievalEvaluation, evaluate_retriever
from .sweep import SweepResult, sweep

__all__ = [
    "ANSWER_METRICS",
    "METRICS",
    "AnswerSample",
    "AnswerScores",
    "GroundingScore",
    "Judge",
    "JudgeError",
    "LLMJudge",
    "LexicalJudge",
    "QAPair",
    "RetrievalEvaluation",
    "RetrievalScores",
    "SweepResult",
    "answer_relevancy",
    "average_precision",
    "build_qrels",
    "context_precision",
    "context_recall",
    "evaluate_answers",
    "evaluate_retriever",
    "faithfulness",
    "grounding_score",
    "locate_answers",
    "pairs_from_faq",
    "relevant_chunks",
    "retrieval_metrics",
    "sweep",
]
