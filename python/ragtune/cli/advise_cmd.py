"""``ragtune advise``: RAG, fine-tuning, both, long context or a better prompt — with reasons.

Answers come from flags; with no flags on a terminal (or with ``--interactive``) the
advisor asks its questions one by one, and an empty answer means "don't know".
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ..advisor import CHANGE_FREQUENCIES, QUESTIONS, Situation, advise
from ..advisor.situation import LEVELS, STYLE_LEVELS
from .files import iter_documents

FLAGS = {  # Situation field -> argparse dest
    "knowledge_changes": "changes", "needs_citations": "citations", "labelled_examples": "examples",
    "latency_budget_ms": "latency_ms", "hallucination_cost": "hallucination_cost", "style": "style",
    "corpus_tokens": "corpus_tokens", "queries_per_day": "queries_per_day", "private_data": "private_data",
    "domain_vocabulary": "jargon",
}


def _parse_answer(text: str, kind: Any) -> Any:
    text = text.strip().lower()
    if not text or text in ("?", "unknown", "don't know", "dont know"):
        return None
    if kind is bool:
        if text in ("y", "yes", "true", "1"):
            return True
        if text in ("n", "no", "false", "0"):
            return False
        raise ValueError("answer yes or no (or leave empty: unknown)")
    if kind in (int, float):
        return kind(float(text.replace(",", "").replace("_", "")))
    if text not in kind:
        raise ValueError(f"answer one of {', '.join(kind)}")
    return text


def ask(read: Callable[[str], str] = input, write: Callable[[str], Any] = print) -> dict[str, Any]:
    """The advisor's questions, asked one by one; invalid answers are asked again."""
    answers: dict[str, Any] = {}
    for name, question, kind in QUESTIONS:
        options = " [yes/no]" if kind is bool else "" if kind in (int, float) else f" [{'/'.join(kind)}]"
        while True:
            try:
                value = _parse_answer(read(f"{question}{options} "), kind)
                break
            except ValueError as error:
                write(f"  {error}")
        if value is not None:
            answers[name] = value
    return answers


def _corpus_tokens(folders: list[str], follow_links: bool) -> int:
    """About 4 characters per token, as English text under common tokenisers."""
    characters = sum(len(text) for folder in folders for _, text in iter_documents(Path(folder),
                                                                                   follow_links=follow_links))
    return round(characters / 4)


def run_advise(args: argparse.Namespace) -> dict[str, Any]:
    inputs = {field: getattr(args, dest) for field, dest in FLAGS.items() if getattr(args, dest) is not None}
    if args.corpus:
        inputs["corpus_tokens"] = _corpus_tokens(args.corpus, args.follow_links)
    measured = {}
    for item in args.measured or []:
        name, _, value = item.partition("=")
        try:
            measured[name.strip()] = float(value)
        except ValueError:
            raise ValueError(f"--measured takes NAME=VALUE, e.g. recall@5=0.82; got {item!r}") from None
    if args.interactive or (not inputs and not measured and sys.stdin.isatty() and not args.json):
        inputs.update(ask())
    recommendation = advise(Situation(**inputs, context_window=args.context_window, measured=measured))
    if not args.json:
        print(recommendation.explain())
        if not inputs and not measured:
            print("\n(nothing was known: run 'ragtune advise --interactive' or pass flags, see --help)")
    return recommendation.to_dict()


def add_advise_command(commands: Any) -> None:
    parser = commands.add_parser(
        "advise", help="RAG, fine-tuning, hybrid, long context or prompting? a recommendation with reasons",
        description="Recommend a path from what you know and what you measured. Leave out what you don't know. "
        "Example: ragtune advise --changes weekly --citations --examples 50 --measured recall@5=0.82")
    parser.add_argument("--changes", choices=CHANGE_FREQUENCIES, help="how often the needed knowledge changes")
    parser.add_argument("--citations", action=argparse.BooleanOptionalAction, help="answers must cite sources")
    parser.add_argument("--examples", type=int, help="high-quality labelled examples available")
    parser.add_argument("--latency-ms", type=float, help="latency budget per answer")
    parser.add_argument("--hallucination-cost", choices=LEVELS, help="what a wrong answer costs")
    parser.add_argument("--style", choices=STYLE_LEVELS, help="format / tone requirements")
    parser.add_argument("--corpus-tokens", type=int, help="size of the documents, in tokens (0 = none)")
    parser.add_argument("--corpus", nargs="+", metavar="FOLDER", help="measure the corpus size from folders")
    parser.add_argument("--context-window", type=int, default=128_000, help="the model's window (default 128000)")
    parser.add_argument("--queries-per-day", type=float, help="expected volume")
    parser.add_argument("--private-data", action=argparse.BooleanOptionalAction, help="data barred from training")
    parser.add_argument("--jargon", action=argparse.BooleanOptionalAction,
                        help="the base model stumbles on your vocabulary")
    parser.add_argument("--measured", nargs="+", metavar="NAME=VALUE",
                        help="measurements, e.g. recall@5=0.82 faithfulness=0.9 retrieval_ms=12")
    parser.add_argument("--interactive", action="store_true", help="ask the questions one by one")
    parser.add_argument("--follow-links", action="store_true", help="follow links that leave --corpus folders")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(run=run_advise)
