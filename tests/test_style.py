"""The house style, applied once and kept: ruff (pyproject.toml's [tool.ruff]) on the
Python, notebooks included, and clang-format (.clang-format) on the C++."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def test_python_passes_ruff():
    result = subprocess.run([sys.executable, "-m", "ruff", "check", "--no-cache", str(ROOT)], capture_output=True,
                            text=True, cwd=ROOT, timeout=300)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]


def test_cpp_is_clang_formatted():
    tool = shutil.which("clang-format")
    assert tool, "clang-format is missing: run bash scripts/setup.sh (it installs Debian's clang-format)"
    files = sorted(str(p.relative_to(ROOT)) for p in (ROOT / "cpp").rglob("*") if p.suffix in (".cpp", ".hpp"))
    assert files
    result = subprocess.run([tool, "--dry-run", "--Werror", *files], capture_output=True, text=True, cwd=ROOT,
                            timeout=300)
    assert result.returncode == 0, "run: find cpp -name '*.[ch]pp' | xargs clang-format -i\n" + result.stderr[-4000:]
