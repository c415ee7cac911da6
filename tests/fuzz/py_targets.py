"""Fuzz targets for ragtune's Python surface, run by atheris (tests/fuzz/run_atheris.py).

Each target takes raw bytes and must either succeed with its invariants holding or
raise one of the exceptions its API documents (``ALLOWED``); anything else — an
unexpected exception type, a broken invariant, a crash in the C++ core — is a bug.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import tempfile
from pathlib import Path

import atheris

# Coverage feedback for ragtune's own code only: instrumenting its dependencies too
# (numpy, langchain-core, pydantic...) costs ~20 s at every start and guides nothing.
with atheris.instrument_imports(include=["ragtune"]):
    from ragtune import Index, MarkdownChunker, RecursiveChunker, SentenceChunker
    from ragtune.embeddings import HashingEmbeddings
    from ragtune.evaluate import grounding_score
    from ragtune.lora.adapter import LoraAdapter
    from ragtune.raft import check_quotes, parse_cot_answer

_WORK = Path(tempfile.mkdtemp(prefix="ragtune-atheris-"))


def chunkers(data: bytes) -> None:
    """Random parameters and Unicode text through every chunker; offsets must be exact."""
    fdp = atheris.FuzzedDataProvider(data)
    size = fdp.ConsumeIntInRange(1, 300)
    overlap = fdp.ConsumeIntInRange(0, size)
    keep = fdp.PickValueInList([True, False, "start", "end"])
    strip = fdp.ConsumeBool()
    text = fdp.ConsumeUnicodeNoSurrogates(fdp.remaining_bytes())
    for chunker in (RecursiveChunker(chunk_size=size, chunk_overlap=overlap, keep_separator=keep,
                                     strip_whitespace=strip),
                    MarkdownChunker(chunk_size=size),
                    SentenceChunker(chunk_size=size, chunk_overlap=overlap)):
        for chunk in chunker.split(text, source="fuzz"):
            if text[chunk.start:chunk.end] != chunk.text:
                raise AssertionError(f"{chunker!r}: offsets {chunk.start}:{chunk.end} do not give the chunk's text")
    try:  # raw bytes: valid UTF-8 is decoded, anything else refused with ValueError
        RecursiveChunker(chunk_size=size, chunk_overlap=overlap).split(data)
    except ValueError as error:
        if "UTF-8" not in str(error):
            raise


def raft_quotes(data: bytes) -> None:
    """The RAFT answer parser, quote checker and grounding score on any text."""
    fdp = atheris.FuzzedDataProvider(data)
    oracle = fdp.ConsumeUnicodeNoSurrogates(fdp.ConsumeIntInRange(0, 200))
    answer = fdp.ConsumeUnicodeNoSurrogates(fdp.remaining_bytes())
    parsed = parse_cot_answer(answer)
    check = check_quotes(answer, [oracle])
    if check.quotes != len(parsed.quotes) or len(check.missing) > check.quotes:
        raise AssertionError("check_quotes disagrees with parse_cot_answer")
    score = grounding_score(answer, [oracle])
    if not (score.score != score.score or 0.0 <= score.score <= 1.0):  # NaN for an empty answer
        raise AssertionError(f"grounding score out of range: {score!r}")


_ADAPTER_WEIGHTS: bytes | None = None


def adapter_config(data: bytes) -> None:
    """adapter_config.json as given, beside a valid adapter_model.safetensors."""
    global _ADAPTER_WEIGHTS
    if _ADAPTER_WEIGHTS is None:
        import numpy as np
        from safetensors.numpy import save

        _ADAPTER_WEIGHTS = save({
            "base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight": np.ones((4, 16), np.float32),
            "base_model.model.model.layers.0.self_attn.q_proj.lora_B.weight": np.ones((16, 4), np.float32),
        })
    folder = _WORK / "adapter"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir()
    (folder / "adapter_config.json").write_bytes(data)
    (folder / "adapter_model.safetensors").write_bytes(_ADAPTER_WEIGHTS)
    try:
        adapter = LoraAdapter.load(folder)
    except (ValueError, OSError):
        return
    repr(adapter)


_SNAPSHOT: dict[str, bytes] = {}


def index_load(data: bytes) -> None:
    """A saved index whose manifest and records are fuzzed (checksums recomputed, so
    the loader's own validation is reached)."""
    if not _SNAPSHOT:
        index = Index(embedding=HashingEmbeddings(dim=8), exact_below=0)
        index.add(["alpha beta", "gamma delta", "epsilon", "zeta eta theta"], ids=list("abcd"))
        saved = index.save(_WORK / "base")
        _SNAPSHOT.update({p.name: p.read_bytes() for p in saved.iterdir()})
    try:
        parts = json.loads(data)
        manifest_text, records_text = parts["manifest.json"], parts["records.jsonl"]
        if not isinstance(manifest_text, str) or not isinstance(records_text, str):
            raise TypeError
        manifest = json.loads(manifest_text)
    except (ValueError, KeyError, TypeError):  # not the seed's shape: the bytes are the records file, as they are
        manifest, records_text = json.loads(_SNAPSHOT["manifest.json"]), data
    root = _WORK / "index"
    shutil.rmtree(root, ignore_errors=True)
    snapshot = root / "snapshot-000001"
    snapshot.mkdir(parents=True)
    (root / "CURRENT").write_text(snapshot.name)
    for name in ("vectors.bin", "graph.bin", "bm25.bin"):
        (snapshot / name).write_bytes(_SNAPSHOT[name])
    records = records_text if isinstance(records_text, bytes) else records_text.encode("utf-8", "surrogatepass")
    (snapshot / "records.jsonl").write_bytes(records)
    if isinstance(manifest, dict) and isinstance(manifest.get("files"), dict):
        for name in list(manifest["files"]):
            path = snapshot / str(name)
            if "/" not in str(name) and path.is_file():
                manifest["files"][name] = {"bytes": path.stat().st_size,
                                           "sha256": hashlib.sha256(path.read_bytes()).hexdigest()}
    (snapshot / "manifest.json").write_text(json.dumps(manifest), encoding="utf-8")
    try:
        index = Index.load(root, embedding=HashingEmbeddings(dim=8))
    except (ValueError, OSError):
        return
    for mode in ("dense", "bm25", "hybrid"):
        index.search("alpha", k=3, mode=mode)
    index.get(index.ids())


TARGETS = {"py_chunkers": chunkers, "py_raft_quotes": raft_quotes, "py_adapter_config": adapter_config,
           "py_index_load": index_load}
