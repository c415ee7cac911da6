"""Reading a folder of documents for the command line."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

DOCUMENT_SUFFIXES = (".txt", ".md", ".rst", ".html", ".htm")


def iter_documents(folder: Path, *, follow_links: bool = False) -> Iterator[tuple[str, str]]:
    """(relative path, text) of every document under ``folder``, sorted.

    Links that lead outside the folder are skipped unless ``follow_links``; bytes that
    are not UTF-8 are replaced (and the file still indexed) rather than aborting a run.
    """
    folder = folder.resolve()
    if not folder.is_dir():
        raise OSError(f"{folder} is not a folder of documents")
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or not path.name.lower().endswith(DOCUMENT_SUFFIXES + tuple(s + ".txt" for s in DOCUMENT_SUFFIXES)):
            continue
        if not follow_links and not path.resolve().is_relative_to(folder):
            continue
        yield str(path.relative_to(folder)), path.read_bytes().decode("utf-8", errors="replace")
