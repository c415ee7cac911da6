"""What the advisor returns: a choice, a confidence, and reasons tied to inputs."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

OPTIONS = ("prompt_engineering", "rag", "fine_tuning", "hybrid", "long_context")
LABELS = {
    "prompt_engineering": "prompt engineering",
    "rag": "RAG",
    "fine_tuning": "fine-tuning (LoRA)",
    "hybrid": "hybrid (RAFT fine-tuning + RAG)",
    "long_context": "long context",
}


@dataclass(frozen=True, slots=True)
class Reason:
    """One input's effect: which options it favours (+) or counts against (−), and why."""

    input: str
    value: Any
    effects: dict[str, float]
    text: str

    def effect_on(self, option: str) -> float:
        return self.effects.get(option, 0.0)

    def __str__(self) -> str:
        return f"{self.input}={self.value!r}: {self.text}"


@dataclass(slots=True)
class Recommendation:
    """The advisor's answer.

    Attributes
    ----------
    choice : one of "prompt_engineering", "rag", "fine_tuning", "hybrid", "long_context"
    confidence : 0..1 (``confidence_label``: low / medium / high)
    reasons : the inputs that favour the choice, strongest first
    against : the inputs that count against it
    conflicts : pairs of inputs that pull in opposite directions
    scores : every option's total
    next_steps : what to do now, as ragtune commands where there is one
    costs : monthly cost per path at the stated volume (when the corpus size and volume are known)
    """

    choice: str
    confidence: float
    scores: dict[str, float]
    reasons: list[Reason] = field(default_factory=list)
    against: list[Reason] = field(default_factory=list)
    conflicts: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    next_steps: list[str] = field(default_factory=list)
    costs: dict[str, float] | None = None

    @property
    def confidence_label(self) -> str:
        return "high" if self.confidence >= 0.6 else "medium" if self.confidence >= 0.35 else "low"

    @property
    def label(self) -> str:
        return LABELS[self.choice]

    @property
    def runner_up(self) -> str:
        ranked = sorted(self.scores, key=lambda o: -self.scores[o])
        return ranked[1] if ranked[0] == self.choice else ranked[0]

    def explain(self) -> str:
        """A readable report: choice, confidence, reasons, conflicts, next steps."""
        lines = [f"Recommendation: {self.label} (confidence {self.confidence:.2f}, {self.confidence_label})"]
        lines += ["Because:"] + [f"  + {r}" for r in self.reasons] if self.reasons else []
        lines += ["Against it:"] + [f"  - {r}" for r in self.against] if self.against else []
        lines += ["Conflicting inputs:"] + [f"  ! {c}" for c in self.conflicts] if self.conflicts else []
        if self.missing:
            lines.append("Unknown (answering these would firm this up): " + ", ".join(self.missing))
        if self.costs:
            lines.append("Monthly cost at your volume: " + ", ".join(
                f"{LABELS[p]} ${c:,.2f}" for p, c in sorted(self.costs.items(), key=lambda kv: kv[1])))
        lines.append(f"Runner-up: {LABELS[self.runner_up]}. Scores: " + ", ".join(
            f"{o} {s:+.1f}" for o, s in sorted(self.scores.items(), key=lambda kv: -kv[1])))
        lines += ["Next steps:"] + [f"  {n}. {s}" for n, s in enumerate(self.next_steps, start=1)]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["confidence_label"] = self.confidence_label
        return out

    def __repr__(self) -> str:
        top = self.reasons[0].input if self.reasons else "no input"
        return (f"Recommendation({self.choice!r}, confidence={self.confidence:.2f} ({self.confidence_label}), "
                f"{len(self.reasons)} reason{'s' if len(self.reasons) != 1 else ''} led by {top}"
                + (f", {len(self.conflicts)} conflicts" if self.conflicts else "") + ")")
