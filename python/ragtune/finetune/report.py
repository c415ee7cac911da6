"""What a training run did: :class:`TrainReport`, saved beside the adapter as
``training.json`` and drawn by :meth:`TrainReport.plot`."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from .._files import read_json, write_json_atomically

REPORT_NAME = "training.json"


@dataclass
class TrainReport:
    """The record of one training run.

    ``history`` has one entry per optimizer step (``step``, ``epoch``, ``loss``, ``lr``,
    ``grad_norm``, ``tokens``, ``target_tokens``, ``seconds``); ``eval`` one per
    evaluation (``step``, ``epoch``, ``loss``), the first at step 0 being the base
    model's held-out loss (a fresh LoRA adapter changes nothing). Throughput counts
    useful tokens only: padding is work, not progress.

    Examples
    --------
    >>> report = TrainReport.load("my-adapter")            # doctest: +SKIP
    >>> report.eval_loss_before, report.eval_loss_after    # doctest: +SKIP
    (2.41, 1.87)
    >>> report.plot()                                      # doctest: +SKIP
    """

    out: str
    base: str
    config: dict[str, Any]
    versions: dict[str, str]
    data: dict[str, Any]
    device: str
    dtype: str
    steps: int = 0
    epochs_completed: int = 0
    history: list[dict[str, Any]] = field(default_factory=list)
    eval: list[dict[str, Any]] = field(default_factory=list)
    useful_tokens: int = 0
    padded_tokens: int = 0
    target_tokens: int = 0
    train_seconds: float = 0.0
    wall_seconds: float = 0.0
    peak_rss_bytes: int = 0
    resumed_from: list[int] = field(default_factory=list)
    status: str = "running"

    @property
    def tokens_per_second(self) -> float:
        """Useful (non-padding) tokens trained on per second of training."""
        return self.useful_tokens / self.train_seconds if self.train_seconds > 0 else 0.0

    @property
    def padding_fraction(self) -> float:
        return 1 - self.useful_tokens / self.padded_tokens if self.padded_tokens else 0.0

    @property
    def final_loss(self) -> float | None:
        return self.history[-1]["loss"] if self.history else None

    @property
    def eval_loss_before(self) -> float | None:
        """Held-out loss of the base model (before any step)."""
        first = self.eval[0] if self.eval else None
        return first["loss"] if first and first["step"] == 0 else None

    @property
    def eval_loss_after(self) -> float | None:
        last = self.eval[-1] if self.eval else None
        return last["loss"] if last and last["step"] > 0 else None

    def summary(self) -> str:
        parts = [f"{self.steps} steps", f"{self.epochs_completed} epochs" if self.epochs_completed != 1 else "1 epoch"]
        if self.final_loss is not None:
            parts.append(f"train loss {self.history[0]['loss']:.3f} -> {self.final_loss:.3f}")
        if self.eval_loss_before is not None and self.eval_loss_after is not None:
            parts.append(f"held-out loss {self.eval_loss_before:.3f} -> {self.eval_loss_after:.3f}")
        parts.append(f"{self.tokens_per_second:,.0f} useful tokens/s ({100 * self.padding_fraction:.1f}% padding)")
        parts.append(f"{self.wall_seconds:.0f} s, peak RSS {self.peak_rss_bytes / 2**30:.2f} GiB")
        return f"{self.out}: " + ", ".join(parts) + f" [{self.status}]"

    def __repr__(self) -> str:
        return f"TrainReport({self.summary()})"

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"tokens_per_second": self.tokens_per_second,
                               "padding_fraction": self.padding_fraction}

    def save(self, folder: str | os.PathLike[str]) -> Path:
        """Write ``training.json`` into ``folder`` atomically."""
        path = Path(folder) / REPORT_NAME
        write_json_atomically(path, self.to_dict())
        return path

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TrainReport:
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in data.items() if k in names})

    @classmethod
    def load(cls, folder: str | os.PathLike[str]) -> TrainReport:
        """The report of a finished run, from its adapter folder (or the JSON file)."""
        path = Path(folder)
        path = path / REPORT_NAME if path.is_dir() else path
        try:
            data = read_json(path, what="training report")
        except FileNotFoundError:
            raise FileNotFoundError(f"{path} does not exist: is this a folder written by train_lora?") from None
        if not isinstance(data, dict) or "history" not in data:
            raise ValueError(f"{path} is not a training report")
        return cls.from_dict(data)

    def plot(self, ax: Any = None, *, smooth: int = 10) -> Any:
        """Training loss per step (raw and a moving average of ``smooth`` steps) and the
        held-out loss at each evaluation, the base model's at step 0. Returns the figure."""
        import matplotlib.pyplot as plt

        if ax is None:
            fig, ax = plt.subplots(figsize=(7, 4))
        else:
            fig = ax.figure
        steps = [h["step"] for h in self.history]
        losses = [h["loss"] for h in self.history]
        if steps:
            ax.plot(steps, losses, color="tab:blue", alpha=0.3, linewidth=1, label="train loss")
            window = max(1, min(smooth, len(losses)))
            moving = [sum(losses[max(0, i - window + 1):i + 1]) / (i + 1 - max(0, i - window + 1))
                      for i in range(len(losses))]
            ax.plot(steps, moving, color="tab:blue", linewidth=2, label=f"train loss ({window}-step mean)")
        if self.eval:
            ax.plot([e["step"] for e in self.eval], [e["loss"] for e in self.eval], "o-", color="tab:orange",
                    label="held-out loss")
        ax.set_xlabel("optimizer step")
        ax.set_ylabel("cross-entropy on answer tokens")
        ax.set_title(f"LoRA r={self.config.get('r')} on {Path(self.base).name}")
        ax.grid(alpha=0.3)
        ax.legend()
        return fig
