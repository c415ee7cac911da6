"""Fetch the hnswlib 0.8.0 headers from its PyPI sdist into DEST/hnswlib/.

ragtune builds its HNSW index on hnswlib's header-only C++ library. Debian ships
0.6.2, which lacks the filter functor and replace-deleted support, so the headers
come from the 0.8.0 source distribution on PyPI at set-up time; they are never
committed. Usage: python scripts/fetch_hnswlib.py DEST
"""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

VERSION = "0.8.0"


def _pip_command() -> list[str]:
    if importlib.util.find_spec("pip") is not None:
        return [sys.executable, "-m", "pip"]
    pip = shutil.which("pip3") or shutil.which("pip")
    if pip is None:
        sys.exit("fetch_hnswlib: no pip found to download the hnswlib sdist")
    return [pip]


def fetch(dest: Path) -> Path:
    target = dest / "hnswlib"
    if (target / "hnswlib.h").exists():
        return target
    with tempfile.TemporaryDirectory() as tmp:
        subprocess.run(
            [*_pip_command(), "download", f"hnswlib=={VERSION}", "--no-deps",
             "--no-binary", ":all:", "--no-build-isolation", "-q", "-d", tmp],
            check=True,
        )
        sdists = list(Path(tmp).glob("hnswlib-*.tar.gz"))
        if not sdists:
            sys.exit(f"fetch_hnswlib: pip did not download hnswlib-{VERSION}.tar.gz")
        staging = Path(tmp) / "staging"
        staging.mkdir()
        with tarfile.open(sdists[0]) as archive:
            members = [m for m in archive.getmembers()
                       if m.isfile() and m.name.count("/") == 2
                       and m.name.split("/")[1] == "hnswlib" and m.name.endswith(".h")]
            archive.extractall(staging, members=members, filter="data")
        headers = list(staging.glob("*/hnswlib/*.h"))
        if not any(h.name == "hnswlib.h" for h in headers):
            sys.exit("fetch_hnswlib: the sdist holds no hnswlib/hnswlib.h")
        partial = dest / "hnswlib.partial"
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        for header in headers:
            shutil.copy2(header, partial / header.name)
        partial.rename(target)  # publish all headers at once
    return target


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: python scripts/fetch_hnswlib.py DEST")
    print(fetch(Path(sys.argv[1]).resolve()))
