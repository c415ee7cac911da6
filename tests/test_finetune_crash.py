"""Training survives what happens to long jobs: SIGKILL, Ctrl-C and a full disk. Each
interrupted run, resumed, must end with the adapter an uninterrupted run writes, bit
for bit (CPU, one thread, same seed)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest
from disks import mount_tmpfs, resize_tmpfs
from finetune_models import memory_pairs, tiny_llama

STEPS, EVERY = 24, 4


@pytest.fixture(scope="module")
def setup(tmp_path_factory, smollm2):
    root = tmp_path_factory.mktemp("crash")
    base = tiny_llama(root / "base", smollm2, hidden=64)
    data = root / "train.jsonl"
    with open(data, "w", encoding="utf-8") as out:
        for question, answer in memory_pairs(10):
            out.write(json.dumps({"prompt": question, "completion": answer}) + "\n")
    reference = root / "reference"
    done = _finetune(base, data, reference)
    assert done.returncode == 0, done.stderr
    return base, data, reference


def _command(base: Path, data: Path, out: Path) -> list[str]:
    return [sys.executable, "-m", "ragtune", "finetune", str(base), str(data), "--out", str(out),
            "--max-steps", str(STEPS), "--checkpoint-every", str(EVERY), "--batch-size", "2", "--lr", "5e-3",
            "--eval-fraction", "0.2", "--threads", "1", "--seed", "3", "--quiet", "--json"]


def _finetune(base: Path, data: Path, out: Path, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(_command(base, data, out), capture_output=True, text=True, timeout=600, **kwargs)


def _tensors(folder: Path) -> dict:
    from safetensors.torch import load_file

    return load_file(str(folder / "adapter_model.safetensors"))


def _same_adapter(a: Path, b: Path) -> bool:
    import torch

    left, right = _tensors(a), _tensors(b)
    return left.keys() == right.keys() and all(torch.equal(left[k], right[k]) for k in left)


def _start_until_first_checkpoint(base: Path, data: Path, out: Path) -> subprocess.Popen:
    """A training run in a child process, returned once its first checkpoint is committed."""
    process = subprocess.Popen(_command(base, data, out), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    _wait_for_checkpoint(process, out, EVERY)
    return process


def _wait_for_checkpoint(process: subprocess.Popen, out: Path, minimum_step: int) -> None:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        found = [p for p in (out / "checkpoints").glob("step-*") if (p / "state.json").is_file()] \
            if (out / "checkpoints").is_dir() else []
        if any(int(p.name.split("-")[1]) >= minimum_step for p in found):
            return
        if process.poll() is not None:
            raise AssertionError(f"training ended before a checkpoint: {process.stderr.read()}")
        time.sleep(0.005)
    raise AssertionError("no checkpoint appeared")


def test_sigkill_then_resume_ends_with_the_uninterrupted_adapter(setup, tmp_path):
    base, data, reference = setup
    out = tmp_path / "killed"
    process = _start_until_first_checkpoint(base, data, out)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)
    assert not (out / "training.json").exists(), "the run finished before the kill; the test proves nothing"
    resumed = _finetune(base, data, out)
    assert resumed.returncode == 0, resumed.stderr
    report = json.loads(resumed.stdout)
    assert report["resumed_from"] and report["resumed_from"][0] % EVERY == 0 and report["steps"] == STEPS
    assert _same_adapter(out, reference)
    expected = json.loads((reference / "training.json").read_text())
    assert [h["loss"] for h in report["history"]] == [h["loss"] for h in expected["history"]]
    assert [e["loss"] for e in report["eval"]] == [e["loss"] for e in expected["eval"]]
    assert not (out / "checkpoints").exists() and not (out / "run.json").exists()


def test_ctrl_c_saves_says_how_to_resume_and_resumes_exactly(setup, tmp_path):
    base, data, reference = setup
    out = tmp_path / "interrupted"
    process = _start_until_first_checkpoint(base, data, out)
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=300)
    if process.returncode == 0:
        pytest.fail("the run finished before Ctrl-C arrived; the test proves nothing")
    assert process.returncode == 130, stderr
    assert "checkpoint saved in" in stderr and "resume" in stderr and "Traceback" not in stderr
    resumed = _finetune(base, data, out)
    assert resumed.returncode == 0, resumed.stderr
    assert _same_adapter(out, reference)


def test_a_full_disk_keeps_the_previous_checkpoint_and_the_run_resumes(setup, tmp_path):
    base, data, reference = setup
    # One checkpoint's size, measured on a normal disk.
    probe = tmp_path / "probe"
    sized = _finetune_keep(base, data, probe)
    one = sum(f.stat().st_size for f in next((probe / "checkpoints").glob("step-*")).rglob("*") if f.is_file())
    disk = tmp_path / f"disk-{uuid.uuid4().hex[:6]}"
    # Room for the run's own files and one checkpoint, not for a second beside it.
    if not mount_tmpfs(disk, int(one * 1.5) + 64 * 1024):
        pytest.skip("cannot mount a small tmpfs here (needs root)")
    try:
        out = disk / "adapter"
        full = _finetune(base, data, out)
        assert full.returncode == 3, full.stderr
        assert "No space left on device" in full.stderr or "space" in full.stderr
        assert "is intact" in full.stderr and "resume" in full.stderr and "Traceback" not in full.stderr
        kept = [p for p in (out / "checkpoints").iterdir()]
        assert [p.name for p in kept] == [f"step-{EVERY:08d}"]  # no staging folder left behind
        resize_tmpfs(disk, one * 8 + (1 << 20))
        resumed = _finetune(base, data, out)
        assert resumed.returncode == 0, resumed.stderr
        assert json.loads(resumed.stdout)["resumed_from"] == [EVERY]
        assert _same_adapter(out, reference)
    finally:
        subprocess.run(["umount", "-l", str(disk)], capture_output=True)
    assert sized.returncode == 0


def _finetune_keep(base: Path, data: Path, out: Path) -> subprocess.CompletedProcess:
    return subprocess.run(_command(base, data, out) + ["--keep-checkpoints"], capture_output=True, text=True,
                          timeout=600)


def test_cli_prints_a_summary_and_maps_errors_to_exit_codes(setup, tmp_path):
    base, data, _ = setup
    command = [sys.executable, "-m", "ragtune", "finetune", str(base), str(data), "--out", str(tmp_path / "a"),
               "--max-steps", "2", "--threads", "1", "--quiet"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "2 steps" in done.stdout and "useful tokens/s" in done.stdout and "held-out loss" in done.stdout
    again = subprocess.run(command, capture_output=True, text=True, timeout=300)
    assert again.returncode == 3 and "already holds a trained adapter" in again.stderr
    (tmp_path / "bad.jsonl").write_text('{"messages": []}\n')
    bad = subprocess.run(command[:4] + [str(base), str(tmp_path / "bad.jsonl"), "--out", str(tmp_path / "b")],
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "not a valid chat file" in bad.stderr and "Traceback" not in bad.stderr
    missing = subprocess.run(command[:4] + [str(tmp_path / "nothing"), str(data), "--out", str(tmp_path / "c")],
                             capture_output=True, text=True, timeout=300)
    assert missing.returncode == 3 and "does not exist" in missing.stderr
