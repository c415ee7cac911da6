"""The question–answer pair: ragtune's one type for a question and its answer, and the
one rule for which chunks hold that answer.

A :class:`QAPair` comes from an FAQ (:func:`ragtune.datasets.parse_faq`, located by
offsets), a JSONL file, an LLM (:func:`ragtune.raft.generate_qa`, with its oracle chunk
and chain-of-thought answer) or the user's own code, and goes unchanged into
evaluation (:func:`ragtune.evaluate.build_qrels`), RAFT assembly
(:func:`ragtune.raft.assemble`) and the head-to-head experiment
(:func:`ragtune.experiment.compare`).

The relevance rule (one rule everywhere: evaluation, sweeps, RAFT oracles):

*A pair that names its oracle chunks* (``oracle_ids``) *is answered by exactly those.*
*Otherwise a chunk is relevant when it holds the answer's key span* — the answer's
first ``answer_prefix`` characters (300 by default: the part that answers; long
answers go on with examples). "Holds" means the chunk and the key span overlap by at
least ``min_overlap`` (default one half) of the shorter of the two, so a large chunk
must contain half the key span and a small chunk must lie mostly inside it. Located
answers (``source`` plus offsets) compare offsets within the same source; answers
given only as text are first located in the documents (:func:`locate_answers`), or
failing that matched by containment of the key text (whitespace-normalised).
"""

from __future__ import annotations

import numbers
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from ._inputs import as_text
from .chunking.chunk import Chunk, chunk_id
from .index.hit import Hit

_SPACE = re.compile(r"\s+")
# The keys a pair's JSON object may hold (to_dict / from_dict).
_KEYS = ("id", "question", "answer", "source", "start", "end", "question_start", "oracle_ids", "cot_answer")


def _offset(value: Any, name: str, question: str) -> int | None:
    if value is None:
        return None
    # Integral: offsets read from numpy, pandas or Parquet arrive as numpy integers.
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or value < 0:
        raise ValueError(f"{name} must be a non-negative int, got {value!r} (question {question!r})")
    return int(value)


@dataclass(frozen=True, slots=True)
class QAPair:
    """A question and its answer: where the answer stands in a document, which chunks
    hold it, and a RAFT chain-of-thought answer, each when known.

    Parameters
    ----------
    question : the question (non-empty)
    answer : the reference answer. May be left out when ``cot_answer`` is given: it is
        then the chain of thought's final answer (the text after ``<ANSWER>:``).
    source, start, end : the document the answer is in and its code-point offsets
        there, ``documents[source][start:end] == answer`` (a *located* pair; without a
        source, the offsets are into the one document whose chunks have no source)
    id : the question's id in qrels, reports and RAFT examples (``q<position>`` when None)
    oracle_ids : ids (``source#index``) of the chunks that hold the answer, when known;
        otherwise :func:`relevant_chunks` finds them by the answer's text or offsets
    cot_answer : a RAFT chain-of-thought answer quoting the oracle(s)
    question_start : the question's offset in ``source`` (an FAQ heading), so that
        :func:`ragtune.experiment.corpus.blank_questions` finds it exactly

    Examples
    --------
    >>> pair = QAPair("Why?", "Because.", source="faq.md", start=10, end=18)
    >>> pair.located, pair.id
    (True, None)
    >>> QAPair("How is tea made?", cot_answer="##begin_quote##Tea is brewed.##end_quote## <ANSWER>: brewed").answer
    'brewed'
    """

    question: str
    answer: str | None = None
    source: str | None = None
    start: int | None = None
    end: int | None = None
    id: str | None = None
    oracle_ids: tuple[str, ...] = field(default=(), kw_only=True)
    cot_answer: str | None = field(default=None, kw_only=True)
    question_start: int | None = field(default=None, kw_only=True)

    def __post_init__(self) -> None:
        # frozen: values are normalised (bytes decoded, lists made tuples) through object.__setattr__
        set_ = object.__setattr__
        set_(self, "question", as_text(self.question, what="question"))
        if not self.question.strip():
            raise ValueError("a QAPair needs a non-empty question")
        q = self.question
        if self.cot_answer is not None:
            set_(self, "cot_answer", as_text(self.cot_answer, what="cot_answer"))
        if self.answer is not None:
            set_(self, "answer", as_text(self.answer, what="answer"))
        elif self.cot_answer is not None:
            from .raft.quotes import parse_cot_answer  # raft imports this module

            set_(self, "answer", parse_cot_answer(self.cot_answer).answer)
            if self.answer is None:
                raise ValueError(f"cot_answer has no '<ANSWER>:' final answer; give answer= too (question {q!r})")
        else:
            raise ValueError(f"give the answer (answer=) or a chain-of-thought answer (cot_answer=) for {q!r}")
        if self.source is not None:
            set_(self, "source", as_text(self.source, what="source"))
        if self.id is not None:
            set_(self, "id", as_text(self.id, what="id"))
        start = _offset(self.start, "start", q)
        end = _offset(self.end, "end", q)
        set_(self, "start", start)
        set_(self, "end", end)
        if (start is None) != (end is None):
            raise ValueError(f"give both start and end of the answer, or neither (question {q!r})")
        if start is not None and not start < end:  # type: ignore[operator]
            raise ValueError(f"answer offsets must satisfy 0 <= start < end, got {start}, {end}")
        set_(self, "question_start", _offset(self.question_start, "question_start", q))
        if isinstance(self.oracle_ids, (str, bytes)):
            raise TypeError(f"oracle_ids must be a list of chunk ids, not one string (question {q!r})")
        oracles = tuple(as_text(o, what="oracle id") for o in self.oracle_ids)
        if any(not o for o in oracles):
            raise ValueError(f"oracle_ids holds an empty id (question {q!r})")
        set_(self, "oracle_ids", oracles)

    @property
    def located(self) -> bool:
        """True when the answer's offsets in its source are known."""
        return self.start is not None

    def to_dict(self) -> dict[str, Any]:
        """The pair as a JSON object (fields that are not set are left out).

        Examples
        --------
        >>> QAPair("Why?", "Because.", id="faq#0").to_dict()
        {'id': 'faq#0', 'question': 'Why?', 'answer': 'Because.'}
        """
        out: dict[str, Any] = {}
        for key in _KEYS:
            value = getattr(self, key)
            if value is not None and value != ():
                out[key] = list(value) if key == "oracle_ids" else value
        return out

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, ignore_unknown: bool = False) -> QAPair:
        """A pair from a JSON object with the keys :meth:`to_dict` writes (``question``
        and ``answer`` or ``cot_answer`` required). Other keys are refused by name (a
        misspelt key would silently lose its value) unless ``ignore_unknown``.

        Examples
        --------
        >>> QAPair.from_dict({"question": "Why?", "answer": "Because.", "source": "f.md", "start": 0, "end": 8})
        QAPair(question='Why?', answer='Because.', source='f.md', start=0, end=8, id=None, oracle_ids=(), \
cot_answer=None, question_start=None)
        """
        if not isinstance(data, Mapping):
            raise TypeError(f"a question-answer pair must be a JSON object, got {type(data).__name__}")
        unknown = sorted(set(data) - set(_KEYS))
        if unknown and not ignore_unknown:
            raise ValueError(f"unknown keys {unknown}; a question-answer pair may hold {list(_KEYS)}")
        if "question" not in data:
            raise ValueError("a question-answer pair needs \"question\"")
        return cls(**{key: data[key] for key in _KEYS if key in data and (key != "oracle_ids" or data[key])})


def pair_id(pair: QAPair, position: int) -> str:
    """The query id of a pair: its ``id``, else ``q<position>``."""
    return pair.id if pair.id is not None else f"q{position}"


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
            at = documents[source].find(pair.answer)  # type: ignore[arg-type]
            if at >= 0:
                out.append(replace(pair, source=source, start=at, end=at + len(pair.answer)))  # type: ignore[arg-type]
                break
        else:
            out.append(pair)
    return out


def item_id(chunk: Chunk | Hit) -> str:
    """``source#index`` for a Chunk (as Index.add names it); a stored Hit's own id."""
    if isinstance(chunk, Hit):
        return chunk.id
    return chunk_id(chunk)


def relevant_chunks(pair: QAPair, chunks: Sequence[Chunk | Hit], *, answer_prefix: int = 300,
                    min_overlap: float = 0.5) -> list[Chunk | Hit]:
    """The chunks that hold the pair's answer (the rule in the module docstring).

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
    if pair.oracle_ids:
        named = set(pair.oracle_ids)
        return [chunk for chunk in chunks if item_id(chunk) in named]
    if pair.located:
        key_start = pair.start
        key_end = min(pair.end, key_start + answer_prefix)  # type: ignore[type-var, operator]
        found = []
        for chunk in chunks:
            if chunk.source != pair.source:
                continue
            overlap = min(chunk.end, key_end) - max(chunk.start, key_start)  # type: ignore[type-var]
            shorter = min(key_end - key_start, chunk.end - chunk.start)  # type: ignore[operator]
            if overlap > 0 and overlap >= min_overlap * shorter:
                found.append(chunk)
        return found
    key = _normalised(pair.answer[:answer_prefix])  # type: ignore[index]
    if not key:
        return []
    return [chunk for chunk in chunks if key in _normalised(chunk.text)]
