"""What an index remembers about its embedder, and rebuilding the embedder from it,
so a saved index is searched with the embedder that built it."""

from __future__ import annotations

from typing import Any

from .base import Embedder


def embedder_from_spec(spec: Any) -> Embedder:
    """The embedder a saved ``spec`` describes (ragtune's own kinds); a ValueError that
    says what to pass when it cannot be rebuilt (a LangChain or custom embedder).

    Examples
    --------
    >>> from ragtune.embeddings import HashingEmbeddings
    >>> embedder_from_spec(HashingEmbeddings(dim=64).spec())
    HashingEmbeddings(dim=64, bigrams=True)
    """
    from .hashing import HashingEmbeddings
    from .minilm import MiniLMEmbeddings

    if not isinstance(spec, dict) or not isinstance(spec.get("kind"), str):
        raise ValueError(f"the saved embedder description is damaged: {spec!r}; pass embedding=... to Index.load")
    kind = spec["kind"]
    if kind == "minilm":
        path = spec.get("model_path")
        if path is not None and not isinstance(path, str):
            raise ValueError(f"the saved MiniLM model path is damaged: {path!r}; pass embedding=... to Index.load")
        return MiniLMEmbeddings(model_path=path)
    if kind == "hashing":
        dim, bigrams = spec.get("dim"), spec.get("bigrams")
        if isinstance(dim, bool) or not isinstance(dim, int) or not isinstance(bigrams, bool):
            raise ValueError(f"the saved hashing embedder is damaged: {spec!r}; pass embedding=... to Index.load")
        return HashingEmbeddings(dim=dim, bigrams=bigrams)
    raise ValueError(f"this index was built with {spec.get('class', kind)} ({spec.get('dim')}-d vectors), which "
                     f"ragtune cannot rebuild by itself: pass the same embedder, Index.load(path, embedding=...)")


def describe(spec: Any) -> str:
    """A short human name for a saved embedder description."""
    if not isinstance(spec, dict):
        return "an unknown embedder"
    if spec.get("kind") == "minilm":
        return f"MiniLM ({spec.get('model_path') or 'bundled all-MiniLM-L6-v2'})"
    if spec.get("kind") == "hashing":
        return f"HashingEmbeddings(dim={spec.get('dim')}, bigrams={spec.get('bigrams')})"
    return f"{spec.get('class', spec.get('kind'))} ({spec.get('dim')}-d)"
