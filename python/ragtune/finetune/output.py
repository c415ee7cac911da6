"""The output folder of a training run: what may be in it, how a run in progress is
recognised (``run.json``: the configuration and the data's hash), and how the
finished adapter is published."""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from .._files import fsync_path, read_json, write_json_atomically
from .checkpoint import clear_staging
from .report import REPORT_NAME

RUN_NAME = "run.json"
CHECKPOINTS = "checkpoints"
ADAPTER_FILES = ("adapter_config.json", "adapter_model.safetensors")


class RunMismatch(ValueError):
    """The output folder holds a run of another configuration or data set."""


def prepare(out: Path, identity: dict[str, Any], *, resume: bool) -> bool:
    """Make ``out`` ready for this run. Returns True when a run in progress (same
    configuration, same data) is to be resumed from its checkpoints."""
    if out.exists() and not out.is_dir():
        raise FileExistsError(f"{out} is a file; give a folder for the adapter")
    if out.is_dir():
        entries = sorted(p.name for p in out.iterdir())
        if (out / REPORT_NAME).is_file() and all((out / name).is_file() for name in ADAPTER_FILES):
            raise FileExistsError(f"{out} already holds a trained adapter; choose a new folder (training never "
                                  "overwrites an adapter)")
        if (out / RUN_NAME).is_file():
            try:
                previous = read_json(out / RUN_NAME, what="run description")
            except (OSError, ValueError):
                previous = None
            if previous != identity:
                changed = _differences(previous, identity)
                raise RunMismatch(f"{out} holds a run with other settings or data ({changed}); resume it with the "
                                  "same ones, or choose a new folder")
            if not resume:
                raise FileExistsError(f"{out} holds a run in progress; pass resume=True (--resume) to continue it, "
                                      "or choose a new folder")
            clear_staging(out / CHECKPOINTS)
            return True
        if entries:
            shown = ", ".join(entries[:5]) + (" ..." if len(entries) > 5 else "")
            raise FileExistsError(f"{out} is not empty ({shown}); give a new or empty folder for the adapter")
    out.mkdir(parents=True, exist_ok=True)
    write_json_atomically(out / RUN_NAME, identity)
    return False


def _differences(previous: Any, identity: dict[str, Any]) -> str:
    if not isinstance(previous, dict):
        return "its run.json is unreadable"
    changed = []
    for section in ("config", "data"):
        old, new = previous.get(section) or {}, identity.get(section) or {}
        changed += [f"{k}: {old.get(k)!r} -> {new.get(k)!r}" for k in sorted(set(old) | set(new))
                    if old.get(k) != new.get(k)]
    return "; ".join(changed[:4]) or "unknown differences"


def publish_adapter(model: Any, out: Path, *, chat_template: str | None) -> None:
    """Write the adapter with PEFT's ``save_pretrained`` into a staging folder, fsync
    it, then move each file into ``out`` (the weights before the config that names them)."""
    staging = Path(tempfile.mkdtemp(prefix=".adapter.partial-", dir=out))
    try:
        model.save_pretrained(str(staging), safe_serialization=True,
                            save_embedding_layers=False)  # the vocabulary never changes here
        if chat_template is not None:
            (staging / "chat_template.jinja").write_text(chat_template, encoding="utf-8")
        names = sorted(p.name for p in staging.iterdir())
        names.sort(key=lambda n: n == "adapter_config.json")
        for name in names:
            fsync_path(staging / name)
        for name in names:
            os.replace(staging / name, out / name)
    finally:
        shutil.rmtree(staging, ignore_errors=True)


def finish(out: Path, *, keep_checkpoints: bool) -> None:
    """After the report is written: the run is no longer in progress."""
    if not keep_checkpoints:
        shutil.rmtree(out / CHECKPOINTS, ignore_errors=True)
    (out / RUN_NAME).unlink(missing_ok=True)
