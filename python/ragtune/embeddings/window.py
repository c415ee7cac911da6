"""How much text an embedder reads: its window in tokens (special tokens included)
and the tokenizer that counts them. Text past the window is cut by the model
without a word, so chunkers size chunks by it and the index counts what overflows."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any


@dataclass(frozen=True)
class EmbedderWindow:
    """An embedder's window.

    Attributes
    ----------
    tokens : int
        The most tokens the model reads per text, special tokens included
        (all-MiniLM-L6-v2: 256).
    special_tokens : int
        Tokens the model adds to every text ([CLS] and [SEP] for BERT models).
    tokenizer : tokenizers.Tokenizer
        The model's own fast tokenizer, truncation and padding off.

    Examples
    --------
    >>> from ragtune.embeddings import MiniLMEmbeddings
    >>> window = MiniLMEmbeddings().window
    >>> window.tokens, window.text_tokens, window.count(["Hello world"])
    (256, 254, [4])
    """

    tokens: int
    special_tokens: int
    tokenizer: Any

    @property
    def text_tokens(self) -> int:
        """Tokens left for the text itself once the special tokens are in."""
        return self.tokens - self.special_tokens

    def count(self, texts: Sequence[str]) -> list[int]:
        """Tokens of each text as the model sees it, special tokens included."""
        return [len(e.ids) for e in self.tokenizer.encode_batch(list(texts), add_special_tokens=True)]

    def over(self, texts: Sequence[str]) -> list[bool]:
        """Which texts the model would cut."""
        return [n > self.tokens for n in self.count(texts)]

    @classmethod
    def from_tokenizer_file(cls, path: str | Path, *, tokens: int) -> EmbedderWindow:
        """A window counted by the ``tokenizer.json`` at ``path``."""
        from tokenizers import Tokenizer

        tokenizer = Tokenizer.from_file(str(path))
        tokenizer.no_truncation()
        tokenizer.no_padding()
        special = len(tokenizer.encode("", add_special_tokens=True).ids)
        if tokens <= special:
            raise ValueError(f"an embedder window of {tokens} tokens leaves no room for text "
                             f"({special} special tokens)")
        return cls(tokens=int(tokens), special_tokens=special, tokenizer=tokenizer)

    def __repr__(self) -> str:
        return f"EmbedderWindow(tokens={self.tokens}, special_tokens={self.special_tokens})"
