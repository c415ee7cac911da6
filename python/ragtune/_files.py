"""Durable file writes shared by every part of ragtune that saves something: a file is
either its old self or its new self after a crash, never half of each."""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO, Any


def fsync_path(path: str | os.PathLike[str]) -> None:
    """fsync a file or a directory (so a rename inside it is durable)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_file(path: str | os.PathLike[str], data: bytes) -> None:
    """Write ``data`` to ``path`` and fsync it (for files inside a staging folder)."""
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


@contextmanager
def atomic_output(path: str | os.PathLike[str], *, binary: bool = False) -> Iterator[IO[Any]]:
    """A file handle whose content replaces ``path`` only when the block ends without an
    error: written to a temporary file beside it, fsynced, renamed over it."""
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(prefix=f".{target.name}.", suffix=".tmp", dir=target.parent)
    try:
        with os.fdopen(fd, "wb" if binary else "w", **({} if binary else {"encoding": "utf-8"})) as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def write_json_atomically(path: str | os.PathLike[str], data: Any) -> None:
    """``data`` as indented JSON in ``path``, atomically."""
    with atomic_output(path) as handle:
        json.dump(data, handle, indent=1)


def read_json(path: str | os.PathLike[str], *, what: str) -> Any:
    """A JSON file's content; ValueError naming ``what`` and the file when it is not UTF-8
    JSON (FileNotFoundError passes through for the caller to explain)."""
    try:
        return json.loads(Path(path).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{what} {path} is not valid JSON ({error})") from None
