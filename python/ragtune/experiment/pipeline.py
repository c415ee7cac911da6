"""The experiment's shared work, each piece cached under the output folder: the index
and the retrieval for every test question, the adapters trained on the train split,
and every arm's answers."""

from __future__ import annotations

import json
import tempfile
import time
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np

from .._files import atomic_output, read_json
from ..evaluate.qrels import build_qrels
from ..qa import QAPair
from .arms import RAG_SYSTEM_PROMPT, Arm


class Pipeline:
    """State shared by the arms of one experiment."""

    def __init__(self, documents: Mapping[str, str], train: Sequence[QAPair], test: Sequence[QAPair], *,
                 settings: dict[str, Any], embedding: Any, out: Path | None, progress: bool, threads: int) -> None:
        self.documents = dict(documents)
        self.train_pairs, self.test_pairs = list(train), list(test)
        self.settings = settings
        self.embedding = embedding
        self.out = out if out is not None else Path(tempfile.mkdtemp(prefix="ragtune-compare-"))
        self.progress = progress
        self.threads = threads
        self.chunks: list[Any] = []
        self.index: Any = None
        self.hits: dict[str, list[Any]] = {}
        self._tokens: int | None = None

    # Retrieval --------------------------------------------------------------------
    def retrieve(self, *, k: int, chunk_size: int | None, chunk_overlap: int | None, mode: str) -> dict[str, Any]:
        """Chunk and index every document; retrieve for each test question; score it.
        ``chunk_size=None``: chunks sized to the embedder's window; a number: characters."""
        from ..chunking import RecursiveChunker
        from ..evaluate.metrics import retrieval_metrics
        from ..index import Index

        self.index = Index(embedding=self.embedding, threads=self.threads) if self.embedding is not None \
            else Index(threads=self.threads)
        if chunk_size is None:
            chunker = RecursiveChunker.for_embedder(self.index.embedding, chunk_overlap=chunk_overlap)
        else:
            chunker = RecursiveChunker.in_characters(chunk_size=chunk_size, chunk_overlap=chunk_overlap)
        self.chunks = [c for doc in chunker.split_many(list(self.documents.values()), sources=list(self.documents),
                                                       threads=self.threads) for c in doc]
        self.index.add(self.chunks)
        began = time.perf_counter()
        ranked = self.index.search_many([p.question for p in self.test_pairs], k=k, mode=mode)
        seconds = (time.perf_counter() - began) / max(1, len(self.test_pairs))
        self.hits = {p.id: hits for p, hits in zip(self.test_pairs, ranked)}
        qrels = build_qrels(self.test_pairs, self.chunks)
        scores = retrieval_metrics({q: [h.id for h in hits] for q, hits in self.hits.items()}, qrels, k=[k])
        return {"k": k, "mode": mode, "recall": scores[f"recall@{k}"], "mrr": scores[f"mrr@{k}"],
                "hit_rate": scores[f"hit_rate@{k}"], "per_question": {q: s[f"recall@{k}"] for q, s in
                                                                       scores.per_query.items()},
                "ms_per_query": 1000 * seconds, "chunks": len(self.chunks), "chunker": repr(chunker),
                "chunk_chars": float(np.mean([len(c.text) for c in self.chunks])) if self.chunks else 0.0,
                "questions_without_relevant_chunk": len(self.test_pairs) - len(qrels)}

    def contexts_for(self, arm: Arm, pair: QAPair) -> list[str]:
        if arm.context == "retrieved":
            return [h.text for h in self.hits.get(pair.id, [])]
        if arm.context == "corpus":
            return list(self.documents.values())
        return []

    def examples(self, count: int) -> list[QAPair]:
        """The prompt arm's examples: the first ``count`` train pairs (the same for every question)."""
        return self.train_pairs[:count]

    # Context window ------------------------------------------------------------------
    def corpus_tokens(self, folder: Path | None = None) -> int:
        """The corpus in tokens (the local model's tokenizer; about 4 characters a token otherwise)."""
        if self._tokens is None:
            if folder is not None:
                from ..finetune.model import load_tokenizer

                tokenizer = load_tokenizer(folder)
                self._tokens = sum(len(tokenizer(t, add_special_tokens=False)["input_ids"])
                                   for t in self.documents.values())
            else:
                self._tokens = sum(len(t) for t in self.documents.values()) // 4
        return self._tokens

    @staticmethod
    def context_window(folder: Path | None) -> int | None:
        """The local model's context window in tokens (None for a hosted model)."""
        if folder is None:
            return None
        config = read_json(folder / "config.json", what="model config")
        window = config.get("max_position_embeddings")
        return int(window) if isinstance(window, int) and window > 0 else None

    def fits_window(self, folder: Path | None) -> bool:
        window = self.context_window(folder)
        return window is not None and self.corpus_tokens(folder) + 512 <= window

    # Training ------------------------------------------------------------------------
    def _raft_dataset(self, raft_options: Mapping[str, Any], seed: int) -> Any:
        from ..raft import assemble

        options = {"distractors": max(1, int(self.settings["k"]) - 1), "p": 0.8, "strategy": "mixed",
                   "mode": "bm25", "seed": seed} | dict(raft_options)
        if options.get("strategy", "random") != "random":
            options.setdefault("index", self.index)
        with warnings.catch_warnings():
            # Train questions whose answer no chunk holds are left out; the report counts them.
            warnings.filterwarnings("ignore", message=".*have no chunk holding their answer")
            return assemble(self.chunks, self.train_pairs, documents=self.documents, threads=self.threads, **options)

    def _training_data(self, kind: str, raft_options: Mapping[str, Any], seed: int) -> Any:
        if kind == "qa":
            return [(p.question, p.answer) for p in self.train_pairs]
        return self._raft_dataset(raft_options, seed)

    def train(self, kind: str, folder: Path, *, finetune_options: Mapping[str, Any], raft_options: Mapping[str, Any],
              seed: int) -> tuple[Path, dict[str, Any]]:
        """The adapter for ``kind`` ("qa" or "raft"), trained on the train split (or found in the cache)."""
        from ..finetune import TrainReport, train_lora

        adapter = self.out / "adapters" / kind
        if not (adapter / "training.json").is_file():
            options = {"epochs": 1, "max_seq_len": 1024, "eval_fraction": 0.0, "threads": self.threads,
                       "seed": seed, "progress": self.progress} | dict(finetune_options)
            if kind == "raft":
                options.setdefault("system_prompt", RAG_SYSTEM_PROMPT)
            train_lora(folder, self._training_data(kind, raft_options, seed), adapter, **options)
        report = TrainReport.load(adapter)
        size = (adapter / "adapter_model.safetensors").stat().st_size
        return adapter, {"seconds": report.wall_seconds, "steps": report.steps, "adapter_bytes": size,
                         "examples": report.data.get("train_examples"), "final_loss": report.final_loss,
                         "tokens_per_second": report.tokens_per_second}

    def export_training_data(self, kind: str, *, raft_options: Mapping[str, Any], seed: int) -> Path | None:
        """The training set as chat JSONL, for a hosted fine-tuning service."""
        from ..raft import write_jsonl

        path = self.out / "export" / f"{kind}.chat.jsonl"
        data = self._training_data(kind, raft_options, seed)
        if kind == "qa":
            with atomic_output(path) as handle:
                for question, answer in data:
                    handle.write(json.dumps({"messages": [{"role": "user", "content": question},
                                                          {"role": "assistant", "content": answer}]},
                                            ensure_ascii=False) + "\n")
        else:
            write_jsonl(data.examples, path, "chat", system_prompt=RAG_SYSTEM_PROMPT)
        return path

    # Answers -------------------------------------------------------------------------
    def _answers_path(self, arm: str) -> Path:
        return self.out / "answers" / f"{arm.replace('+', '_plus_')}.json"

    def cached_answers(self, arm: str) -> list[dict[str, Any]] | None:
        path = self._answers_path(arm)
        if not path.is_file():
            return None
        stored = read_json(path, what="cached answers")
        if not isinstance(stored, dict) or stored.get("test") != [p.id for p in self.test_pairs]:
            return None  # another test set: answer again
        return stored["rows"]

    def store_answers(self, arm: str, rows: list[dict[str, Any]]) -> None:
        with atomic_output(self._answers_path(arm)) as handle:
            json.dump({"test": [p.id for p in self.test_pairs], "rows": rows}, handle, ensure_ascii=False)
