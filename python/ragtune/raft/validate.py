"""Checking a RAFT dataset file before a fine-tuning job rejects it (or, worse,
silently trains on broken rows)."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .formats import FORMATS
from .quotes import ANSWER_MARKER

_ROLES_ORDER = ("system", "user", "assistant")


@dataclass(slots=True)
class ValidationReport:
    """Every problem found, as ``line N: message``; ``ok`` when there are none."""

    path: str
    format: str
    rows: int = 0
    problems: list[str] = field(default_factory=list)
    max_tokens: int | None = None

    @property
    def ok(self) -> bool:
        return not self.problems and self.rows > 0

    def __repr__(self) -> str:
        state = "ok" if self.ok else f"{len(self.problems)} problems"
        return f"ValidationReport({self.path!r}, format={self.format!r}, rows={self.rows}, {state})"


def _text(row: dict[str, Any], key: str, problems: list[str], line: int) -> str | None:
    value = row.get(key)
    if not isinstance(value, str) or not value.strip():
        problems.append(f"line {line}: {key!r} must be a non-empty string")
        return None
    return value


def _check_chat(row: dict[str, Any], problems: list[str], line: int) -> list[str]:
    messages = row.get("messages")
    if not isinstance(messages, list) or not messages:
        problems.append(f"line {line}: 'messages' must be a non-empty list")
        return []
    roles = [m.get("role") if isinstance(m, dict) else None for m in messages]
    expected = ["system", "user", "assistant"] if roles[0] == "system" else ["user", "assistant"]
    if roles != expected:
        problems.append(f"line {line}: roles are {roles}, expected {expected}")
    contents = []
    for n, message in enumerate(messages):
        content = message.get("content") if isinstance(message, dict) else None
        if not isinstance(content, str) or not content.strip():
            problems.append(f"line {line}: message {n} has empty content")
        else:
            contents.append(content)
    return contents


def _rows(path: Path) -> Any:
    """(line number, raw line or None, parsed row or an error message) for JSONL or Parquet."""
    if path.suffix == ".parquet":
        import pyarrow.parquet as pq

        try:
            table = pq.read_table(path)
        except Exception as error:  # noqa: BLE001 - any reader failure is a problem to report
            yield 1, None, f"not a readable Parquet file ({error})"
            return
        for number, row in enumerate(table.to_pylist(), start=1):
            yield number, None, row
        return
    with open(path, encoding="utf-8", errors="strict") as f:
        for number, line in enumerate(f, start=1):
            if not line.strip():
                yield number, line, "empty line"
                continue
            try:
                yield number, line, json.loads(line)
            except json.JSONDecodeError as error:
                yield number, line, f"not JSON ({error.msg})"


def validate(path: str | os.PathLike[str], format: str, *, tokenizer: Any = None,
             max_tokens: int | None = None) -> ValidationReport:
    """Check every row of a JSONL or Parquet file in one of the RAFT formats.

    With a Hugging Face ``tokenizer``, also counts each row's tokens (all message or
    prompt text) and reports rows above ``max_tokens``.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "chat.jsonl"
    >>> _ = p.write_text('{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": ""}]}\\n')
    >>> validate(p, "chat").problems
    ['line 1: message 1 has empty content']
    """
    if format not in FORMATS:
        raise ValueError(f"unknown format {format!r}; choose one of {', '.join(FORMATS)}")
    report = ValidationReport(str(path), format)
    longest = 0
    for line_number, _, row in _rows(Path(path)):
        if isinstance(row, str):
            report.problems.append(f"line {line_number}: {row}")
            continue
        if not isinstance(row, dict):
            report.problems.append(f"line {line_number}: not a JSON object")
            continue
        report.rows += 1
        texts: list[str] = []
        if format == "chat":
            texts = _check_chat(row, report.problems, line_number)
        elif format == "completion":
            texts = [t for t in (_text(row, "prompt", report.problems, line_number),
                                 _text(row, "completion", report.problems, line_number)) if t]
        elif format == "eval":
            for key in ("question", "gold_final_answer", "context"):
                _text(row, key, report.problems, line_number)
        else:
            for key in ("id", "question", "cot_answer", "instruction"):
                value = _text(row, key, report.problems, line_number)
                if key == "instruction" and value:
                    texts.append(value)
            context = row.get("context")
            if (not isinstance(context, dict) or not isinstance(context.get("title"), list)
                    or not isinstance(context.get("sentences"), list) or len(context["title"]) != 1
                    or len(context["sentences"]) != 1 or len(context["title"][0]) != len(context["sentences"][0])):
                report.problems.append(f"line {line_number}: 'context' must be {{title: [[...]], sentences: [[...]]}} "
                                       "with one title per document")
            if isinstance(row.get("cot_answer"), str) and ANSWER_MARKER not in row["cot_answer"]:
                report.problems.append(f"line {line_number}: cot_answer has no {ANSWER_MARKER}")
        if tokenizer is not None and texts:
            count = sum(len(tokenizer.tokenize(t)) for t in texts)
            longest = max(longest, count)
            if max_tokens is not None and count > max_tokens:
                report.problems.append(f"line {line_number}: {count} tokens, above the limit of {max_tokens}")
    if report.rows == 0:
        report.problems.append("the file holds no rows")
    report.max_tokens = longest if tokenizer is not None else None
    return report
