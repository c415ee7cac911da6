"""Print the requirements pyproject.toml declares — the build system's, the
package's own, and those of the extras named on the command line (nested extras such
as ``all`` resolved) — one per line, so scripts/setup.sh installs exactly what
pyproject.toml lists and nothing is declared twice.

    python scripts/pyproject_requirements.py all dev
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path


def requirements(extras: list[str]) -> list[str]:
    project = tomllib.loads((Path(__file__).resolve().parent.parent / "pyproject.toml").read_text(encoding="utf-8"))
    optional = project["project"].get("optional-dependencies", {})
    out = [*project["build-system"]["requires"], *project["project"].get("dependencies", [])]
    pending, seen = list(extras), set()
    while pending:
        extra = pending.pop()
        if extra in seen:
            continue
        if extra not in optional:
            raise SystemExit(f"pyproject.toml has no extra {extra!r}; it has {', '.join(sorted(optional))}")
        seen.add(extra)
        for requirement in optional[extra]:
            nested = re.fullmatch(r"ragtune\[([^\]]+)\]", requirement)
            if nested:
                pending.extend(name.strip() for name in nested.group(1).split(","))
            else:
                out.append(requirement)
    return list(dict.fromkeys(out))


if __name__ == "__main__":
    print("\n".join(requirements(sys.argv[1:])))
