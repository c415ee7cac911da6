"""Runs one Python fuzz target under atheris.

    .venv/bin/python tests/fuzz/run_atheris.py TARGET [libFuzzer flags] [CORPUS_DIR ...]

e.g. ``run_atheris.py py_chunkers -max_total_time=60 build/fuzz-work/py_chunkers tests/fuzz/corpus/py_chunkers``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))

import atheris  # noqa: E402

import py_targets  # noqa: E402


def main() -> None:
    if len(sys.argv) < 2 or sys.argv[1] not in py_targets.TARGETS:
        sys.exit(f"usage: run_atheris.py TARGET [flags] [corpus...]; targets: {', '.join(py_targets.TARGETS)}")
    target = py_targets.TARGETS[sys.argv[1]]
    atheris.Setup([sys.argv[0], *sys.argv[2:]], target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
