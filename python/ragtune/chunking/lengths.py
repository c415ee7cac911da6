"""How chunk length is measured: characters (code points, Python's ``len``),
tokens of a Hugging Face tokenizer, or any Python callable.

Tokens are counted without calling Python per piece: each document is tokenised
once with offsets, and the C++ core counts token starts inside each piece. Cutting
a word can make a chunk tokenise differently on its own than in context, so every
chunk is re-tokenised once at the end and any that exceed the limit are cut
further at token boundaries: every chunk, tokenised alone, has at most
``chunk_size`` tokens.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class TokenCounter:
    """A fast (Rust ``tokenizers``) tokenizer with truncation and padding disabled."""

    backend: Any
    name: str

    @classmethod
    def wrap(cls, tokenizer: Any) -> TokenCounter | None:
        """Return a counter for a fast Hugging Face tokenizer, or None for anything else."""
        try:
            from tokenizers import Tokenizer
        except ImportError:  # pragma: no cover - tokenizers ships with transformers
            return None
        backend = tokenizer if isinstance(tokenizer, Tokenizer) else getattr(tokenizer, "backend_tokenizer", None)
        if not isinstance(backend, Tokenizer):
            return None
        # A private copy: models ship tokenizers that truncate to 128 or 512 tokens
        # and pad, which would make counts wrong; the user's object stays untouched.
        serialised = backend.to_str()
        private = Tokenizer.from_str(serialised)
        private.no_truncation()
        private.no_padding()
        # The name carries a digest of the vocabulary and rules, so two chunkers with the
        # same repr count alike (Index.sync compares chunkers by repr).
        name = getattr(tokenizer, "name_or_path", None) or type(tokenizer).__name__
        digest = hashlib.sha256(serialised.encode("utf-8")).hexdigest()[:12]
        return cls(backend=private, name=f"{name}@{digest}")

    def token_starts(self, texts: Sequence[str]) -> list[np.ndarray]:
        """Code-point offsets where each text's tokens start (special tokens excluded)."""
        encodings = self.backend.encode_batch(list(texts), add_special_tokens=False)
        return [np.array(e.offsets, dtype=np.int64).reshape(-1, 2)[:, 0] for e in encodings]

    def count(self, texts: Sequence[str]) -> list[int]:
        """Number of tokens of each text, tokenised on its own."""
        return [len(e.ids) for e in self.backend.encode_batch(list(texts), add_special_tokens=False)]


@dataclass(frozen=True)
class LengthPlan:
    """The resolved ``length=`` option."""

    kind: str  # "chars" | "tokens" | "callable"
    counter: TokenCounter | None = None
    function: Callable[[str], int] | None = None

    def describe(self) -> str:
        if self.kind == "tokens" and self.counter is not None:
            return f"tokens({self.counter.name})"
        if self.kind == "callable" and self.function is not None:
            return getattr(self.function, "__name__", "callable")
        return "chars"


def resolve_length(length: Any) -> LengthPlan:
    """Turn ``length=`` into a plan: "chars", a Hugging Face tokenizer, or a callable."""
    if isinstance(length, str):
        if length in ("chars", "characters"):
            return LengthPlan("chars")
        raise ValueError(f"length must be 'chars', a Hugging Face tokenizer or a callable, got {length!r}")
    if length is len:
        return LengthPlan("chars")
    counter = TokenCounter.wrap(length)
    if counter is not None:
        return LengthPlan("tokens", counter=counter)
    if hasattr(length, "tokenize") and callable(length.tokenize):
        # A slow (pure Python) tokenizer has no offsets: count as LangChain does.
        tokenizer = length
        return LengthPlan("callable", function=lambda text: len(tokenizer.tokenize(text)))
    if callable(length):
        return LengthPlan("callable", function=length)
    raise TypeError(f"length must be 'chars', a Hugging Face tokenizer or a callable, got {type(length).__name__}")


def cut_to_token_limit(text: str, limit: int, counter: TokenCounter) -> list[tuple[int, int]]:
    """Cut ``text`` into spans (code-point offsets into ``text``) of at most ``limit``
    tokens each when tokenised alone, cutting at token starts and trimming whitespace."""
    spans: list[tuple[int, int]] = []
    begin = 0
    while begin < len(text):
        rest = text[begin:]
        starts = [s for s, _ in counter.backend.encode(rest, add_special_tokens=False).offsets]
        if len(starts) <= limit:
            spans.append((begin, len(text)))
            break
        cut = None
        for take in range(limit, 0, -1):  # the longest prefix that still fits
            candidate = starts[take]
            if candidate > 0 and counter.count([rest[:candidate]])[0] <= limit:
                cut = candidate
                break
        if cut is None:  # not even one token fits on its own: advance by one token
            cut = next((s for s in starts if s > 0), len(rest))
        spans.append((begin, begin + cut))
        begin += cut
    trimmed = []
    for a, b in spans:
        piece = text[a:b]
        a2 = a + (len(piece) - len(piece.lstrip()))
        b2 = b - (len(piece) - len(piece.rstrip()))
        if a2 < b2:
            trimmed.append((a2, b2))
    return trimmed
