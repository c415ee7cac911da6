"""Generating RAFT questions and chain-of-thought answers from chunks with an LLM.

The LLM is pluggable: any callable ``prompt -> str``, or a LangChain chat model /
Runnable (anything with ``.invoke``). Work runs on threads with retries and a
progress bar, and every finished chunk is appended to a checkpoint file (flushed
and fsynced), so an interrupted run resumes where it stopped without asking the
LLM again for finished chunks.
"""

from __future__ import annotations

import json
import os
import re
import threading
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from .._inputs import as_int
from ..chunking.chunk import Chunk
from ..llm import as_completion
from ..qa import QAPair
from .assemble import chunk_id
from .quotes import ANSWER_MARKER, BEGIN_QUOTE, END_QUOTE, parse_cot_answer

QUESTION_PROMPT = (
    "Below is a passage from a document. Write {count} questions that a reader could ask and that this "
    "passage answers on its own, each answerable in a few words. Put one question per line and nothing "
    "else.\n\nPassage:\n{context}"
)
ANSWER_PROMPT = (
    "Question: {question}\n\nContext:\n{context}\n\n"
    "Answer the question from the context. Reason step by step first. Whenever you use words from the "
    "context, copy them exactly and put them between " + BEGIN_QUOTE + " and " + END_QUOTE + "; anything "
    "outside those markers is your own words. Finish with a line that starts with \"" + ANSWER_MARKER +
    "\" followed by a short final answer."
)
_NUMBERING = re.compile(r"^\s*(?:[-*•]|\d+[.)]|Q\d*[:.])\s*")


class LLMError(RuntimeError):
    """The LLM failed (or answered nothing) on every attempt."""


def parse_questions(text: str, limit: int) -> list[str]:
    """Questions from an LLM's list: one per line, numbering and bullets removed,
    lines without letters dropped.

    Examples
    --------
    >>> parse_questions("1. What is X?\\n2) Why Y?\\n\\n- How Z?", 2)
    ['What is X?', 'Why Y?']
    """
    questions = []
    for line in str(text).splitlines():
        question = _NUMBERING.sub("", line).strip().strip('"')
        if any(c.isalpha() for c in question) and question not in questions:
            questions.append(question)
    return questions[:limit]


class _Checkpoint:
    """Finished chunks, one JSON line each, appended with fsync; a torn last line
    (a crash mid-write) is discarded on resume."""

    def __init__(self, path: Path | None, *, read_only: bool = False) -> None:
        self.path = path
        self.done: dict[str, list[dict[str, Any]]] = {}
        self._lock = threading.Lock()
        if path is None or not path.exists():
            return
        lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
        good = []
        for line in lines:
            try:
                entry = json.loads(line)
            except json.JSONDecodeError:
                break  # torn write: everything after it is untrusted
            if not line.endswith("\n"):
                break
            self.done[entry["chunk"]] = entry["items"]
            good.append(line)
        if len(good) != len(lines) and not read_only:  # another process may be appending to a file read only
            path.write_text("".join(good), encoding="utf-8")

    def record(self, chunk: str, items: list[dict[str, Any]]) -> None:
        self.done[chunk] = items
        if self.path is None:
            return
        with self._lock, open(self.path, "a", encoding="utf-8") as f:
            f.write(json.dumps({"chunk": chunk, "items": items}, ensure_ascii=False) + "\n")
            f.flush()
            os.fsync(f.fileno())


def generate_qa(
    chunks: Sequence[Chunk],
    llm: Any,
    *,
    questions_per_chunk: int = 3,
    system_prompt: str | None = None,
    threads: int = 4,
    retries: int = 3,
    retry_wait: float = 1.0,
    checkpoint: str | os.PathLike[str] | None = None,
    progress: bool | None = None,
) -> list[QAPair]:
    """Questions and chain-of-thought answers for each chunk (its oracle), in chunk order,
    as :class:`~ragtune.qa.QAPair` objects (``oracle_ids`` the chunk, ``cot_answer`` the
    LLM's answer, ``answer`` its final answer, ids ``<chunk id>:q<k>``) ready for
    :func:`~ragtune.raft.assemble`.

    Parameters
    ----------
    chunks : the passages to ask about (Chunks with sources)
    llm : a callable ``prompt -> str`` or a LangChain chat model / Runnable
    questions_per_chunk : how many questions to ask per chunk
    system_prompt : prepended (callables) or sent as the system message (LangChain)
    threads : concurrent LLM calls
    retries : attempts per call; failures or empty answers wait ``retry_wait`` × attempt
    checkpoint : a JSONL file; finished chunks are appended and skipped when resuming

    Examples
    --------
    >>> from ragtune import RecursiveChunker
    >>> chunk = RecursiveChunker(chunk_size=100, chunk_overlap=0).split("Tea is brewed hot.", source="t")[0]
    >>> def llm(prompt):
    ...     if prompt.startswith("Question:"):
    ...         return "It says ##begin_quote##Tea is brewed hot.##end_quote## <ANSWER>: hot"
    ...     return "1. How is tea brewed?"
    >>> [(i.question, i.oracle_ids, i.answer) for i in generate_qa([chunk], llm, questions_per_chunk=1)]
    [('How is tea brewed?', ('t#0',), 'hot')]
    """
    state = _Checkpoint(Path(checkpoint) if checkpoint is not None else None)
    generate_into(state, chunks, llm, questions_per_chunk=questions_per_chunk, system_prompt=system_prompt,
                  threads=threads, retries=retries, retry_wait=retry_wait, progress=progress)
    ids = [chunk_id(c) for c in chunks]
    return [pair for chunk, id_ in zip(chunks, ids) for pair in pairs_from_entries(chunk, id_, state.done.get(id_, []))]


def generate_into(state: _Checkpoint, chunks: Sequence[Chunk], llm: Any, *, questions_per_chunk: int = 3,
                  system_prompt: str | None = None, threads: int = 4, retries: int = 3, retry_wait: float = 1.0,
                  progress: bool | None = None) -> None:
    """:func:`generate_qa`'s work: ask about every chunk ``state`` has not finished, and
    record each as it finishes. A caller that keeps ``state`` (a Ray actor going from
    batch to batch) reads its checkpoint once, not once per call."""
    questions_per_chunk = as_int(questions_per_chunk, name="questions_per_chunk", minimum=1, maximum=100)
    threads = as_int(threads, name="threads", minimum=1, maximum=256)
    retries = as_int(retries, name="retries", minimum=1, maximum=100)
    complete = as_completion(llm, system_prompt)
    ids = [chunk_id(c) for c in chunks]

    def ask(prompt: str) -> str:
        for attempt in range(1, retries + 1):
            try:
                answer = complete(prompt)
                if isinstance(answer, str) and answer.strip():
                    return answer
            except Exception:  # noqa: BLE001 - LLM clients raise anything; retried, then reported
                if attempt == retries:
                    raise
            if attempt < retries:
                time.sleep(retry_wait * attempt)
        raise LLMError(f"the LLM returned nothing usable after {retries} attempts")

    def work(position: int) -> None:
        chunk, id_ = chunks[position], ids[position]
        questions = parse_questions(ask(QUESTION_PROMPT.format(count=questions_per_chunk, context=chunk.text)),
                                    questions_per_chunk)
        items = [{"question": q, "cot_answer": ask(ANSWER_PROMPT.format(question=q, context=chunk.text))}
                 for q in questions]
        state.record(id_, items)

    pending = [n for n, id_ in enumerate(ids) if id_ not in state.done]
    show = progress if progress is not None else len(pending) > 20
    with tqdm(total=len(ids), initial=len(ids) - len(pending), unit="chunk", desc="generating",
              disable=not show) as bar:
        pool = ThreadPoolExecutor(max_workers=threads)
        try:
            for future in [pool.submit(work, n) for n in pending]:
                future.result()  # re-raises the first failure after retries
                bar.update(1)
        finally:
            # On failure, chunks not yet started are not sent to the LLM; finished ones are checkpointed.
            pool.shutdown(wait=True, cancel_futures=True)


def pairs_from_entries(chunk: Chunk, id_: str, entries: list[dict[str, Any]]) -> list[QAPair]:
    """The QAPairs of one chunk's generated (question, chain-of-thought answer) entries."""
    out = []
    for k, entry in enumerate(entries):
        cot = entry["cot_answer"]
        # An answer without the final-answer marker keeps its whole text as the answer.
        answer = None if parse_cot_answer(cot).answer else cot.strip()
        out.append(QAPair(entry["question"], answer, source=chunk.source, id=f"{id_}:q{k}", oracle_ids=(id_,),
                          cot_answer=cot))
    return out
