"""Saving an index as a directory that survives crashes.

Layout::

    PATH/CURRENT                  names the live snapshot ("snapshot-000007")
    PATH/snapshot-000007/
        manifest.json             format, version, settings, and each file's size and SHA-256
        vectors.bin  graph.bin  bm25.bin  records.jsonl
        state.json                sources and their content hashes (Index.sync), over-window ids
        embedding-cache-*.npy     the embedding cache (raw vectors by text digest)

state.json and the cache are rebuildable: when either fails its check, the index
loads without it (with a warning) and rebuilds it; every other file is required.

A save writes a complete new snapshot next to the old one (every file fsynced),
then atomically replaces CURRENT (write, fsync, rename, fsync the folder), then
deletes older snapshots. A crash at any moment leaves CURRENT naming a complete
snapshot. Loading checks every size and checksum before the C++ loaders (which
validate structure again) see a byte; nothing is ever unpickled.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
from pathlib import Path
from typing import Any

from .._files import fsync_path, write_file

FORMAT = "ragtune-index"
# 2: graph files hold links and slots only (the vectors live in vectors.bin alone).
# Version 1 snapshots still load: their graphs are converted when read.
VERSION = 2
READABLE_VERSIONS = (1, 2)
CURRENT = "CURRENT"
_SNAPSHOT = re.compile(r"^snapshot-(\d{6,})$")


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def current_snapshot(root: Path) -> Path | None:
    """The snapshot CURRENT names, or None when root holds no saved index."""
    pointer = root / CURRENT
    if not pointer.exists():
        return None
    name = pointer.read_text(encoding="utf-8").strip()
    if not _SNAPSHOT.match(name) or not (root / name).is_dir():
        raise ValueError(f"{pointer} names {name!r}, which is not a snapshot in {root}; the index is damaged")
    return root / name


def begin_snapshot(root: Path) -> Path:
    """A fresh, empty staging folder for the next snapshot."""
    if root.exists() and not root.is_dir():
        raise OSError(f"{root} exists and is not a folder; choose another path to save the index to")
    if root.exists() and any(root.iterdir()) and not (root / CURRENT).exists():
        raise OSError(f"{root} is a non-empty folder that is not a ragtune index; refusing to write into it")
    root.mkdir(parents=True, exist_ok=True)
    numbers = [int(m.group(1)) for p in root.iterdir() if (m := _SNAPSHOT.match(p.name.removesuffix(".tmp")))]
    staging = root / f"snapshot-{max(numbers, default=0) + 1:06d}.tmp"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    return staging


def commit_snapshot(root: Path, staging: Path, settings: dict[str, Any]) -> Path:
    """Write the manifest, publish the snapshot, switch CURRENT to it, drop older ones."""
    files = {}
    for path in sorted(staging.iterdir()):
        fsync_path(path)
        files[path.name] = {"bytes": path.stat().st_size, "sha256": sha256_of(path)}
    manifest = {"format": FORMAT, "version": VERSION, "settings": settings, "files": files}
    write_file(staging / "manifest.json", json.dumps(manifest, indent=2, sort_keys=True).encode("utf-8"))
    final = staging.with_name(staging.name.removesuffix(".tmp"))
    os.rename(staging, final)
    fsync_path(root)
    pointer_tmp = root / (CURRENT + ".tmp")
    write_file(pointer_tmp, final.name.encode("utf-8"))
    os.replace(pointer_tmp, root / CURRENT)
    fsync_path(root)
    for path in root.iterdir():
        if path != final and (_SNAPSHOT.match(path.name) or path.name.endswith(".tmp")) and path.is_dir():
            shutil.rmtree(path, ignore_errors=True)
    return final


def check_format(manifest: Any, expected: str, versions: int | tuple[int, ...], *, where: str, kind: str) -> None:
    """Refuse a manifest of another format or of a version this ragtune does not read,
    naming both (saved indexes and sharded indexes share the rule)."""
    found = manifest.get("format") if isinstance(manifest, dict) else None
    if found != expected:
        raise ValueError(f"{where} is not a {kind} (format {found!r})")
    readable = (versions,) if isinstance(versions, int) else versions
    if manifest.get("version") not in readable:
        shown = " or ".join(str(v) for v in readable)
        raise ValueError(f"{where} was written by {kind} format version {manifest.get('version')!r}; this ragtune "
                         f"reads version {shown}: upgrade ragtune, or rebuild it")


def read_manifest(snapshot: Path, *, optional: frozenset[str] = frozenset(),
                  deferred: frozenset[str] = frozenset()) -> tuple[dict[str, Any], list[str]]:
    """The manifest, after checking format, version and every file's size and checksum,
    and the ``optional`` files that failed their check (caches the index can rebuild;
    any other damaged file raises ValueError). Files in ``deferred`` have their size
    checked now and their checksum only when asked again without them."""
    try:
        manifest = json.loads((snapshot / "manifest.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ValueError(f"{snapshot} has no manifest.json; it is not a complete ragtune index") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ValueError(f"{snapshot}/manifest.json is corrupted: {error}") from None
    check_format(manifest, FORMAT, READABLE_VERSIONS, where=str(snapshot), kind="ragtune index")
    files = manifest.get("files")
    if not isinstance(files, dict):
        raise ValueError(f"{snapshot}/manifest.json lists no files")
    damaged = []
    for name, expected in files.items():
        problem = _file_problem(snapshot, name, expected, checksum=name not in deferred)
        if problem is not None:
            if name not in optional:
                raise ValueError(problem)
            damaged.append(name)
    return manifest, damaged


def _file_problem(snapshot: Path, name: str, expected: Any, *, checksum: bool = True) -> str | None:
    """What is wrong with one listed file, or None when its size and (when asked) checksum match."""
    path = snapshot / name
    if "/" in name or not path.is_file():
        return f"{snapshot} is missing {name}"
    if not isinstance(expected, dict):
        return f"{snapshot}/manifest.json describes {name} as {expected!r} (damaged index)"
    if path.stat().st_size != expected.get("bytes"):
        return (f"{path} has {path.stat().st_size} bytes, the manifest says {expected.get('bytes')} "
                f"(truncated or replaced)")
    if checksum and sha256_of(path) != expected.get("sha256"):
        return f"{path} does not match its checksum (corrupted)"
    return None


def read_settings(snapshot: Path, manifest: dict[str, Any]) -> dict[str, Any]:
    """The manifest's index settings, each checked for type and range (a damaged or
    hostile manifest gets a ValueError naming the setting, never a crash later)."""
    settings = manifest.get("settings")
    if not isinstance(settings, dict):
        raise ValueError(f"{snapshot}/manifest.json has no settings object (damaged index)")

    def bad(key: str, why: str) -> ValueError:
        return ValueError(f"{snapshot}/manifest.json: setting {key}={settings.get(key)!r} {why} (damaged index)")

    def integer(key: str, low: int, high: int, *, optional: bool = False) -> int | None:
        value = settings.get(key)
        if value is None and optional:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            raise bad(key, f"must be an int in [{low}, {high}]")
        return value

    def number(key: str, low: float, high: float) -> float:
        value = settings.get(key)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
            raise bad(key, f"must be a number in [{low}, {high}]")
        return float(value)

    if settings.get("metric") not in ("cosine", "ip", "l2"):
        raise bad("metric", "must be 'cosine', 'ip' or 'l2'")
    if settings.get("vector_dtype", "f32") not in ("f32", "f16", "int8"):
        raise bad("vector_dtype", "must be 'f32', 'f16' or 'int8'")
    if not isinstance(settings.get("rescore", False), bool):
        raise bad("rescore", "must be true or false")
    return {
        "metric": settings["metric"],
        "m": integer("m", 2, 2048),
        "ef_construction": integer("ef_construction", 1, 1 << 30),
        "ef_search": integer("ef_search", 1, 1 << 30),
        "exact_below": integer("exact_below", 0, 1 << 62),
        "bm25_k1": number("bm25_k1", 0.0, 1e6),
        "bm25_b": number("bm25_b", 0.0, 1.0),
        "dim": integer("dim", 1, 65536, optional=True),
        "slots": integer("slots", 0, 1 << 62),
        "vector_dtype": settings.get("vector_dtype", "f32"),  # snapshots before compact storage: f32
        "rescore": settings.get("rescore", False),
    }
