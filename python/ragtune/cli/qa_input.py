"""Question–answer pairs for the command line: a JSONL file or FAQ documents."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from ..datasets import parse_faq
from ..qa import QAPair


def read_qa_jsonl(path: str | Path) -> list[QAPair]:
    """One JSON object per line, as :meth:`QAPair.to_dict` writes it: ``question`` and
    ``answer`` (or ``cot_answer``), optionally ``id``, ``source``, ``start``/``end`` (the
    answer's offsets in that source), ``oracle_ids`` and ``question_start``."""
    pairs = []
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):
            if not raw.strip():
                continue
            try:
                item = json.loads(raw)
            except (json.JSONDecodeError, UnicodeDecodeError) as error:
                raise ValueError(f"{path}:{number}: not a JSON object ({error})") from None
            if not isinstance(item, dict) or "question" not in item or not {"answer", "cot_answer"} & set(item):
                raise ValueError(f"{path}:{number}: each line needs \"question\" and \"answer\"")
            try:
                pairs.append(QAPair.from_dict(item, ignore_unknown=True))
            except (TypeError, ValueError) as error:
                raise ValueError(f"{path}:{number}: {error}") from None
    if not pairs:
        raise ValueError(f"{path} holds no question-answer pairs")
    return pairs


def faq_pairs(documents: dict[str, str]) -> list[QAPair]:
    """Every "...?" section title with its answer, located in its document."""
    pairs = [p for source, text in documents.items() for p in parse_faq(text, source=source)]
    if not pairs:
        raise ValueError("no FAQ questions found: --faq expects reST/Markdown documents whose section titles end "
                         "with '?'; give --qa pairs.jsonl otherwise")
    return pairs


def add_document_arguments(parser: Any) -> None:
    """The inputs every command that reads documents and questions takes (read back by
    :func:`documents_and_pairs`)."""
    parser.add_argument("folders", nargs="+", help="folders of .txt/.md/.rst/.html documents")
    parser.add_argument("--faq", action="store_true", help="questions are the documents' titles ending in '?'")
    parser.add_argument("--qa", help="JSONL of {\"question\", \"answer\"}; answers are located in the documents")
    parser.add_argument("--follow-links", action="store_true", help="follow links that leave the folder")


def documents_and_pairs(folders: list[str], *, faq: bool, qa: str | None,
                        follow_links: bool) -> tuple[dict[str, str], list[QAPair]]:
    """The documents of ``folders`` and the question-answer pairs: their FAQ titles
    (``--faq``) or a JSONL file (``--qa``)."""
    from .files import documents_by_source

    if not qa and not faq:
        raise ValueError("give the questions: --faq (FAQ titles in the folders) or --qa pairs.jsonl")
    documents = documents_by_source(folders, follow_links=follow_links)
    if not documents:
        raise ValueError(f"no .txt/.md/.rst/.html documents under {', '.join(folders)}")
    return documents, faq_pairs(documents) if faq else read_qa_jsonl(qa)
