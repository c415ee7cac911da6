"""The arms of the experiment: how each one asks the model a question.

An arm is a name, what it sees (nothing, retrieved chunks, or the whole corpus), which
adapter it needs (none, one trained on the train split's Q/A pairs, or one trained on
RAFT examples), and one small function that turns a question into chat messages.
Adding an arm is :func:`register_arm` with such a function.

The retrieval arms show documents in the layout RAFT trains on
(``<DOCUMENT>…</DOCUMENT>`` lines, then the question), so ``rag`` and ``raft+rag`` differ
only in the adapter.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Literal

from ..qa import QAPair
from ..raft.quotes import ANSWER_MARKER, BEGIN_QUOTE, END_QUOTE

Context = Literal["none", "retrieved", "corpus"]
Adapter = Literal["qa", "raft"] | None

RAG_SYSTEM_PROMPT = (f"Answer the question using the documents. Quote the sentences you rely on between "
                     f"{BEGIN_QUOTE} and {END_QUOTE}, then give the answer after {ANSWER_MARKER}")
PROMPT_SYSTEM_PROMPT = "You answer questions about this documentation accurately and concisely."
_EXAMPLE_CHARS = 400  # a few-shot example's answer is cut here, at a word boundary


@dataclass(frozen=True, slots=True)
class ArmInput:
    """What an arm may use to ask one question."""

    question: str
    contexts: list[str] = field(default_factory=list)  # retrieved chunks, or the whole corpus
    examples: list[QAPair] = field(default_factory=list)  # train-split pairs for few-shot prompting


@dataclass(frozen=True, slots=True)
class Arm:
    """One way of answering: ``messages`` builds the chat for a question."""

    name: str
    messages: Callable[[ArmInput], list[dict[str, str]]]
    context: Context = "none"
    adapter: Adapter = None
    description: str = ""


def documents_block(contexts: Sequence[str], question: str) -> str:
    """Documents then the question, in RAFT's layout."""
    return "".join(f"<DOCUMENT>{c}</DOCUMENT>\n" for c in contexts) + question


def final_answer(text: str) -> str:
    """The part of a generated answer to score: after the last ``<ANSWER>:`` when the
    model used RAFT's format, else all of it."""
    marker = text.rfind(ANSWER_MARKER)
    return text[marker + len(ANSWER_MARKER):].strip() if marker >= 0 else text.strip()


def _shortened(answer: str) -> str:
    if len(answer) <= _EXAMPLE_CHARS:
        return answer
    cut = answer.rfind(" ", 0, _EXAMPLE_CHARS)
    return answer[:cut if cut > 0 else _EXAMPLE_CHARS] + " ..."


def _closed_book(given: ArmInput) -> list[dict[str, str]]:
    return [{"role": "user", "content": given.question}]


def _prompted(given: ArmInput) -> list[dict[str, str]]:
    messages = [{"role": "system", "content": PROMPT_SYSTEM_PROMPT}]
    for example in given.examples:
        messages += [{"role": "user", "content": example.question},
                     {"role": "assistant", "content": _shortened(example.answer)}]
    return messages + [{"role": "user", "content": given.question}]


def _with_documents(given: ArmInput) -> list[dict[str, str]]:
    return [{"role": "system", "content": RAG_SYSTEM_PROMPT},
            {"role": "user", "content": documents_block(given.contexts, given.question)}]


ARMS: dict[str, Arm] = {}


def register_arm(arm: Arm) -> Arm:
    """Make ``arm`` available to :func:`~ragtune.experiment.compare` by its name.

    Examples
    --------
    >>> shouty = register_arm(Arm("shouty", lambda q: [{"role": "user", "content": q.question.upper()}]))
    >>> ARMS["shouty"].messages(ArmInput("why?"))
    [{'role': 'user', 'content': 'WHY?'}]
    >>> del ARMS["shouty"]
    """
    if not isinstance(arm, Arm):
        raise TypeError(f"arm must be an Arm, got {type(arm).__name__}")
    ARMS[arm.name] = arm
    return arm


for _arm in (
    Arm("base", _closed_book, description="the base model, closed book"),
    Arm("prompt", _prompted, description="the base model with a system prompt and train-split examples"),
    Arm("rag", _with_documents, context="retrieved", description="the base model with the top-k retrieved chunks"),
    Arm("finetune", _closed_book, adapter="qa", description="LoRA trained on the train split's Q/A, closed book"),
    Arm("raft+rag", _with_documents, context="retrieved", adapter="raft",
        description="LoRA trained on RAFT examples of the train split, with the top-k retrieved chunks"),
    Arm("long_context", _with_documents, context="corpus",
        description="the base model with every document in its context window"),
):
    register_arm(_arm)


def resolve_arms(names: Sequence[str]) -> list[Arm]:
    """The arms named, in order; an unknown name is refused with the known ones."""
    if isinstance(names, str):
        names = [names]
    unknown = [n for n in names if n not in ARMS]
    if unknown:
        raise ValueError(f"unknown arm(s) {unknown}; known: {', '.join(ARMS)} (add one with register_arm)")
    if not names:
        raise ValueError("give at least one arm")
    return [ARMS[n] for n in dict.fromkeys(names)]
