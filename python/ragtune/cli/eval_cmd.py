"""``ragtune eval INDEX (--qa PAIRS.jsonl | --faq FOLDER)``: retrieval quality of a saved index."""

from __future__ import annotations

import argparse
import warnings
from typing import Any

from ..evaluate import METRICS, build_qrels, evaluate_retriever
from ..index import Index
from .index_cmd import make_embedder
from .files import documents_by_source
from .qa_input import faq_pairs, read_qa_jsonl


def run_eval(args: argparse.Namespace) -> dict[str, Any]:
    if not args.qa and not args.faq:
        raise ValueError("give the questions: --qa pairs.jsonl, or --faq FOLDER (FAQ documents)")
    index = Index.load(args.index, embedding=make_embedder(args.embedder))
    documents = documents_by_source(args.faq or args.docs or [], follow_links=args.follow_links)
    pairs = faq_pairs(documents) if args.faq else read_qa_jsonl(args.qa)
    stored = index.get(index.ids())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        qrels = build_qrels(pairs, stored, documents=documents or None)
    result = evaluate_retriever(index, pairs, qrels, k=args.k, mode=args.mode)
    if args.faq:
        caught.extend(_headings_indexed(pairs, stored))
    summary: dict[str, Any] = {
        "index": args.index, "mode": args.mode, "questions": len(pairs), "judged": len(qrels),
        "metrics": {name: round(value, 4) for name, value in result.scores.mean.items()},
        "queries_per_second": round(result.queries_per_second, 1),
        "warnings": [str(w.message) for w in caught],
    }
    gate = f"recall@{args.at}"
    if args.min_recall is not None:
        if gate not in result.scores.mean:
            raise ValueError(f"--at {args.at} is not among the cut-offs -k {' '.join(map(str, args.k))}")
        summary["passed"] = result.scores.mean[gate] >= args.min_recall
        if not summary["passed"]:
            args.exit_code = 1
    if not args.json:
        for message in summary["warnings"]:
            print(f"note: {message}")
        print(f"{summary['judged']} of {summary['questions']} questions judged, {args.mode} search, "
              f"{summary['queries_per_second']:,} queries/s")
        print("metric      " + "".join(f"{'@' + str(k):>9}" for k in result.scores.k))
        for metric in METRICS:
            print(f"{metric:<12}" + "".join(f"{result.scores.mean[f'{metric}@{k}']:>9.3f}" for k in result.scores.k))
        if "passed" in summary:
            verdict = "passed" if summary["passed"] else "FAILED"
            print(f"{gate} = {result.scores.mean[gate]:.3f} (minimum {args.min_recall}): {verdict}")
    return summary


class _Note:
    """A note shown beside the warnings build_qrels raised."""

    def __init__(self, message: str) -> None:
        self.message = message


def _headings_indexed(pairs: list[Any], stored: list[Any]) -> list[_Note]:
    """A note when FAQ questions stand verbatim in the indexed chunks of their own file:
    retrieval can then match a question to its heading, which real users' questions
    will not do."""
    texts_by_source: dict[Any, list[str]] = {}
    for hit in stored:
        texts_by_source.setdefault(hit.source, []).append(hit.text)
    found = sum(any(p.question in t for t in texts_by_source.get(p.source, [])) for p in pairs)
    if not found:
        return []
    return [_Note(f"{found} of {len(pairs)} questions stand verbatim in the index (their FAQ headings), so "
                  "retrieval can find an answer by its question's own text and these figures overstate what "
                  "users' questions will get; ragtune compare blanks the headings out of what it indexes")]


def add_eval_command(commands: Any) -> None:
    parser = commands.add_parser(
        "eval", help="measure retrieval (recall, precision, MRR, nDCG, hit rate) on question-answer pairs",
        description="Judge a saved index on question-answer pairs: a chunk is relevant when it holds the answer's "
        "first 300 characters (see ragtune.evaluate.build_qrels). Exit code 1 when --min-recall is not met.")
    parser.add_argument("index", help="an index folder written by 'ragtune index'")
    parser.add_argument("--qa", help="JSONL of {\"question\", \"answer\"[, \"source\", \"start\", \"end\", \"id\"]}")
    parser.add_argument("--faq", nargs="+", metavar="FOLDER", help="FAQ documents (titles ending in '?') to take "
                        "questions from; must be folders that were indexed")
    parser.add_argument("--docs", nargs="+", metavar="FOLDER", help="the indexed folders, to locate --qa answers")
    parser.add_argument("-k", type=int, nargs="+", default=[1, 3, 5, 10], help="cut-offs (default 1 3 5 10)")
    parser.add_argument("--mode", default="hybrid", choices=["dense", "bm25", "hybrid"])
    parser.add_argument("--embedder", default=None, choices=["minilm", "hashing"],
                        help="default: the embedder the index was built with (saved with it)")
    parser.add_argument("--min-recall", type=float, help="fail (exit code 1) below this recall")
    parser.add_argument("--at", type=int, default=5, help="the k of --min-recall (default 5)")
    parser.add_argument("--follow-links", action="store_true", help="follow links that leave the folder")
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(run=run_eval)
