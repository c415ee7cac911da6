"""Writes the seed corpus of every fuzz target into tests/fuzz/corpus/<target>/.

Seeds are small real inputs (a few hundred bytes to a few KB): snippets of the
Python FAQ, tiny safetensors files written by the safetensors package, and the
files of a tiny saved ragtune index. Inputs that once found a bug are kept beside
them as ``regression-*`` files (never regenerated). Deterministic; re-run after a
format change:

    .venv/bin/python tests/fuzz/make_seeds.py
"""

from __future__ import annotations

import hashlib
import json
import struct
import sys
import tempfile
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
CORPUS = HERE / "corpus"
sys.path.insert(0, str(HERE.parent))

from corpora import python_docs  # noqa: E402


def write(target: str, data: bytes) -> None:
    folder = CORPUS / target
    folder.mkdir(parents=True, exist_ok=True)
    (folder / hashlib.sha1(data).hexdigest()[:16]).write_bytes(data)


def text_seeds() -> list[str]:
    faq = python_docs()["faq/programming.rst.txt"]
    return [faq[:1500], faq[5000:5600], "# Title\n\nSome *markdown*.\n\n```py\nx = 1\n```\n",
            "Ünïcödé — 日本語のテキスト。😀 emoji\n\nsecond paragraph", "a b c\n\n\n\nd\te  f", ""]


def main() -> None:
    # Generated seeds are rewritten; inputs that once crashed a target (regression-*) stay.
    for old in CORPUS.rglob("*"):
        if old.is_file() and not old.name.startswith("regression-"):
            old.unlink()
    for text in text_seeds():
        body = text.encode("utf-8")
        for options in (bytes([50, 10, 1, 1, 0]), bytes([200, 0, 0, 0, 1]) + b"\n", bytes([20, 5, 2, 1, 7]) + b"\\s"):
            write("recursive_splitter", options + body)
        write("word_tokenizer", body)
        write("py_chunkers", body)
        write("py_raft_quotes", body)
    quoted = ("##Reason: the FAQ says ##begin_quote##Default values are created exactly once##end_quote## "
              "so they are shared.\n<ANSWER>: they are created once")
    write("py_raft_quotes", quoted.encode())

    from safetensors.numpy import save as save_safetensors

    tensors = {"a": np.arange(6, dtype=np.float32).reshape(2, 3), "b": np.ones((4,), dtype=np.float16)}
    write("safetensors", save_safetensors(tensors))
    write("safetensors", save_safetensors({"x": np.zeros((2, 2), dtype=np.int64)}, metadata={"format": "pt"}))
    write("safetensors", save_safetensors({}))

    from ragtune import Index
    from ragtune.embeddings import HashingEmbeddings

    with tempfile.TemporaryDirectory() as tmp:
        index = Index(embedding=HashingEmbeddings(dim=8), exact_below=0)
        index.add(["alpha beta", "gamma delta", "epsilon", "zeta eta theta"], ids=list("abcd"))
        snapshot = index.save(Path(tmp) / "ix")
        vectors = (snapshot / "vectors.bin").read_bytes()
        graph = (snapshot / "graph.bin").read_bytes()
        bm25 = (snapshot / "bm25.bin").read_bytes()
        write("index_loader", bytes([2]) + struct.pack("<H", len(vectors)) + vectors + graph)
        write("index_loader", bytes([0]) + struct.pack("<H", len(vectors)) + vectors)
        write("index_loader", bytes([1]) + struct.pack("<H", len(bm25)) + bm25)
        write("py_index_load", json.dumps({name: (snapshot / name).read_text()
                                           for name in ("manifest.json", "records.jsonl")}).encode())

    adapter = {"peft_type": "LORA", "r": 4, "lora_alpha": 8, "target_modules": ["q_proj", "v_proj"],
               "rank_pattern": {}, "alpha_pattern": {}, "use_rslora": False, "use_dora": False,
               "fan_in_fan_out": False, "bias": "none", "modules_to_save": None}
    write("py_adapter_config", json.dumps(adapter).encode())
    write("py_adapter_config", json.dumps(adapter | {"use_rslora": True, "rank_pattern": {"q_proj": 2}}).encode())
    count = sum(1 for _ in CORPUS.rglob("*") if _.is_file())
    print(f"{count} seeds in {CORPUS}")


if __name__ == "__main__":
    main()
