"""A token budget per RAFT example: distractors are cut at token boundaries to fit;
the question, the oracle(s) and the answer never are (they hold the quotes the answer
cites). Shared by :func:`~ragtune.raft.assemble` (``max_tokens=``) and by fine-tuning
(``max_seq_len=``), so both cut the same way."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .._inputs import as_int
from ..chunking.lengths import TokenCounter
from .formats import RaftExample


class TokenBudget:
    """At most ``max_tokens`` tokens over an example's question, chain-of-thought
    answer and documents, each counted on its own with a fast Hugging Face tokenizer.

    Examples
    --------
    >>> from transformers import AutoTokenizer                     # doctest: +SKIP
    >>> budget = TokenBudget(512, AutoTokenizer.from_pretrained(path))  # doctest: +SKIP
    >>> budget.fit(example)    # cuts distractors in place; False when even the fixed part is too long  # doctest: +SKIP
    True
    """

    def __init__(self, max_tokens: int, tokenizer: Any) -> None:
        self.max_tokens = as_int(max_tokens, name="max_tokens", minimum=1)
        counter = tokenizer if isinstance(tokenizer, TokenCounter) else TokenCounter.wrap(tokenizer)
        if counter is None:
            raise TypeError("tokenizer must be a fast Hugging Face tokenizer (or a tokenizers.Tokenizer)")
        self.counter = counter

    def fixed_tokens(self, question: str, answer: str, oracles: Sequence[str]) -> int:
        """Tokens that can never be cut: question, answer and oracle(s)."""
        return sum(self.counter.count([question, answer, *oracles]))

    def fits_fixed(self, question: str, answer: str, oracles: Sequence[str]) -> bool:
        """Whether an example with these uncuttable parts can be fitted at all."""
        return self.fixed_tokens(question, answer, oracles) <= self.max_tokens

    def fit(self, example: RaftExample) -> int | None:
        """Cut ``example``'s distractors (in place) so the whole fits.

        Returns how many distractors were cut (0 when it already fitted), or None when
        the question, answer and oracle(s) alone exceed the budget (nothing is changed).
        Each over-long distractor is cut to an equal share of what the fixed part leaves.
        """
        counts = self.counter.count([example.question, example.cot_answer, *example.documents])
        oracle = set(example.oracle_positions)
        fixed = counts[0] + counts[1] + sum(counts[2 + p] for p in oracle)
        distractors = [i for i in range(len(example.documents)) if i not in oracle]
        if fixed + sum(counts[2 + i] for i in distractors) <= self.max_tokens:
            return 0
        if fixed > self.max_tokens:
            return None
        share = (self.max_tokens - fixed) // max(1, len(distractors))
        cut_count = 0
        for i in distractors:
            if counts[2 + i] > share:
                example.documents[i] = self.cut(example.documents[i], share)
                cut_count += 1
        return cut_count

    def cut(self, text: str, tokens: int) -> str:
        """The longest prefix of ``text`` cut at a token start that has at most ``tokens`` tokens alone."""
        starts = [a for a, _ in self.counter.backend.encode(text, add_special_tokens=False).offsets]
        cut = starts[tokens] if tokens < len(starts) else len(text)
        # Re-tokenising a cut text can differ at the edge: shorten until it fits.
        while cut > 0 and self.counter.count([text[:cut]])[0] > tokens:
            cut = max(0, cut - max(1, cut // 20))
        return text[:cut].rstrip()
