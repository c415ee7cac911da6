"""Prices the cost model uses. Every one is a parameter; the defaults, with their
date and source, are only a starting point — put in your own provider's prices.

Sources: [A] an explainer "RAG vs fine-tuning" quoting 2025–2026 OpenAI prices;
[B] "RAG vs Fine-Tuning: When to Use Which", May 2026; [C] M. Chauhan, "RAG vs
Fine-Tuning: Pick Wrong and Waste Weeks", ailearnings.in, 2026. Inference prices,
which those articles do not give, are OpenAI's published gpt-4o-mini prices (July 2024).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields


@dataclass(frozen=True, slots=True)
class Prices:
    """Unit prices in US dollars.

    Attributes
    ----------
    embedding_per_mtok : float
        Embedding, per million tokens: 0.02 (OpenAI text-embedding-3-small; [A], 2025–2026).
        ragtune's local MiniLM costs nothing per token: set 0.
    input_per_mtok, output_per_mtok : float
        Base-model inference per million prompt / completion tokens: 0.15 / 0.60
        (OpenAI gpt-4o-mini, 2024-07).
    finetuned_input_per_mtok, finetuned_output_per_mtok : float
        Inference of the fine-tuned model: 0.30 / 1.20 (OpenAI fine-tuned gpt-4o-mini, 2024-07).
    training_per_mtok : float
        Hosted fine-tuning per million training tokens (× epochs): 3.00 (gpt-4o-mini at
        $0.003/1K, [C] 2026; GPT-4.1 is also ~$3.00/M, [A]).
    gpu_hour : float
        One cloud A100 hour for self-run LoRA: 5.00 ([C]: $5–20 for a 7B LoRA that takes
        1–4 GPU hours, i.e. ~$5 per hour).
    lora_tokens_per_second : float
        LoRA training throughput of a 7B model on that GPU: 1,500 tokens/s (ragtune's
        assumption, consistent with [C]'s 1–4 GPU hours for a few million tokens).
    rag_infra_per_month : float
        Managed vector database and retriever hosting: 50.00 per month (low end of
        [B]'s $50–200/month for RAG with a hosted vector DB; 0 when self-hosted).
    storage_per_gb_month : float
        Disk holding the index (vectors, graph, texts): 0.08 per GB-month (AWS EBS gp3
        list price, us-east-1, unchanged 2020–2026).
    labelling_hours_per_example : float
        Expert time to write one high-quality training example: 0.14 h ([C]: 500
        examples take 40–100 hours; 70/500).
    expert_hour : float
        Cost of an expert hour; NaN (unknown) by default, so labelling is reported in
        hours and left out of dollar totals unless you set it.
    """

    embedding_per_mtok: float = 0.02
    input_per_mtok: float = 0.15
    output_per_mtok: float = 0.60
    finetuned_input_per_mtok: float = 0.30
    finetuned_output_per_mtok: float = 1.20
    training_per_mtok: float = 3.00
    gpu_hour: float = 5.00
    lora_tokens_per_second: float = 1500.0
    rag_infra_per_month: float = 50.0
    storage_per_gb_month: float = 0.08
    labelling_hours_per_example: float = 0.14
    expert_hour: float = math.nan

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)):
                raise TypeError(f"Prices.{f.name} must be a number, got {value!r}")
            if f.name == "expert_hour" and math.isnan(value):
                continue
            if not math.isfinite(value) or value < 0:
                raise ValueError(f"Prices.{f.name} must be a finite number >= 0, got {value!r}")
        if self.lora_tokens_per_second <= 0:
            raise ValueError("Prices.lora_tokens_per_second must be > 0")


#: When the defaults above were last checked against their sources.
PRICES_DATE = "2026-05"
