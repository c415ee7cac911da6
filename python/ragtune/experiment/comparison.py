"""The result of the experiment: every answer with its scores, per-arm means with
bootstrap intervals, paired differences between arms, costs, and a recommendation
whose reasons cite the measurements."""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from .._files import write_json_atomically
from .scores import Interval, bootstrap_interval, paired_difference

# Which cost-model path prices each built-in arm.
COST_PATHS = {"base": "prompt_engineering", "prompt": "prompt_engineering", "rag": "rag",
              "finetune": "fine_tuning", "raft+rag": "hybrid", "long_context": "long_context"}
METRICS = ("f1", "exact_match", "grounding", "faithfulness", "answer_relevancy")


@dataclass
class ArmResult:
    """One arm: its answers (``rows``, each with ``scores``), training, and whether it ran."""

    name: str
    description: str
    ran: bool = True
    rows: list[dict[str, Any]] = field(default_factory=list)
    adapter: str | None = None
    training: dict[str, Any] = field(default_factory=dict)
    context: str = "none"
    training_data: str | None = None

    def values(self, metric: str) -> list[float] | None:
        """The per-question values of ``metric``, or None when this arm has none."""
        if not self.rows or metric not in self.rows[0]["scores"]:
            return None
        return [float(r["scores"][metric]) for r in self.rows]

    def latency(self, quantile: float) -> float | None:
        seconds = [r["seconds"] for r in self.rows]
        return float(np.quantile(seconds, quantile)) if seconds else None


@dataclass
class Comparison:
    """Scores of every arm on the same held-out questions.

    Examples
    --------
    >>> result = compare(docs, pairs, out="experiment")     # doctest: +SKIP
    >>> result.interval("rag", "f1")                         # doctest: +SKIP
    0.231 [0.198, 0.266]
    >>> result.difference("raft+rag", "rag")                 # doctest: +SKIP
    0.041 [0.012, 0.070]
    >>> result.to_pandas(); result.plot(); result.recommend()  # doctest: +SKIP
    """

    arms: list[ArmResult]
    retrieval: dict[str, Any]
    train_questions: int
    test_questions: int
    settings: dict[str, Any]
    notes: list[str] = field(default_factory=list)
    split: dict[str, list[str]] = field(default_factory=dict)
    queries_per_month: float = 10_000
    corpus_tokens: int = 0
    context_window: int | None = None
    seconds: float = 0.0
    out: Path | None = None
    confidence: float = 0.95

    def arm(self, name: str) -> ArmResult:
        for arm in self.arms:
            if arm.name == name:
                return arm
        raise KeyError(f"no arm {name!r} in this comparison; it has {[a.name for a in self.arms]}")

    @property
    def ran(self) -> list[ArmResult]:
        return [a for a in self.arms if a.ran]

    def interval(self, arm: str, metric: str = "f1") -> Interval | None:
        """Mean of ``metric`` over the test questions with its bootstrap interval."""
        values = self.arm(arm).values(metric)
        # A judge can leave a question unscored (NaN: an empty answer makes no claim to check).
        finite = [v for v in values or [] if np.isfinite(v)]
        return None if not finite else bootstrap_interval(finite, confidence=self.confidence,
                                                          seed=int(self.settings.get("seed", 0)))

    def difference(self, a: str, b: str, metric: str = "f1") -> Interval | None:
        """Paired difference ``a - b`` of ``metric`` over the same questions: ``a`` beats
        ``b`` only when the interval's low end is above zero."""
        left, right = self.arm(a).values(metric), self.arm(b).values(metric)
        if left is None or right is None:
            return None
        pairs = [(x, y) for x, y in zip(left, right) if np.isfinite(x) and np.isfinite(y)]
        if not pairs:
            return None
        return paired_difference([x for x, _ in pairs], [y for _, y in pairs], confidence=self.confidence,
                                 seed=int(self.settings.get("seed", 0)))

    def cost_model(self, training: str = "lora") -> Any:
        """``ragtune.costs.CostModel`` with the token counts measured in this experiment."""
        from ..costs import CostModel, Workload

        answers = [r["new_tokens"] for a in self.ran for r in a.rows if r.get("new_tokens")]
        prompts = [r["prompt_tokens"] for a in self.ran if a.name == "base" for r in a.rows]
        # About 4 characters per token, from the chunks this experiment indexed.
        chunk_chars = self.retrieval.get("chunk_chars") or self.settings.get("chunk_size") or 1000
        chunk_tokens = max(1, int(chunk_chars) // 4)
        workload = Workload(corpus_tokens=max(1, self.corpus_tokens), chunk_tokens=chunk_tokens,
                            k=int(self.retrieval.get("k", 4)),
                            question_tokens=max(1, int(np.mean(prompts))) if prompts else 50,
                            answer_tokens=max(1, int(np.mean(answers))) if answers else 200,
                            training_examples=max(1, self.train_questions), training=training)
        return CostModel(workload)

    def costs(self) -> dict[str, float]:
        """Monthly cost of each arm's path at ``queries_per_month`` (``ragtune.costs``, its
        default prices), with token counts measured in this experiment."""
        # Training is priced as it would happen: a LoRA run of your own when the experiment
        # trained adapters, a hosted fine-tuning job when it could not (a hosted generator).
        trained_here = any(a.training for a in self.arms) or not any(a.training_data for a in self.arms)
        model = self.cost_model("lora" if trained_here else "hosted")
        return {a.name: model.path(COST_PATHS[a.name]).monthly(self.queries_per_month)
                for a in self.arms if a.name in COST_PATHS}

    def rows(self) -> list[dict[str, Any]]:
        """One summary row per arm: means with intervals, latency, training, cost."""
        costs = self.costs()
        out = []
        for arm in self.arms:
            row: dict[str, Any] = {"arm": arm.name, "ran": arm.ran}
            for metric in METRICS:
                interval = self.interval(arm.name, metric) if arm.ran else None
                if interval is not None:
                    row[metric] = interval.mean
                    row[f"{metric}_low"], row[f"{metric}_high"] = interval.low, interval.high
            if arm.context == "retrieved":
                row["recall"], row["mrr"] = self.retrieval["recall"], self.retrieval["mrr"]
            if arm.ran:
                row["latency_p50_s"], row["latency_p95_s"] = arm.latency(0.5), arm.latency(0.95)
            if not arm.ran and arm.training_data:
                # Not run here (a hosted model): what one run on a hosted fine-tuning service would cost.
                row["training_cost_usd"] = self.cost_model("hosted").training_run()["dollars"]
            if arm.training:
                row["training_s"] = arm.training.get("seconds")
                row["adapter_mb"] = arm.training.get("adapter_bytes", 0) / 1e6
            if arm.name in costs:
                row["cost_per_month"] = costs[arm.name]
            out.append(row)
        return out

    def to_pandas(self) -> Any:
        import pandas as pd

        return pd.DataFrame(self.rows()).set_index("arm")

    def measurements(self) -> dict[str, float]:
        """What the advisor takes: retrieval recall, and each arm's answer F1 and its
        paired gain over the closed-book base model (the interval's low end)."""
        measured: dict[str, float] = {}
        if self.retrieval and any(a.context == "retrieved" for a in self.ran):
            measured[f"recall@{self.retrieval['k']}"] = float(self.retrieval["recall"])
        base_ran = any(a.name == "base" for a in self.ran)
        for arm in self.ran:
            interval = self.interval(arm.name, "f1")
            if interval is None or arm.name not in COST_PATHS:  # the advisor knows the built-in arms
                continue
            measured[f"answer_f1[{arm.name}]"] = interval.mean
            if base_ran and arm.name != "base":
                measured[f"answer_f1_gain_low[{arm.name}]"] = max(-1.0, self.difference(arm.name, "base").low)
        for name in ("faithfulness",):
            values = [v for a in self.ran for v in (a.values(name) or []) if np.isfinite(v)]
            if values:
                measured[name] = float(np.mean(values))
        return measured

    def recommend(self, **situation: Any) -> Any:
        """``ragtune.advise`` with these measurements (and any situation you add: how often
        the knowledge changes, citations, ...); its reasons cite the numbers."""
        from ..advisor import advise

        known: dict[str, Any] = {"labelled_examples": self.train_questions, "corpus_tokens": self.corpus_tokens or None}
        if self.context_window:
            known["context_window"] = self.context_window
        return advise(measured=self.measurements(), **(known | situation))

    def plot(self, metric: str = "f1") -> Any:
        """Left: each arm's mean ``metric`` with its interval. Right: monthly cost against
        that score. Returns the figure."""
        import matplotlib.pyplot as plt

        fig, (left, right) = plt.subplots(1, 2, figsize=(11, 4))
        costs = self.costs()
        names, means, errors = [], [], [[], []]
        for arm in self.ran:
            interval = self.interval(arm.name, metric)
            if interval is None:
                continue
            names.append(arm.name)
            means.append(interval.mean)
            errors[0].append(interval.mean - interval.low)
            errors[1].append(interval.high - interval.mean)
        left.bar(names, means, yerr=errors, capsize=4, color="tab:blue", alpha=0.8)
        left.set_ylabel(f"{metric} ({int(self.confidence * 100)}% bootstrap interval)")
        left.set_title(f"{self.test_questions} held-out questions")
        for name, mean in zip(names, means):
            if name in costs:
                right.scatter(costs[name], mean, s=40)
                right.annotate(name, (costs[name], mean), textcoords="offset points", xytext=(5, 5))
        right.set_xscale("symlog")
        right.set_xlabel(f"cost per month at {self.queries_per_month:,.0f} queries (USD)")
        right.set_ylabel(metric)
        right.set_title("cost vs quality")
        fig.tight_layout()
        return fig

    def to_dict(self) -> dict[str, Any]:
        data = {k: v for k, v in asdict(self).items() if k != "out"}
        return data | {"summary": self.rows(), "measurements": self.measurements()}

    def save(self, out: str | os.PathLike[str] | None = None) -> Path:
        """``comparison.json``: settings, retrieval, every answer with its context and scores, the summary."""
        folder = Path(out) if out is not None else self.out
        if folder is None:
            raise ValueError("give a folder to save into (compare(..., out=...) or save(out))")
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "comparison.json"
        write_json_atomically(path, self.to_dict())
        return path

    def summary(self) -> str:
        lines = [f"{self.test_questions} held-out questions ({self.train_questions} for training); "
                 f"retrieval recall@{self.retrieval.get('k')} {self.retrieval.get('recall', float('nan')):.3f}"]
        for arm in self.arms:
            interval = self.interval(arm.name, "f1") if arm.ran else None
            lines.append(f"  {arm.name:<13} " + (f"F1 {interval!r}" if interval else "not run"))
        return "\n".join(lines + [f"  note: {n}" for n in self.notes])

    def __repr__(self) -> str:
        return f"Comparison(\n{self.summary()}\n)"
