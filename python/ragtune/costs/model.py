"""What each path costs per month, and the query volume where two paths break even.

Each path's monthly cost is a line in the query volume q: ``fixed + per_query · q``.

- *fixed* = one-time costs spread over ``horizon_months`` (embedding the corpus,
  training) + infrastructure and index storage per month + recurring work
  (re-embedding changed documents, retraining at the workload's cadence).
- *per_query* = prompt tokens × input price + answer tokens × output price (+ the
  question's embedding for RAG). RAG's prompt holds k chunks; long context holds the
  whole corpus (infeasible beyond the context window); a fine-tuned model needs
  neither but is billed at fine-tuned prices; hybrid (RAFT + RAG) is RAG's prompt at
  fine-tuned prices; prompt engineering carries its few-shot examples in every prompt.

Break-even between two paths is where their lines cross:
q* = (fixed_b − fixed_a) / (per_query_a − per_query_b), when that is positive.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from .prices import Prices

PATHS = ("prompt_engineering", "rag", "long_context", "fine_tuning", "hybrid")
Path_ = Literal["prompt_engineering", "rag", "long_context", "fine_tuning", "hybrid"]


@dataclass(frozen=True, slots=True)
class Workload:
    """The numbers that drive costs. Token counts are per item; defaults are typical.

    Attributes
    ----------
    corpus_tokens : documents to answer from (e.g. 200 pages ≈ 100,000 tokens)
    chunk_tokens, k : RAG chunk length and chunks per prompt
    question_tokens, answer_tokens, system_tokens : per query
    few_shot_tokens : prompt engineering's examples, sent with every query
    context_window : the model's window (long context must fit in it)
    training_examples, tokens_per_example, epochs : fine-tuning data
    training : "hosted" (per-token price) or "lora" (GPU hours on your own run)
    updates_per_month, changed_fraction : how often the knowledge changes, and how much
    retrains_per_month : fine-tuning runs per month to refresh behaviour (default 1/3:
        quarterly). Fine-tuning *alone* must also carry the facts, so it retrains at
        least at every knowledge update (``updates_per_month``); the hybrid takes its
        facts from retrieval and retrains only at this cadence.
    horizon_months : months over which one-time costs are spread
    """

    corpus_tokens: int = 1_000_000
    chunk_tokens: int = 256
    k: int = 5
    question_tokens: int = 50
    answer_tokens: int = 200
    system_tokens: int = 100
    few_shot_tokens: int = 1_000
    context_window: int = 128_000
    training_examples: int = 1_000
    tokens_per_example: int = 500
    epochs: int = 3
    training: Literal["hosted", "lora"] = "hosted"
    updates_per_month: float = 4.0
    changed_fraction: float = 0.05
    retrains_per_month: float = 1 / 3
    horizon_months: int = 12

    def __post_init__(self) -> None:
        for name in ("corpus_tokens", "chunk_tokens", "k", "question_tokens", "answer_tokens", "system_tokens",
                     "few_shot_tokens", "context_window", "training_examples", "tokens_per_example", "epochs",
                     "horizon_months"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int) or value < 0:
                raise ValueError(f"Workload.{name} must be an int >= 0, got {value!r}")
        for name in ("updates_per_month", "changed_fraction", "retrains_per_month"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise ValueError(f"Workload.{name} must be a finite number >= 0, got {value!r}")
        if self.changed_fraction > 1:
            raise ValueError(f"Workload.changed_fraction is a share of the corpus (0..1), got {self.changed_fraction}")
        if self.training not in ("hosted", "lora"):
            raise ValueError(f"Workload.training must be 'hosted' or 'lora', got {self.training!r}")
        if self.horizon_months < 1 or self.context_window < 1:
            raise ValueError("Workload.horizon_months and context_window must be at least 1")

    @property
    def training_tokens(self) -> int:
        """Tokens processed by one training run (examples × tokens × epochs)."""
        return self.training_examples * self.tokens_per_example * self.epochs


@dataclass(slots=True)
class PathCost:
    """One path's monthly cost line, with its parts (USD, or hours where named)."""

    path: str
    fixed_per_month: float
    per_query: float
    feasible: bool = True
    why_not: str = ""
    parts: dict[str, float] = field(default_factory=dict)

    def monthly(self, queries_per_month: float) -> float:
        """Total cost of a month with this many queries (inf when infeasible)."""
        return self.fixed_per_month + self.per_query * queries_per_month if self.feasible else math.inf

    def __repr__(self) -> str:
        if not self.feasible:
            return f"PathCost({self.path}: infeasible, {self.why_not})"
        return f"PathCost({self.path}: ${self.fixed_per_month:,.2f}/month + ${self.per_query:.5f}/query)"


def _per_mtok(tokens: float, price: float) -> float:
    return tokens * price / 1e6


class CostModel:
    """Costs of prompt engineering, RAG, long context, fine-tuning and hybrid.

    Examples
    --------
    >>> model = CostModel(Workload(corpus_tokens=100_000, updates_per_month=0.5))
    >>> round(model.path("long_context").per_query, 4)   # 100k tokens of handbook in every prompt
    0.0151
    >>> volume = model.break_even("long_context", "rag")
    >>> round(volume)                                    # queries per month where RAG becomes cheaper
    3377
    >>> model.cheapest(30 * 5, among=["rag", "long_context"])   # a few questions a day
    'long_context'
    """

    def __init__(self, workload: Workload | None = None, prices: Prices | None = None) -> None:
        self.workload = workload if workload is not None else Workload()
        self.prices = prices if prices is not None else Prices()
        if not isinstance(self.workload, Workload):
            raise TypeError(f"workload must be a ragtune.costs.Workload, got {type(self.workload).__name__}")
        if not isinstance(self.prices, Prices):
            raise TypeError(f"prices must be a ragtune.costs.Prices, got {type(self.prices).__name__}")

    # -- building blocks ---------------------------------------------------------

    def embedding_cost(self, tokens: float) -> float:
        """Embedding ``tokens`` tokens."""
        return _per_mtok(tokens, self.prices.embedding_per_mtok)

    def training_run(self) -> dict[str, float]:
        """One fine-tuning run: dollars, GPU hours (LoRA) and expert hours to label the data once."""
        w, p = self.workload, self.prices
        if w.training == "hosted":
            gpu_hours = 0.0
            dollars = _per_mtok(w.training_tokens, p.training_per_mtok)
        else:
            gpu_hours = w.training_tokens / p.lora_tokens_per_second / 3600
            dollars = gpu_hours * p.gpu_hour
        return {"dollars": dollars, "gpu_hours": gpu_hours,
                "labelling_hours": w.training_examples * p.labelling_hours_per_example}

    def storage_bytes(self, dim: int = 384, m: int = 16) -> int:
        """Bytes of a ragtune index for the corpus: float32 vectors, HNSW links, text (~4 bytes/token)."""
        chunks = math.ceil(self.workload.corpus_tokens / max(1, self.workload.chunk_tokens))
        return chunks * (dim * 4 + 2 * m * 4 + 64) + self.workload.corpus_tokens * 4

    # -- paths -------------------------------------------------------------------

    def path(self, name: Path_) -> PathCost:
        """The monthly cost line of one path."""
        w, p = self.workload, self.prices
        labelling = 0.0 if math.isnan(p.expert_hour) else self.training_run()["labelling_hours"] * p.expert_hour
        answer = w.answer_tokens
        if name == "prompt_engineering":
            prompt = w.system_tokens + w.few_shot_tokens + w.question_tokens
            per_query = _per_mtok(prompt, p.input_per_mtok) + _per_mtok(answer, p.output_per_mtok)
            return PathCost(name, 0.0, per_query, parts={"prompt_tokens": prompt})
        if name in ("rag", "hybrid"):
            prompt = w.system_tokens + w.k * w.chunk_tokens + w.question_tokens
            corpus = self.embedding_cost(w.corpus_tokens) / w.horizon_months
            reembed = self.embedding_cost(w.corpus_tokens * w.changed_fraction) * w.updates_per_month
            storage = self.storage_bytes() / 1e9 * p.storage_per_gb_month
            parts = {"prompt_tokens": prompt, "embed_corpus": corpus, "reembed_updates": reembed,
                     "infrastructure": p.rag_infra_per_month, "storage": storage}
            fixed = corpus + reembed + p.rag_infra_per_month + storage
            if name == "rag":
                per_query = (_per_mtok(prompt, p.input_per_mtok) + _per_mtok(answer, p.output_per_mtok)
                             + self.embedding_cost(w.question_tokens))
                return PathCost(name, fixed, per_query, parts=parts)
            run = self.training_run()["dollars"]
            parts |= {"training": run / w.horizon_months, "retraining": run * w.retrains_per_month,
                      "labelling": labelling / w.horizon_months}
            fixed += parts["training"] + parts["retraining"] + parts["labelling"]
            per_query = (_per_mtok(prompt, p.finetuned_input_per_mtok) + _per_mtok(answer, p.finetuned_output_per_mtok)
                         + self.embedding_cost(w.question_tokens))
            return PathCost(name, fixed, per_query, parts=parts)
        if name == "long_context":
            prompt = w.system_tokens + w.corpus_tokens + w.question_tokens
            per_query = _per_mtok(prompt, p.input_per_mtok) + _per_mtok(answer, p.output_per_mtok)
            feasible = prompt + answer <= w.context_window
            why = "" if feasible else (f"the corpus ({w.corpus_tokens:,} tokens) does not fit the "
                                       f"{w.context_window:,}-token context window")
            return PathCost(name, 0.0, per_query, feasible=feasible, why_not=why, parts={"prompt_tokens": prompt})
        if name == "fine_tuning":
            run = self.training_run()["dollars"]
            prompt = w.system_tokens + w.question_tokens
            retrains = max(w.retrains_per_month, w.updates_per_month)  # the facts live in the weights
            parts = {"prompt_tokens": prompt, "training": run / w.horizon_months,
                     "retraining": run * retrains, "labelling": labelling / w.horizon_months}
            per_query = _per_mtok(prompt, p.finetuned_input_per_mtok) + _per_mtok(answer, p.finetuned_output_per_mtok)
            return PathCost(name, parts["training"] + parts["retraining"] + parts["labelling"], per_query, parts=parts)
        raise ValueError(f"unknown path {name!r}; choose from {', '.join(PATHS)}")

    def paths(self) -> dict[str, PathCost]:
        return {name: self.path(name) for name in PATHS}  # type: ignore[arg-type]

    def compare(self, queries_per_month: float) -> list[dict[str, Any]]:
        """Every path's monthly cost at a volume, cheapest first (pandas-friendly rows)."""
        if not math.isfinite(queries_per_month) or queries_per_month < 0:
            raise ValueError(f"queries_per_month must be a finite number >= 0, got {queries_per_month!r}")
        rows = [{"path": c.path, "monthly": c.monthly(queries_per_month), "fixed_per_month": c.fixed_per_month,
                 "per_query": c.per_query, "feasible": c.feasible} for c in self.paths().values()]
        return sorted(rows, key=lambda r: r["monthly"])

    def cheapest(self, queries_per_month: float, among: Sequence[str] = PATHS) -> str:
        """The cheapest feasible path at a volume."""
        rows = [r for r in self.compare(queries_per_month) if r["path"] in among and r["feasible"]]
        if not rows:
            raise ValueError("no feasible path among " + ", ".join(among))
        return rows[0]["path"]

    def break_even(self, a: Path_, b: Path_) -> float | None:
        """Queries per month where ``a`` and ``b`` cost the same; None if the lines never cross
        (one path is cheaper at every volume) or a path is infeasible."""
        ca, cb = self.path(a), self.path(b)
        if not (ca.feasible and cb.feasible) or ca.per_query == cb.per_query:
            return None
        volume = (cb.fixed_per_month - ca.fixed_per_month) / (ca.per_query - cb.per_query)
        return volume if volume > 0 else None

    def curve(self, volumes: Sequence[float]) -> list[dict[str, Any]]:
        """Monthly cost of every path at each volume (rows: volume, path, monthly)."""
        return [{"queries_per_month": v, "path": r["path"], "monthly": r["monthly"]}
                for v in volumes for r in self.compare(v)]

    def plot(self, volumes: Sequence[float] | None = None, ax: Any = None) -> Any:
        """Monthly cost against query volume, log-log, one line per feasible path; returns the Axes."""
        import matplotlib.pyplot as plt
        import numpy as np

        volumes = list(volumes) if volumes is not None else list(np.logspace(1, 7, 61))
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4))
        for name, cost in self.paths().items():
            if cost.feasible:
                ax.plot(volumes, [cost.monthly(v) for v in volumes], label=name.replace("_", " "))
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_xlabel("queries per month")
        ax.set_ylabel("USD per month")
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize="small")
        return ax

    def to_dict(self) -> dict[str, Any]:
        return {"workload": asdict(self.workload), "prices": asdict(self.prices),
                "paths": {n: asdict(c) for n, c in self.paths().items()}}

    def __repr__(self) -> str:
        w = self.workload
        return (f"CostModel(corpus={w.corpus_tokens:,} tokens, k={w.k}×{w.chunk_tokens}, "
                f"training={w.training_examples:,}×{w.tokens_per_example}×{w.epochs} ({w.training}), "
                f"updates/month={w.updates_per_month:g})")
