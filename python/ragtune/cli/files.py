"""Reading a folder of documents for the command line."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

DOCUMENT_SUFFIXES = (".txt", ".md", ".rst", ".html", ".htm")
#: Larger files are skipped (and named on stderr): a document this size is almost
#: certainly a dump or a mistake, and reading it whole would exhaust memory.
MAX_DOCUMENT_BYTES = 64 << 20


def document_paths(folder: Path, *, follow_links: bool = False,
                   max_bytes: int = MAX_DOCUMENT_BYTES) -> Iterator[tuple[str, Path]]:
    """(relative path, path) of every document under ``folder``, sorted, without reading them.

    Links that lead outside the folder are skipped unless ``follow_links``; files over
    ``max_bytes`` are skipped with a note on stderr.
    """
    folder = folder.resolve()
    if not folder.is_dir():
        raise OSError(f"{folder} is not a folder of documents")
    for path in sorted(folder.rglob("*")):
        if not path.is_file() or not path.name.lower().endswith(
            DOCUMENT_SUFFIXES + tuple(s + ".txt" for s in DOCUMENT_SUFFIXES)
        ):
            continue
        if not follow_links and not path.resolve().is_relative_to(folder):
            continue
        size = path.stat().st_size
        if size > max_bytes:
            print(f"note: skipped {path}: {size / 1e6:.0f} MB is over the {max_bytes / 1e6:.0f} MB per-document limit",
                  file=sys.stderr)
            continue
        yield str(path.relative_to(folder)), path


def read_document(path: Path) -> str:
    """A document's text: bytes that are not UTF-8 are replaced (and the file still
    indexed) rather than aborting a run."""
    return path.read_bytes().decode("utf-8", errors="replace")


def iter_documents(folder: Path, *, follow_links: bool = False,
                   max_bytes: int = MAX_DOCUMENT_BYTES) -> Iterator[tuple[str, str]]:
    """(relative path, text) of every document under ``folder``, sorted (the rules of
    :func:`document_paths` and :func:`read_document`)."""
    for name, path in document_paths(folder, follow_links=follow_links, max_bytes=max_bytes):
        yield name, read_document(path)


def documents_by_source(folders: list[str], *, follow_links: bool) -> dict[str, str]:
    """``{source: text}`` named as ``ragtune index`` names sources (``folder/relative/path``)."""
    documents = {}
    for folder in folders:
        for name, text in iter_documents(Path(folder), follow_links=follow_links):
            documents[str(Path(Path(folder).resolve().name) / name)] = text
    return documents
