"""A small real filesystem for disk-full tests: a tmpfs of a given size (needs root;
tests skip where mounting is not allowed)."""

from __future__ import annotations

import contextlib
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest


def mount_tmpfs(folder: Path, size: int) -> bool:
    folder.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(folder)], capture_output=True)
    return made.returncode == 0


def resize_tmpfs(folder: Path, size: int) -> None:
    subprocess.run(["mount", "-o", f"remount,size={size}", str(folder)], check=True)


@contextlib.contextmanager
def small_disk(parent: Path, size: int) -> Iterator[Path]:
    """A folder on its own tmpfs of ``size`` bytes, unmounted afterwards."""
    disk = parent / f"disk-{uuid.uuid4().hex[:6]}"
    if not mount_tmpfs(disk, size):
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        yield disk
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)
