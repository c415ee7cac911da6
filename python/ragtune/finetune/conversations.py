"""Training data in every form ragtune writes or a user holds, turned into one shape:
a :class:`Conversation` (chat messages, plus the RAFT example behind them when there is
one, so its distractors can be cut to fit a token budget).

Accepted: a :class:`~ragtune.raft.RaftDataset` or list of
:class:`~ragtune.raft.RaftExample`; a JSONL or Parquet file in the ``hf``, ``chat`` or
``completion`` format (checked with :func:`ragtune.raft.validate` first); a list of
chat conversations (``{"messages": [...]}`` or the message lists themselves); a list of
``(prompt, completion)`` pairs or ``{"prompt", "completion"}`` records.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..raft.formats import RaftExample, to_record
from ..raft.quotes import parse_cot_answer

ROLES = ("system", "user", "assistant")
_DOCUMENT = re.compile(r"<DOCUMENT>(.*?)</DOCUMENT>\n", re.DOTALL)


@dataclass(slots=True)
class Conversation:
    """One training conversation.

    ``raft`` is the RAFT example the messages were rendered from (None for plain chat
    data); ``group`` keys examples that must stay on one side of a train/eval split
    (the oracle's source, or the oracle text); ``origin`` says where it came from, for
    error messages (``"train.jsonl:12"``, ``"data[3]"``).
    """

    messages: list[dict[str, str]]
    raft: RaftExample | None = None
    system_prompt: str | None = None
    group: list[str] = field(default_factory=list)
    origin: str = ""

    def with_raft(self, example: RaftExample) -> Conversation:
        """This conversation rendered from an edited copy of its RAFT example."""
        return Conversation(_raft_messages(example, self.system_prompt), example, self.system_prompt,
                            self.group, self.origin)


def _raft_messages(example: RaftExample, system_prompt: str | None) -> list[dict[str, str]]:
    return to_record(example, "chat", system_prompt=system_prompt)["messages"]


def _check_messages(messages: Any, origin: str) -> list[dict[str, str]]:
    if not isinstance(messages, list) or not messages:
        raise ValueError(f"{origin}: a conversation must be a non-empty list of messages")
    out = []
    for n, message in enumerate(messages):
        if not isinstance(message, dict) or message.get("role") not in ROLES:
            raise ValueError(f"{origin}: message {n} must be a dict with role 'system', 'user' or 'assistant'")
        content = message.get("content")
        if not isinstance(content, str) or not content.strip():
            raise ValueError(f"{origin}: message {n} ({message['role']}) has no text content")
        out.append({"role": message["role"], "content": content})
    if not any(m["role"] == "assistant" for m in out):
        raise ValueError(f"{origin}: no assistant message, so nothing to learn; end it with the answer to train on")
    return out


def raft_from_prompt(prompt: str, answer: str, *, id: str = "") -> RaftExample | None:
    """The RAFT example behind a prompt in ragtune's layout (``<DOCUMENT>…</DOCUMENT>``
    lines, then the question), or None when the prompt has no documents or the answer
    no quotes (then nothing can safely be cut).

    Oracles are the documents that hold one of the answer's quotes; when no document
    does, the example is one of the (1 - P) that show no oracle, and every document is
    a distractor.

    Examples
    --------
    >>> ex = raft_from_prompt("<DOCUMENT>Tea is hot.</DOCUMENT>\\n<DOCUMENT>Ice.</DOCUMENT>\\nWhat is tea?",
    ...                       "##begin_quote##Tea is hot.##end_quote## <ANSWER>: hot")
    >>> ex.documents, ex.oracle_positions, ex.question
    (['Tea is hot.', 'Ice.'], [0], 'What is tea?')
    """
    documents, position = [], 0
    for match in _DOCUMENT.finditer(prompt):
        if match.start() != position:
            break
        documents.append(match.group(1))
        position = match.end()
    quotes = parse_cot_answer(answer).quotes
    if not documents or not quotes:
        return None
    oracles = [n for n, d in enumerate(documents) if any(q and q in d for q in quotes)]
    return RaftExample(id, prompt[position:], documents, [f"document {n}" for n in range(len(documents))],
                       oracles, answer)


def _from_raft(example: RaftExample, system_prompt: str | None, origin: str) -> Conversation:
    if not isinstance(example, RaftExample):
        raise TypeError(f"{origin} must be a RaftExample, got {type(example).__name__}")
    group = [o.rsplit("#", 1)[0] for o in example.metadata.get("oracle_ids") or []]
    return Conversation(_raft_messages(example, system_prompt), copy.deepcopy(example), system_prompt,
                        group or [_text_key(example.oracle_context() or example.question)], origin)


def _from_prompt_completion(prompt: Any, completion: Any, system_prompt: str | None, origin: str,
                            row_id: str = "") -> Conversation:
    messages = _check_messages(([{"role": "system", "content": system_prompt}] if system_prompt else []) + [
        {"role": "user", "content": prompt}, {"role": "assistant", "content": completion}], origin)
    return _structured(messages, system_prompt, origin, row_id)


def _structured(messages: list[dict[str, str]], system_prompt: str | None, origin: str,
                row_id: str = "") -> Conversation:
    """A conversation; when it is one RAFT turn (user prompt with documents, quoted answer),
    with the RAFT example behind it."""
    roles = [m["role"] for m in messages]
    raft = None
    if roles in (["user", "assistant"], ["system", "user", "assistant"]):
        raft = raft_from_prompt(messages[-2]["content"], messages[-1]["content"], id=row_id or origin)
        if raft is not None and raft.instruction() != messages[-2]["content"]:
            raft = None  # the layout is not exactly ragtune's: leave the prompt as it is
        if raft is not None:
            system_prompt = messages[0]["content"] if roles[0] == "system" else None
    if raft is not None and raft.oracle_positions:
        key = raft.oracle_context()  # questions about one passage stay on one side of a split
    else:
        key = next((m["content"] for m in messages if m["role"] == "user"), messages[0]["content"])
    return Conversation(messages, raft, system_prompt, [_text_key(key)], origin)


def _text_key(text: str) -> str:
    return "text:" + hashlib.blake2b(" ".join(text.split()).encode("utf-8"), digest_size=8).hexdigest()


def _from_record(row: dict[str, Any], fmt: str, system_prompt: str | None, origin: str) -> Conversation:
    if fmt == "chat":
        return _structured(_check_messages(row["messages"], origin), system_prompt, origin)
    if fmt == "completion":
        return _from_prompt_completion(row["prompt"], row["completion"], system_prompt, origin)
    # hf: gorilla's RAFT record; the documents and titles are in context, the oracle(s) in oracle_context.
    documents = list(row["context"]["sentences"][0])
    titles = list(row["context"]["title"][0])
    oracle = row.get("oracle_context") or ""
    positions = [n for n, d in enumerate(documents) if d and (d == oracle or d in oracle.split("\n"))]
    if oracle and not positions:
        positions = [n for n, d in enumerate(documents) if d and d in oracle]
    example = RaftExample(str(row["id"]), row["question"], documents, titles, positions, row["cot_answer"],
                          type=str(row.get("type", "general")))
    if example.instruction() != row["instruction"]:
        raise ValueError(f"{origin}: 'instruction' is not the documents and question of this row in ragtune's "
                         "layout; rewrite the file with ragtune.raft.write_jsonl or use the chat format")
    return Conversation(_raft_messages(example, system_prompt), example, system_prompt,
                        [_text_key(oracle or row["question"])], origin)


def detect_format(row: Any) -> str:
    """``hf``, ``chat`` or ``completion``, from one record's keys."""
    if isinstance(row, dict):
        if "messages" in row:
            return "chat"
        if "prompt" in row and "completion" in row:
            return "completion"
        if {"instruction", "cot_answer", "context"} <= set(row):
            return "hf"
        if "gold_final_answer" in row:
            raise ValueError("this is an eval-format file (no chain-of-thought answer to learn from); write the "
                             "training split as hf, chat or completion")
    raise ValueError("cannot tell the format: rows need 'messages' (chat), 'prompt' and 'completion', or "
                     "gorilla's RAFT fields 'instruction', 'cot_answer', 'context' (hf)")


def read_file(path: str | os.PathLike[str], *, system_prompt: str | None = None) -> list[Conversation]:
    """Conversations from a JSONL or Parquet training file, validated first."""
    from ..raft.validate import _rows, validate

    location = Path(path)
    if not location.is_file():
        raise FileNotFoundError(f"training data {location} does not exist")
    try:
        first = next((row for _, _, row in _rows(location) if isinstance(row, dict)), None)
        if first is None:
            raise ValueError(f"{location} holds no JSON records; write one JSON object per line")
        fmt = detect_format(first)
        report = validate(location, fmt)
    except UnicodeDecodeError as error:
        raise ValueError(f"{location} is not UTF-8 text (byte {error.start}: {error.reason}); re-encode it as "
                         "UTF-8") from None
    if not report.ok:
        shown = "; ".join(report.problems[:3])
        raise ValueError(f"{location} is not a valid {fmt} file ({len(report.problems)} problems: {shown}); "
                         f"fix it, or re-check with ragtune.raft.validate({str(location)!r}, {fmt!r})")
    return [_from_record(row, fmt, system_prompt, f"{location.name}:{number}")
            for number, _, row in _rows(location) if isinstance(row, dict)]


def as_conversations(data: Any, *, system_prompt: str | None = None, what: str = "data") -> list[Conversation]:
    """Every accepted form of training data as a list of conversations.

    Examples
    --------
    >>> [c.messages[-1]["content"] for c in as_conversations([("Capital of France?", "Paris.")])]
    ['Paris.']
    """
    from ..raft.assemble import RaftDataset

    if isinstance(data, (str, os.PathLike)):
        conversations = read_file(data, system_prompt=system_prompt)
    else:
        if isinstance(data, RaftDataset):
            data = data.examples
        if not isinstance(data, Sequence) or isinstance(data, (bytes, dict)):
            raise TypeError(f"{what} must be a RaftDataset, a list of RaftExample, a JSONL/Parquet path, a list "
                            f"of chat conversations or of (prompt, completion) pairs; got {type(data).__name__}")
        conversations = []
        for n, item in enumerate(data):
            origin = f"{what}[{n}]"
            if isinstance(item, RaftExample):
                conversations.append(_from_raft(item, system_prompt, origin))
            elif isinstance(item, dict) and "messages" in item:
                conversations.append(_structured(_check_messages(item["messages"], origin), system_prompt, origin))
            elif isinstance(item, dict) and "prompt" in item and "completion" in item:
                conversations.append(_from_prompt_completion(item["prompt"], item["completion"], system_prompt,
                                                             origin))
            elif isinstance(item, list) and item and isinstance(item[0], dict):
                conversations.append(_structured(_check_messages(item, origin), system_prompt, origin))
            elif isinstance(item, tuple) and len(item) == 2:
                conversations.append(_from_prompt_completion(item[0], item[1], system_prompt, origin))
            else:
                raise TypeError(f"{origin} is a {type(item).__name__}; give RaftExamples, {{'messages': [...]}} "
                                "conversations, message lists, or (prompt, completion) pairs")
    if not conversations:
        raise ValueError(f"{what} holds no examples to train on")
    return conversations


def data_hash(conversations: Sequence[Conversation]) -> str:
    """A SHA-256 over the messages in order: the identity of a training set."""
    digest = hashlib.sha256()
    for conversation in conversations:
        digest.update(json.dumps(conversation.messages, ensure_ascii=False, sort_keys=True).encode("utf-8"))
        digest.update(b"\n")
    return digest.hexdigest()
