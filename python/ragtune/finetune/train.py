"""``train_lora``: a LoRA adapter trained on RAFT or chat data, with torch, transformers
and PEFT (a compact loop: AdamW, transformers' schedulers, gradient clipping and
accumulation), crash-safe and resumable to the bit."""

from __future__ import annotations

import errno
import hashlib
import importlib.metadata
import math
import os
import resource
import signal
import sys
import threading
import time
import warnings
from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from .._inputs import as_float, as_int, as_threads
from ..raft.splits import split_groups
from .batches import collate, epoch_batches, micro_batches
from .checkpoint import checkpoints, load_checkpoint, read_state, save_checkpoint
from .conversations import Conversation, as_conversations, data_hash
from .device import resolve_device, resolve_dtype, torch_threads
from .fitting import encode_all
from .loss import plain_head, summed_loss
from .model import check_base, load_model, load_tokenizer
from .output import CHECKPOINTS, finish, prepare, publish_adapter
from .render import Encoded, PromptRenderer, resolve_template
from .report import TrainReport

#: A step whose loss exceeds this multiple of the first step's is taken as divergence.
EXPLODING_LOSS_RATIO = 4.0
# What a checkpoint carries of the report, so a resumed run reports the whole run.
_RESUMED_FIELDS = ("history", "eval", "useful_tokens", "padded_tokens", "target_tokens", "train_seconds",
                   "wall_seconds", "resumed_from", "epochs_completed", "steps")
_SCHEDULERS = ("linear", "cosine", "constant_with_warmup", "constant")


class TrainingDiverged(ArithmeticError):
    """The loss or the gradient became non-finite or exploded; training stopped before
    applying the bad step. ``checkpoint`` is the last good one (or None)."""

    def __init__(self, message: str, *, report: TrainReport, checkpoint: Path | None) -> None:
        super().__init__(message)
        self.report = report
        self.checkpoint = checkpoint


class TrainingInterrupted(KeyboardInterrupt):
    """Ctrl-C: a checkpoint of the last whole step was saved; the same call resumes it."""

    def __init__(self, message: str, *, report: TrainReport, checkpoint: Path | None) -> None:
        super().__init__(message)
        self.report = report
        self.checkpoint = checkpoint


def _versions() -> dict[str, str]:
    out = {"python": sys.version.split()[0]}
    for package in ("ragtune", "torch", "transformers", "peft"):
        try:
            out[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:  # pragma: no cover - an uninstalled checkout
            out[package] = "unknown"
    return out


def _peak_rss() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # kilobytes on Linux


class _StopRequest:
    """Ctrl-C while training: the first press asks to stop after the current step (and
    save); a second press aborts at once."""

    def __init__(self) -> None:
        self.requested = False
        self._previous: Any = None

    def _handle(self, signum: int, frame: Any) -> None:
        if self.requested:
            raise KeyboardInterrupt
        self.requested = True
        print("\nragtune: stopping after this step to save a checkpoint (Ctrl-C again to abort now)",
              file=sys.stderr, flush=True)

    def __enter__(self) -> _StopRequest:
        if threading.current_thread() is threading.main_thread():
            self._previous = signal.signal(signal.SIGINT, self._handle)
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._previous is not None:
            signal.signal(signal.SIGINT, self._previous)


def _split(conversations: list[Conversation], eval_fraction: float, seed: int
           ) -> tuple[list[Conversation], list[Conversation]]:
    if eval_fraction == 0 or len(conversations) < 2:
        return conversations, []
    names, _ = split_groups([c.group for c in conversations], {"train": 1 - eval_fraction, "eval": eval_fraction},
                            seed=seed)
    train = [c for c, name in zip(conversations, names) if name == "train"]
    held_out = [c for c, name in zip(conversations, names) if name == "eval"]
    if not train:  # one group holds everything: nothing can be held out without leaking
        return conversations, []
    return train, held_out


def _batches_of(encodings: Sequence[Encoded], indices: Sequence[int], pad_id: int, device: Any) -> dict[str, Any]:
    import torch

    arrays = collate([encodings[i] for i in indices], pad_id)
    return {k: torch.from_numpy(v).to(device) for k, v in arrays.items()}


def _evaluate(model: Any, encodings: Sequence[Encoded], *, batch_size: int, micro_batch_tokens: int | None,
              pad_id: int, device: Any, selective: bool) -> float:
    """Mean cross-entropy per answer token over the held-out set (no dropout)."""
    import torch

    lengths = [len(e) for e in encodings]
    order = sorted(range(len(encodings)), key=lambda i: -lengths[i])
    total, count = 0.0, 0
    model.eval()
    try:
        with torch.inference_mode():
            for start in range(0, len(order), batch_size):
                for micro in micro_batches(order[start:start + batch_size], lengths, micro_batch_tokens):
                    loss, n = summed_loss(model, _batches_of(encodings, micro, pad_id, device), selective=selective)
                    total += float(loss)
                    count += n
    finally:
        model.train()
    return total / max(1, count)


def train_lora(
    base: str | os.PathLike[str],
    data: Any,
    out: str | os.PathLike[str],
    *,
    r: int = 16,
    alpha: float = 32,
    dropout: float = 0.05,
    target_modules: str | Sequence[str] = "all-linear",
    use_rslora: bool = False,
    use_dora: bool = False,
    epochs: int = 1,
    max_steps: int | None = None,
    learning_rate: float = 2e-4,
    warmup: float = 0.03,
    scheduler: str = "linear",
    weight_decay: float = 0.0,
    max_grad_norm: float = 1.0,
    batch_size: int = 4,
    gradient_accumulation: int = 1,
    micro_batch_tokens: int | None | str = "auto",
    max_seq_len: int = 1024,
    group_by_length: bool = True,
    gradient_checkpointing: bool = False,
    eval_data: Any = None,
    eval_fraction: float = 0.1,
    system_prompt: str | None = None,
    chat_template: str | os.PathLike[str] | None = None,
    seed: int = 0,
    device: Any = "auto",
    dtype: str = "auto",
    threads: int = 0,
    checkpoint_every: int = 50,
    resume: bool = True,
    keep_checkpoints: bool = False,
    progress: bool = True,
) -> TrainReport:
    """Train a LoRA adapter on a causal LM and save it as a PEFT adapter folder.

    Parameters
    ----------
    base : a folder with a Hugging Face causal LM in safetensors and its tokenizer
        (e.g. ``ragtune.datasets.smollm2_checkpoint()``)
    data : a ``RaftDataset`` or list of ``RaftExample``; a JSONL/Parquet file in the hf,
        chat or completion format (validated first); a list of chat conversations or of
        ``(prompt, completion)`` pairs
    out : a new (or empty) folder: ``adapter_config.json`` + ``adapter_model.safetensors``
        (loadable by ``peft.PeftModel.from_pretrained``, mergeable by ``ragtune.lora.merge``)
        and ``training.json`` (:class:`TrainReport`)
    r, alpha, dropout, target_modules, use_rslora, use_dora : the LoRA configuration
        (PEFT's meaning; ``"all-linear"`` adapts every linear layer but the output head)
    epochs, max_steps : passes over the data, or an exact number of optimizer steps
    learning_rate, warmup, scheduler : AdamW's peak rate, the warm-up (a fraction of the
        steps when < 1, else a step count) and transformers' schedule after it
    batch_size, gradient_accumulation : examples per batch, batches per optimizer step;
        the loss is the mean over every answer token of the step
    micro_batch_tokens : padded tokens per forward pass: a batch is run in pieces of at
        most this size and their gradients summed, so the step is unchanged and only
        the activations held at once shrink. ``"auto"``: ``max_seq_len`` on the CPU (long
        examples one at a time, no padding), whole batches on a GPU; None: whole batches
    max_seq_len : tokens per example; RAFT distractors are cut to fit, never the
        question, oracle or answer; what cannot fit is dropped and counted
    group_by_length : batch examples of similar length (less padding, same randomness)
    eval_data, eval_fraction : a held-out set, or the share of ``data`` to hold out
        (split so no oracle passage is on both sides); evaluated before training (the
        base model's loss) and after every epoch
    system_prompt, chat_template : the system message for RAFT and prompt/completion
        data; a template for tokenizers without one (``"chatml"``, Jinja text or a file)
    seed : the same seed, data and thread count give the same adapter, bit for bit on CPU
    device, dtype : ``"auto"`` is CUDA with bf16 when available, else the CPU in fp32
    threads : torch's CPU threads (0: torch's default)
    checkpoint_every : steps between checkpoints (0: only on Ctrl-C); a killed run
        called again with ``resume=True`` continues from the last one
    keep_checkpoints : keep ``out/checkpoints`` after a run completes

    Raises
    ------
    TrainingDiverged : the loss became NaN or exploded (the last good checkpoint is kept)
    TrainingInterrupted : Ctrl-C (a checkpoint was saved; call again to resume)

    Examples
    --------
    >>> from ragtune.datasets import smollm2_checkpoint
    >>> report = train_lora(smollm2_checkpoint(), "raft-train.jsonl", "faq-adapter",
    ...                     epochs=1, max_seq_len=1024, threads=2)       # doctest: +SKIP
    >>> report.eval_loss_before, report.eval_loss_after                  # doctest: +SKIP
    (2.31, 1.74)
    >>> report.plot()                                                    # doctest: +SKIP
    """
    started = time.perf_counter()
    r = as_int(r, name="r", minimum=1, maximum=4096)
    alpha = as_float(alpha, name="alpha", low=0, high=1e6, low_open=True)
    dropout = as_float(dropout, name="dropout", low=0, high=0.99)
    epochs = as_int(epochs, name="epochs", minimum=1, maximum=100_000)
    if max_steps is not None:
        max_steps = as_int(max_steps, name="max_steps", minimum=1)
    learning_rate = as_float(learning_rate, name="learning_rate", low=0, high=10, low_open=True)
    warmup = as_float(warmup, name="warmup", low=0, high=1e9)
    if scheduler not in _SCHEDULERS:
        raise ValueError(f"scheduler must be one of {', '.join(_SCHEDULERS)}, got {scheduler!r}")
    weight_decay = as_float(weight_decay, name="weight_decay", low=0, high=10)
    max_grad_norm = as_float(max_grad_norm, name="max_grad_norm", low=0, high=1e9)
    batch_size = as_int(batch_size, name="batch_size", minimum=1, maximum=1 << 16)
    gradient_accumulation = as_int(gradient_accumulation, name="gradient_accumulation", minimum=1, maximum=1 << 16)
    max_seq_len = as_int(max_seq_len, name="max_seq_len", minimum=8, maximum=1 << 20)
    eval_fraction = as_float(eval_fraction, name="eval_fraction", low=0, high=0.9)
    seed = as_int(seed, name="seed", minimum=0, maximum=2**63 - 1)
    threads = as_threads(threads)
    checkpoint_every = as_int(checkpoint_every, name="checkpoint_every", minimum=0)
    if micro_batch_tokens is not None and micro_batch_tokens != "auto":
        micro_batch_tokens = as_int(micro_batch_tokens, name="micro_batch_tokens", minimum=1)
    if isinstance(target_modules, str):
        targets: str | list[str] = target_modules
    elif isinstance(target_modules, Sequence) and target_modules and all(isinstance(t, str) for t in target_modules):
        targets = list(target_modules)
    else:
        raise TypeError("target_modules must be 'all-linear' or a non-empty list of module names")
    template = resolve_template(chat_template)

    folder = check_base(base)
    tokenizer = load_tokenizer(folder)
    renderer = PromptRenderer(tokenizer, chat_template=template)
    conversations = as_conversations(data, system_prompt=system_prompt)
    if eval_data is not None:
        train_set, eval_set = conversations, as_conversations(eval_data, system_prompt=system_prompt,
                                                              what="eval_data")
    else:
        train_set, eval_set = _split(conversations, eval_fraction, seed)
    train_enc, _, train_fit = encode_all(train_set, renderer, max_seq_len=max_seq_len, progress=progress,
                                         what="training examples")
    eval_enc, _, eval_fit = encode_all(eval_set, renderer, max_seq_len=max_seq_len, progress=progress,
                                       what="held-out examples")
    if not train_enc:
        raise ValueError(f"none of the {len(train_set)} training examples fits max_seq_len={max_seq_len} (the "
                         f"longest dropped needs {train_fit.longest_dropped} tokens, its question, oracle and answer "
                         "alone being too long); raise max_seq_len or shorten the answers")


    torch_device = resolve_device(device)
    torch_dtype = resolve_dtype(dtype, torch_device)
    if micro_batch_tokens == "auto":
        # On a CPU, a batch's activations cost RAM and gain no speed: run long examples one
        # at a time. A GPU is faster on whole batches while they fit.
        micro_batch_tokens = max_seq_len if torch_device.type == "cpu" else None
    config = {
        "base": str(folder.resolve()), "r": r, "alpha": alpha, "dropout": dropout, "target_modules": targets,
        "use_rslora": bool(use_rslora), "use_dora": bool(use_dora), "epochs": epochs, "max_steps": max_steps,
        "learning_rate": learning_rate, "warmup": warmup, "scheduler": scheduler, "weight_decay": weight_decay,
        "max_grad_norm": max_grad_norm, "batch_size": batch_size, "gradient_accumulation": gradient_accumulation,
        "micro_batch_tokens": micro_batch_tokens,
        "max_seq_len": max_seq_len, "group_by_length": bool(group_by_length), "eval_fraction": eval_fraction,
        "system_prompt": system_prompt, "seed": seed, "dtype": str(torch_dtype).replace("torch.", ""),
        "gradient_checkpointing": bool(gradient_checkpointing),
        "chat_template_sha256": hashlib.sha256(renderer.template.encode("utf-8")).hexdigest(),
    }
    data_info = {"train_sha256": data_hash(train_set), "eval_sha256": data_hash(eval_set)}
    out_path = Path(out)
    resuming = prepare(out_path, {"config": config, "data": data_info}, resume=bool(resume))

    report = TrainReport(
        out=str(out_path), base=str(folder), config=config, versions=_versions(),
        data=data_info | {"train_examples": len(train_enc), "eval_examples": len(eval_enc),
                          "fit": {"train": asdict(train_fit), "eval": asdict(eval_fit)},
                          "train_target_tokens": sum(e.target_tokens for e in train_enc),
                          "train_tokens": sum(len(e) for e in train_enc)},
        device=str(torch_device), dtype=config["dtype"])
    with torch_threads(threads), _StopRequest() as stop:
        return _run(report, folder, out_path, train_enc, eval_enc, tokenizer, renderer, template, resuming, stop,
                    torch_device=torch_device, torch_dtype=torch_dtype, targets=targets, started=started,
                    progress=progress, keep_checkpoints=keep_checkpoints, checkpoint_every=checkpoint_every)


def _run(report: TrainReport, folder: Path, out: Path, train_enc: list[Encoded], eval_enc: list[Encoded],
         tokenizer: Any, renderer: PromptRenderer, template: str | None, resuming: bool, stop: _StopRequest, *,
         torch_device: Any, torch_dtype: Any, targets: Any, started: float, progress: bool,
         keep_checkpoints: bool, checkpoint_every: int) -> TrainReport:
    import torch
    from peft import LoraConfig, get_peft_model
    from safetensors import SafetensorError
    from transformers import get_scheduler

    cfg = report.config
    torch.manual_seed(cfg["seed"])  # LoRA's initialisation, then dropout
    model = load_model(folder, dtype=torch_dtype, device=torch_device)
    try:
        with warnings.catch_warnings():
            # PEFT reads a property transformers 5 deprecates; nothing for the user to act on.
            warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
            peft_model = get_peft_model(model, LoraConfig(
                r=cfg["r"], lora_alpha=cfg["alpha"], lora_dropout=cfg["dropout"], target_modules=targets,
                use_rslora=cfg["use_rslora"], use_dora=cfg["use_dora"], bias="none", task_type="CAUSAL_LM"))
    except ValueError as error:
        raise ValueError(f"cannot put LoRA on {folder.name}: {error}; check target_modules") from None
    if cfg["gradient_checkpointing"]:
        model.gradient_checkpointing_enable(gradient_checkpointing_kwargs={"use_reentrant": False})
    hf_model = peft_model.get_base_model()
    selective = plain_head(hf_model)
    peft_model.train()
    params = [p for p in peft_model.parameters() if p.requires_grad]
    optimizer = torch.optim.AdamW(params, lr=cfg["learning_rate"], weight_decay=cfg["weight_decay"])

    batches_per_epoch = math.ceil(len(train_enc) / cfg["batch_size"])
    steps_per_epoch = math.ceil(batches_per_epoch / cfg["gradient_accumulation"])
    total_steps = cfg["max_steps"] or cfg["epochs"] * steps_per_epoch
    warmup_steps = int(math.ceil(cfg["warmup"] * total_steps)) if cfg["warmup"] < 1 else int(cfg["warmup"])
    schedule = get_scheduler(cfg["scheduler"], optimizer, num_warmup_steps=min(warmup_steps, total_steps),
                             num_training_steps=total_steps)
    pad_id = int(tokenizer.pad_token_id)
    lengths = [len(e) for e in train_enc]
    root = out / CHECKPOINTS

    step, epoch, position = 0, 0, 0
    wall_before = 0.0  # wall time of the earlier parts of a resumed run
    last_checkpoint: Path | None = None
    if resuming:
        for candidate in reversed(checkpoints(root)):
            try:
                state = load_checkpoint(candidate, peft_model, optimizer, schedule)
            except ValueError as error:
                print(f"ragtune: skipping {error}", file=sys.stderr)
                continue
            step, epoch, position = state["step"], state["epoch"], state["position"]
            for key in _RESUMED_FIELDS:
                setattr(report, key, state["report"][key])
            wall_before = report.wall_seconds
            report.resumed_from = [*report.resumed_from, step]
            last_checkpoint = candidate
            break

    def checkpoint() -> Path:
        nonlocal last_checkpoint
        previous = last_checkpoint
        state = {"epoch": epoch, "position": position, "report": {k: getattr(report, k) for k in _RESUMED_FIELDS}}
        try:
            last_checkpoint = save_checkpoint(root, step, peft_model, optimizer, schedule, state,
                                              {"torch": torch.get_rng_state()}, keep=2)
        except (OSError, SafetensorError) as error:
            # safetensors reports a full disk as its own error type, with the OS error in the text.
            code = getattr(error, "errno", None) or (errno.ENOSPC if "os error 28" in str(error) else errno.EIO)
            kept = (f"the checkpoint of step {read_state(previous)['step']} ({previous}) is intact"
                    if previous is not None else "no earlier checkpoint exists")
            raise OSError(code, f"could not save the checkpoint of step {step} in {root} ({os.strerror(code)}: "
                          f"{getattr(error, 'strerror', None) or error}); {kept}. Free space, then call again with "
                          "the same arguments to resume") from error
        return last_checkpoint

    if not report.eval and eval_enc:
        report.eval.append({"step": 0, "epoch": 0, "loss": _evaluate(
            hf_model, eval_enc, batch_size=cfg["batch_size"],
            micro_batch_tokens=cfg["micro_batch_tokens"], pad_id=pad_id, device=torch_device,
            selective=selective)})
    bar = tqdm(total=total_steps, initial=step, desc="training", unit="step", disable=not progress)
    try:
        while step < total_steps:
            batches = epoch_batches(lengths, batch_size=cfg["batch_size"], seed=cfg["seed"], epoch=epoch,
                                    group_by_length=cfg["group_by_length"])
            while position < len(batches) and step < total_steps:
                group = batches[position:position + cfg["gradient_accumulation"]]
                step_started = time.perf_counter()
                targets_in_step = sum(train_enc[i].target_tokens for b in group for i in b)
                loss_sum, useful, padded = 0.0, 0, 0
                for micro in (m for b in group for m in micro_batches(b, lengths, cfg["micro_batch_tokens"])):
                    batch = _batches_of(train_enc, micro, pad_id, torch_device)
                    loss, _ = summed_loss(hf_model, batch, selective=selective)
                    if not torch.isfinite(loss):
                        _diverged(report, f"the loss became {float(loss)}", step + 1, last_checkpoint)
                    (loss / max(1, targets_in_step)).backward()
                    loss_sum += float(loss.detach())
                    useful += int(batch["attention_mask"].sum())
                    padded += batch["attention_mask"].numel()
                    del batch, loss  # this micro-batch's activations go before the next one's come
                norm = float(torch.nn.utils.clip_grad_norm_(params, cfg["max_grad_norm"] or float("inf")))
                step_loss = loss_sum / max(1, targets_in_step)
                if not math.isfinite(norm):
                    _diverged(report, f"the gradient norm became {norm}", step + 1, last_checkpoint)
                if report.history and step_loss > EXPLODING_LOSS_RATIO * max(report.history[0]["loss"], 1e-3):
                    _diverged(report, f"the loss exploded to {step_loss:.3g} (first step: "
                              f"{report.history[0]['loss']:.3g})", step + 1, last_checkpoint)
                learning_rate = schedule.get_last_lr()[0]
                optimizer.step()
                schedule.step()
                optimizer.zero_grad(set_to_none=True)
                step += 1
                position += len(group)
                seconds = time.perf_counter() - step_started
                report.train_seconds += seconds
                report.useful_tokens += useful
                report.padded_tokens += padded
                report.target_tokens += targets_in_step
                report.steps = step
                report.history.append({"step": step, "epoch": epoch, "loss": step_loss, "lr": learning_rate,
                                       "grad_norm": norm, "tokens": useful, "target_tokens": targets_in_step,
                                       "seconds": seconds})
                bar.update(1)
                bar.set_postfix(loss=f"{step_loss:.3f}", tok_s=f"{report.tokens_per_second:.0f}")
                epoch_done = position >= len(batches)
                if epoch_done:
                    report.epochs_completed = epoch + 1
                    if eval_enc:
                        report.eval.append({"step": step, "epoch": epoch + 1, "loss": _evaluate(
                            hf_model, eval_enc, batch_size=cfg["batch_size"],
            micro_batch_tokens=cfg["micro_batch_tokens"], pad_id=pad_id,
                            device=torch_device, selective=selective)})
                    epoch, position = epoch + 1, 0
                report.wall_seconds = wall_before + time.perf_counter() - started
                if (checkpoint_every and step % checkpoint_every == 0) or step == total_steps:
                    checkpoint()  # the last step too: a failed publish below can be resumed
                if stop.requested and step < total_steps:
                    saved = last_checkpoint if last_checkpoint and read_state(last_checkpoint)["step"] == step \
                        else checkpoint()
                    report.status = "interrupted"
                    report.peak_rss_bytes = _peak_rss()
                    raise TrainingInterrupted(
                        f"interrupted after step {step} of {total_steps}; checkpoint saved in {saved}. Call "
                        "train_lora again with the same arguments (or rerun the same ragtune finetune command) "
                        "to resume", report=report, checkpoint=saved)
                if epoch_done:
                    break  # the next epoch has its own batch order
            if position >= len(batches):  # a checkpoint taken at the very end of an epoch
                epoch, position = epoch + 1, 0
    finally:
        bar.close()
    if eval_enc and (not report.eval or report.eval[-1]["step"] != step):
        report.eval.append({"step": step, "epoch": epoch, "loss": _evaluate(
            hf_model, eval_enc, batch_size=cfg["batch_size"],
            micro_batch_tokens=cfg["micro_batch_tokens"], pad_id=pad_id, device=torch_device,
            selective=selective)})
    report.status = "completed"
    report.wall_seconds = wall_before + time.perf_counter() - started
    report.peak_rss_bytes = _peak_rss()
    publish_adapter(peft_model, out, chat_template=template)
    report.save(out)
    finish(out, keep_checkpoints=keep_checkpoints)
    return report


def _diverged(report: TrainReport, what: str, step: int, checkpoint: Path | None) -> None:
    report.status = "diverged"
    report.peak_rss_bytes = _peak_rss()
    kept = (f"the last good checkpoint is {checkpoint}" if checkpoint is not None
            else "no checkpoint was saved before it")
    raise TrainingDiverged(f"training stopped at step {step}: {what}, so the step was not applied; {kept}. Lower "
                           "learning_rate (or raise warmup) and train again in a new folder",
                           report=report, checkpoint=checkpoint)
