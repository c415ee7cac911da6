"""Judges for answer-level metrics: the questions RAGAS asks an LLM, as an interface.

A judge answers four kinds of question (see :mod:`ragtune.evaluate.answers` for how
the metrics combine them):

- ``statements(question, answer)``: the answer broken into standalone claims;
- ``verdicts(statements, context)``: for each statement, can it be inferred from the context?
- ``useful(question, context, answer)``: was this context useful to reach the answer?
- ``question_for(answer)``: a question the answer answers, and whether the answer is
  noncommittal ("I don't know").

:class:`LexicalJudge` answers them deterministically from word overlap (offline, free,
reproducible: for tests and smoke checks). :class:`LLMJudge` asks any LLM — a
callable ``prompt -> str`` or a LangChain chat model — with JSON prompts in the spirit
of RAGAS's (our wording) and validates what comes back.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import Any, Protocol, runtime_checkable

from .grounding import content_words, split_sentences

NONCOMMITTAL = re.compile(
    r"\b(i don'?t know|i do not know|not sure|cannot (?:answer|determine|say)|can'?t (?:answer|say|tell)|"
    r"no information|unable to (?:answer|determine)|unclear)\b", re.IGNORECASE)


@runtime_checkable
class Judge(Protocol):
    """What the answer-level metrics need from a judge."""

    def statements(self, question: str, answer: str) -> list[str]: ...

    def verdicts(self, statements: Sequence[str], context: str) -> list[bool]: ...

    def useful(self, question: str, context: str, answer: str) -> bool: ...

    def question_for(self, answer: str) -> tuple[str, bool]: ...


class LexicalJudge:
    """A deterministic judge from word overlap.

    Statements are sentences; a statement is inferred from a context when at least
    ``min_overlap`` of its content words occur there; a context is useful when it
    supports at least one statement of the answer; the "question" an answer answers
    is the answer's first sentence, noncommittal when it says it does not know.

    Examples
    --------
    >>> judge = LexicalJudge()
    >>> judge.verdicts(["Tuples are immutable.", "Sets are ordered."], "Tuples are immutable sequences.")
    [True, False]
    >>> judge.question_for("I don't know.")
    ("I don't know.", True)
    """

    def __init__(self, *, min_overlap: float = 0.6) -> None:
        if not 0 < min_overlap <= 1:
            raise ValueError(f"min_overlap must be in (0, 1], got {min_overlap}")
        self.min_overlap = min_overlap

    def statements(self, question: str, answer: str) -> list[str]:
        return [s for s in split_sentences(answer) if content_words(s)]

    def verdicts(self, statements: Sequence[str], context: str) -> list[bool]:
        available = content_words(context)
        out = []
        for statement in statements:
            words = content_words(statement)
            out.append(bool(words) and len(words & available) >= self.min_overlap * len(words))
        return out

    def useful(self, question: str, context: str, answer: str) -> bool:
        return any(self.verdicts(self.statements(question, answer), context))

    def question_for(self, answer: str) -> tuple[str, bool]:
        sentences = split_sentences(answer)
        return (sentences[0] if sentences else "", bool(NONCOMMITTAL.search(answer)))

    def __repr__(self) -> str:
        return f"LexicalJudge(min_overlap={self.min_overlap})"


STATEMENTS_PROMPT = (
    "Break the answer below into short standalone statements: each one a single claim that can be checked on "
    "its own, with pronouns replaced by what they refer to.\n\nQuestion: {question}\nAnswer: {answer}\n\n"
    'Reply with JSON only: {{"statements": ["...", "..."]}}'
)
VERDICTS_PROMPT = (
    "Context:\n{context}\n\nFor each numbered statement, decide whether it can be directly inferred from the "
    "context above (1) or not (0).\n\n{statements}\n\n"
    'Reply with JSON only: {{"verdicts": [{{"statement": "...", "reason": "...", "verdict": 1}}, ...]}} '
    "with one entry per statement, in order."
)
USEFUL_PROMPT = (
    "Question: {question}\nAnswer: {answer}\nContext:\n{context}\n\nWas the context useful in arriving at the "
    'answer? Reply with JSON only: {{"reason": "...", "verdict": 1}} (1 useful, 0 not).'
)
QUESTION_PROMPT = (
    "Write the question that the answer below answers, and say whether the answer is noncommittal (evasive, "
    "vague or saying it does not know: 1) or committal (0).\n\nAnswer: {answer}\n\n"
    'Reply with JSON only: {{"question": "...", "noncommittal": 0}}'
)


class JudgeError(ValueError):
    """The judge LLM's reply could not be used (not JSON, wrong fields, wrong count)."""


def _json_reply(text: Any) -> Any:
    """The first JSON object in an LLM reply (models like to wrap it in prose or fences)."""
    if not isinstance(text, str):
        raise JudgeError(f"the judge LLM returned {type(text).__name__}, not text")
    start = text.find("{")
    if start < 0:
        raise JudgeError(f"the judge LLM's reply holds no JSON object: {text[:200]!r}")
    try:
        value, _ = json.JSONDecoder().raw_decode(text[start:])
    except json.JSONDecodeError as error:
        raise JudgeError(f"the judge LLM's reply is not valid JSON ({error}): {text[:200]!r}") from None
    if not isinstance(value, dict):
        raise JudgeError(f"the judge LLM's reply must be a JSON object, got {text[:200]!r}")
    return value


def _flag(value: Any, what: str) -> bool:
    if isinstance(value, bool):
        return value
    if value in (0, 1, "0", "1"):
        return int(value) == 1
    if isinstance(value, str) and value.strip().lower() in ("yes", "no", "true", "false"):
        return value.strip().lower() in ("yes", "true")
    raise JudgeError(f"the judge LLM's {what} must be 1 or 0, got {value!r}")


class LLMJudge:
    """A judge backed by an LLM: a callable ``prompt -> str`` or a LangChain chat model.

    Examples
    --------
    >>> def llm(prompt):  # a stand-in for a real model, answering every statement with 1
    ...     if "directly inferred" in prompt:
    ...         return '{"verdicts": [{"statement": "a", "reason": "stated", "verdict": 1}]}'
    ...     return '{"statements": ["Paris is the capital of France."]}'
    >>> judge = LLMJudge(llm)
    >>> judge.statements("Capital of France?", "Paris.")
    ['Paris is the capital of France.']
    >>> judge.verdicts(["Paris is the capital of France."], "Paris is France's capital.")
    [True]
    """

    def __init__(self, llm: Any) -> None:
        from ..llm import as_completion

        self.llm = llm
        self._complete = as_completion(llm)

    def _ask(self, prompt: str) -> dict[str, Any]:
        return _json_reply(self._complete(prompt))

    def statements(self, question: str, answer: str) -> list[str]:
        reply = self._ask(STATEMENTS_PROMPT.format(question=question, answer=answer))
        statements = reply.get("statements")
        if not isinstance(statements, list) or not all(isinstance(s, str) for s in statements):
            raise JudgeError(f"the judge LLM must return a list of statement strings, got {statements!r}")
        return [s.strip() for s in statements if s.strip()]

    def verdicts(self, statements: Sequence[str], context: str) -> list[bool]:
        if not statements:
            return []
        numbered = "\n".join(f"{n}. {s}" for n, s in enumerate(statements, start=1))
        reply = self._ask(VERDICTS_PROMPT.format(context=context, statements=numbered))
        verdicts = reply.get("verdicts")
        if not isinstance(verdicts, list) or len(verdicts) != len(statements):
            raise JudgeError(f"the judge LLM must return {len(statements)} verdicts, got {verdicts!r}")
        return [_flag(v.get("verdict") if isinstance(v, dict) else v, "verdict") for v in verdicts]

    def useful(self, question: str, context: str, answer: str) -> bool:
        reply = self._ask(USEFUL_PROMPT.format(question=question, context=context, answer=answer))
        return _flag(reply.get("verdict"), "verdict")

    def question_for(self, answer: str) -> tuple[str, bool]:
        reply = self._ask(QUESTION_PROMPT.format(answer=answer))
        question = reply.get("question")
        if not isinstance(question, str):
            raise JudgeError(f"the judge LLM must return a question string, got {question!r}")
        return question.strip(), _flag(reply.get("noncommittal", 0), "noncommittal")

    def __repr__(self) -> str:
        return f"LLMJudge({type(self.llm).__name__})"
