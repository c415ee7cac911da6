"""Cost model: what prompt engineering, RAG, long context, fine-tuning and hybrid
cost per month for a workload, and the query volumes where they break even.

>>> from ragtune.costs import CostModel, Prices, Workload
>>> model = CostModel(Workload(corpus_tokens=2_000_000), Prices(embedding_per_mtok=0.0))
>>> model.path("long_context").feasible
False
"""

from __future__ import annotations

from .model import PATHS, CostModel, PathCost, Workload
from .prices import PRICES_DATE, Prices

__all__ = ["PATHS", "PRICES_DATE", "CostModel", "PathCost", "Prices", "Workload"]
