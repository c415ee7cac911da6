"""The ``ragtune`` command line (also ``python -m ragtune``)."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from .cli.chunk import add_chunk_command
from .cli.index_cmd import add_index_command
from .cli.info import add_info_command
from .cli.merge_cmd import add_merge_command
from .cli.query_cmd import add_query_command


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="ragtune", description="RAG or fine-tuning, at native speed.")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    commands = parser.add_subparsers(dest="command", required=True)
    add_info_command(commands)
    add_chunk_command(commands)
    add_index_command(commands)
    add_query_command(commands)
    add_merge_command(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result = args.run(args)
    except (OSError, ValueError, TypeError, KeyError) as error:
        if args.debug:
            raise
        print(f"ragtune {args.command}: error: {error}", file=sys.stderr)
        return 2
    if getattr(args, "json", False):
        print(json.dumps(result, indent=2, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
