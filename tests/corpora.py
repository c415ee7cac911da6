"""Real documents the tests run on: Debian's python3.11-doc and linux-doc-6.1
reST sources (installed by scripts/setup.sh), read once per session."""

from __future__ import annotations

import functools
import gzip
from pathlib import Path

PYTHON_DOCS = Path("/usr/share/doc/python3.11/html/_sources")
LINUX_DOCS = Path("/usr/share/doc/linux-doc-6.1/Documentation")


def _require(folder: Path, package: str) -> None:
    if not folder.is_dir():
        raise RuntimeError(f"{folder} is missing: install the Debian package {package} (scripts/setup.sh does)")


@functools.cache
def python_docs() -> dict[str, str]:
    """{relative path: text} of the Python 3.11 documentation sources (~500 files)."""
    _require(PYTHON_DOCS, "python3.11-doc")
    return {str(p.relative_to(PYTHON_DOCS)): p.read_text(encoding="utf-8")
            for p in sorted(PYTHON_DOCS.rglob("*.rst.txt"))}


@functools.cache
def linux_docs() -> dict[str, str]:
    """{relative path: text} of the Linux 6.1 reST documentation (~3,200 files)."""
    _require(LINUX_DOCS, "linux-doc-6.1")
    out = {}
    for p in sorted(LINUX_DOCS.rglob("*.rst.gz")):
        with gzip.open(p, "rb") as f:
            out[str(p.relative_to(LINUX_DOCS))] = f.read().decode("utf-8", errors="replace")
    return out


def sample(docs: dict[str, str], every: int) -> list[str]:
    """Every n-th document, for tests that need variety more than volume."""
    return [text for i, (_, text) in enumerate(sorted(docs.items())) if i % every == 0]
