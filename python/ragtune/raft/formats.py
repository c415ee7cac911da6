"""RAFT examples and the record formats fine-tuning tools read.

- ``hf``: gorilla's RAFT records — ``id, type, question, context{title, sentences},
  oracle_context, cot_answer, instruction`` (``context`` nests one list per field, as
  gorilla's datasets do), with real titles instead of placeholders;
- ``completion``: ``{"prompt", "completion"}`` (OpenAI-style completion fine-tuning);
- ``chat``: ``{"messages": [system?, user, assistant]}`` (OpenAI chat fine-tuning);
- ``eval``: ``{"question", "gold_final_answer", "context"}`` for evaluation.

The instruction shows every document as ``<DOCUMENT>text</DOCUMENT>`` on its own
line, then the question — the layout the RAFT paper's reference code trains on.
:func:`to_record` is the reference for each layout; the writers
(:mod:`ragtune.raft.writers`) encode the same bytes from columns.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

from .quotes import ANSWER_MARKER

Format = Literal["hf", "completion", "chat", "eval"]
FORMATS: tuple[str, ...] = ("hf", "completion", "chat", "eval")


@dataclass(slots=True)
class RaftExample:
    """One training example: a question, the documents shown (oracle(s) and
    distractors, in shown order), and the chain-of-thought answer.

    Examples
    --------
    >>> ex = RaftExample("q0", "Why?", ["Because.", "Unrelated."], ["faq.rst: Why", "other.rst"], [0],
    ...                  "##begin_quote##Because.##end_quote## <ANSWER>: because")
    >>> ex.instruction()
    '<DOCUMENT>Because.</DOCUMENT>\\n<DOCUMENT>Unrelated.</DOCUMENT>\\nWhy?'
    >>> to_record(ex, "eval")["gold_final_answer"]
    'because'
    """

    id: str
    question: str
    documents: list[str]
    titles: list[str]
    oracle_positions: list[int]
    cot_answer: str
    type: str = "general"
    metadata: dict[str, Any] = field(default_factory=dict)

    def instruction(self) -> str:
        """The prompt: every document in a <DOCUMENT> block, then the question."""
        return "".join(f"<DOCUMENT>{d}</DOCUMENT>\n" for d in self.documents) + self.question

    def oracle_context(self) -> str:
        """The oracle document(s) (empty when this example shows none)."""
        return "\n".join(self.documents[p] for p in self.oracle_positions)

    def final_answer(self) -> str | None:
        """The text after the last ``<ANSWER>:``, or None."""
        marker = self.cot_answer.rfind(ANSWER_MARKER)
        return self.cot_answer[marker + len(ANSWER_MARKER):].strip() or None if marker >= 0 else None


def to_record(example: RaftExample, fmt: Format, *, system_prompt: str | None = None) -> dict[str, Any]:
    """The example as one record of format ``fmt``."""
    if fmt == "hf":
        return {
            "id": example.id,
            "type": example.type,
            "question": example.question,
            "context": {"title": [list(example.titles)], "sentences": [list(example.documents)]},
            "oracle_context": example.oracle_context(),
            "cot_answer": example.cot_answer,
            "instruction": example.instruction(),
        }
    if fmt == "completion":
        return {"prompt": example.instruction(), "completion": example.cot_answer}
    if fmt == "chat":
        messages = [{"role": "system", "content": system_prompt}] if system_prompt else []
        messages += [{"role": "user", "content": example.instruction()},
                     {"role": "assistant", "content": example.cot_answer}]
        return {"messages": messages}
    if fmt == "eval":
        return {"question": example.question, "gold_final_answer": example.final_answer(),
                "context": "".join(f"<DOCUMENT>{d}</DOCUMENT>\n" for d in example.documents).rstrip("\n")}
    raise ValueError(f"unknown format {fmt!r}; choose one of {', '.join(FORMATS)}")
