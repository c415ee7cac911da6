"""BM25 in ragtune: how text becomes terms, and how terms are scored.

Tokenisation (C++, ``text::tokenize_words``):

- a token is a run of letters, digits and ``_`` (any non-ASCII character that is not
  whitespace, punctuation, a symbol or an emoji counts as a letter);
- ASCII, Latin-1, Greek and Cyrillic capitals are lower-cased; other scripts are
  kept as they are (no stemming, no accent folding);
- every CJK ideograph, hiragana and katakana character is a token on its own
  (those scripts do not separate words with spaces);
- single ASCII characters are dropped (like bm25s's default ``\\w\\w+``);
- tokens longer than 64 bytes are cut at a character boundary;
- optional stopwords are removed; none by default.

Scoring is the Lucene variant (bm25s's default): for each query term t present in
document d, ``idf(t) * tf / (tf + k1 * (1 - b + b * |d| / avgdl))`` with
``idf(t) = ln(1 + (N - df + 0.5) / (df + 0.5))``, k1 = 1.5 and b = 0.75 by default.
A term repeated in the query counts each time. N, df and avgdl always describe the
live documents, so deletes and overwrites are reflected immediately; scores equal
bm25s's on the same tokens (tested).
"""

from __future__ import annotations

from .. import _core
from .._inputs import as_text

_TOKENIZER = _core.BM25Index()


def tokenize(text: str) -> list[str]:
    """The terms BM25 indexes for ``text``.

    Examples
    --------
    >>> tokenize("Héllo WORLD, 日本語 x_1 a")
    ['héllo', 'world', '日', '本', '語', 'x_1']
    """
    return _TOKENIZER.tokenize(as_text(text))
