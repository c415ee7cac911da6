"""The ``ragtune`` command line (also ``python -m ragtune``).

Exit codes: 0 success; 1 a check did not pass (``eval --min-recall``, ``raft``
validation, ``finetune``'s loss diverged); 2 bad input or usage; 3 a file or folder
problem (a full disk included); 4 a missing optional dependency; 5 an internal error
(a bug: please report it); 130 interrupted. Errors print one line; ``--debug`` shows
the traceback.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence

from .cli.advise_cmd import add_advise_command
from .cli.chunk import add_chunk_command
from .cli.compare_cmd import add_compare_command
from .cli.eval_cmd import add_eval_command
from .cli.finetune_cmd import add_finetune_command
from .cli.index_cmd import add_index_command
from .cli.info import add_info_command
from .cli.merge_cmd import add_merge_command
from .cli.query_cmd import add_query_command
from .cli.raft_cmd import add_raft_command

EXIT_OK, EXIT_CHECK_FAILED, EXIT_BAD_INPUT, EXIT_IO_ERROR, EXIT_MISSING_DEPENDENCY, EXIT_INTERNAL = 0, 1, 2, 3, 4, 5
EXIT_INTERRUPTED = 130


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ragtune", description="RAG or fine-tuning, at native speed.",
        epilog="exit codes: 0 ok, 1 check failed, 2 bad input, 3 file error, 4 missing dependency, "
               "5 internal error, 130 interrupted")
    parser.add_argument("--debug", action="store_true", help="show tracebacks on errors")
    commands = parser.add_subparsers(dest="command", required=True)
    for add in (add_info_command, add_chunk_command, add_index_command, add_query_command, add_eval_command,
                add_raft_command, add_finetune_command, add_merge_command, add_compare_command,
                add_advise_command):
        add(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    args.exit_code = EXIT_OK
    try:
        result = args.run(args)
    except KeyboardInterrupt:
        print(f"ragtune {args.command}: interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:  # one line for the user; the traceback only on --debug
        if args.debug:
            raise
        code = (EXIT_MISSING_DEPENDENCY if isinstance(error, ImportError)
                else EXIT_IO_ERROR if isinstance(error, OSError)
                else EXIT_BAD_INPUT if isinstance(error, (ValueError, TypeError, KeyError))
                else EXIT_INTERNAL)
        message = error.args[0] if isinstance(error, KeyError) and error.args else error
        hint = (" (install it with: pip install 'ragtune[all]')" if code == EXIT_MISSING_DEPENDENCY
                else f" [internal {type(error).__name__}: rerun with --debug and report it]"
                if code == EXIT_INTERNAL else "")
        print(f"ragtune {args.command}: error: {message}{hint}", file=sys.stderr)
        return code
    if getattr(args, "json", False):
        print(json.dumps(result, indent=2, ensure_ascii=False, default=str))
    return args.exit_code


if __name__ == "__main__":
    sys.exit(main())
