"""A short fuzz run of every target (about a minute in all), and a replay of every
committed corpus input — including each input that once found a bug
(``regression-*``), so none of those bugs can come back.

The C++ targets are built with clang, libFuzzer, ASan and UBSan by
scripts/build_sanitizers.sh (scripts/test.sh runs it first); longer runs:
``bash scripts/fuzz.sh SECONDS``."""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
CORPUS = ROOT / "tests" / "fuzz" / "corpus"
BUILD = ROOT / "build" / "sanitize"
CPP_TARGETS = ["recursive_splitter", "safetensors", "word_tokenizer", "index_loader", "merge_writer"]
PY_TARGETS = ["py_chunkers", "py_raft_quotes", "py_adapter_config", "py_index_load"]
SECONDS = int(os.environ.get("RAGTUNE_FUZZ_SMOKE_SECONDS", "7"))


def executions(output: str) -> int:
    found = re.findall(r"Done (\d+) runs in", output)
    assert found, output[-2000:]
    return int(found[-1])


def rss_limit_flag(budget_mb: int = 2048) -> str:
    """libFuzzer measures memory with getrusage's peak RSS, and Linux carries a
    process's peak across fork and exec: a fuzzer started from a pytest process that
    already holds models would count that memory as its own. The limit is the fuzzer's
    own budget on top of what it inherits."""
    inherited_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    return f"-rss_limit_mb={inherited_mb + budget_mb}"


def fuzz_command(target: str) -> list[str]:
    if target.startswith("py_"):
        return [sys.executable, str(ROOT / "tests" / "fuzz" / "run_atheris.py"), target]
    binary = BUILD / f"fuzz_{target}"
    assert binary.is_file(), f"{binary} is missing: run bash scripts/build_sanitizers.sh address (scripts/test.sh does)"
    return [str(binary), "-max_len=65536"]


@pytest.mark.parametrize("target", CPP_TARGETS + PY_TARGETS)
def test_every_committed_input_still_passes(target):
    inputs = sorted((CORPUS / target).iterdir())
    assert inputs, f"no seeds for {target}"
    result = subprocess.run([*fuzz_command(target), "-runs=0", rss_limit_flag(), *map(str, inputs)],
                            capture_output=True, text=True, timeout=300, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert result.returncode == 0, result.stderr[-4000:]


@pytest.mark.parametrize("target", CPP_TARGETS + PY_TARGETS)
def test_short_fuzz_run(target, tmp_path):
    new_inputs = tmp_path / "new"  # what the fuzzer discovers; the committed seeds stay untouched
    new_inputs.mkdir()
    result = subprocess.run(
        [*fuzz_command(target), f"-max_total_time={SECONDS}", rss_limit_flag(), "-timeout=30",
         f"-artifact_prefix={tmp_path}/", str(new_inputs), str(CORPUS / target)],
        capture_output=True, text=True, timeout=SECONDS * 10 + 60, env={**os.environ, "HF_HUB_OFFLINE": "1"},
        cwd=tmp_path)
    crashes = [p.name for p in tmp_path.iterdir() if p.is_file()]
    assert result.returncode == 0 and not crashes, f"{target} found a bug: {crashes}\n{result.stderr[-4000:]}"
    print(f"{target}: {executions(result.stderr)} executions in {SECONDS} s")
