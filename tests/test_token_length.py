"""Lengths in tokens: each document tokenised once; every chunk, tokenised alone,
has at most chunk_size tokens."""

import pytest
from corpora import linux_docs, python_docs, sample
from tokenizers import Tokenizer

from ragtune import RecursiveChunker, SentenceChunker


def token_counts(tokenizer, texts):
    return [len(tokenizer.tokenize(t)) for t in texts]


@pytest.mark.parametrize(("size", "overlap"), [(32, 0), (128, 16), (512, 64)])
def test_every_chunk_fits_the_token_limit_on_real_docs(minilm_tokenizer, size, overlap):
    docs = sample(python_docs(), 8) + sample(linux_docs(), 80)
    chunker = RecursiveChunker(chunk_size=size, chunk_overlap=overlap, length=minilm_tokenizer)
    for text, chunks in zip(docs, chunker.split_many(docs)):
        assert chunks
        assert max(token_counts(minilm_tokenizer, [c.text for c in chunks])) <= size
        for c in chunks:
            assert text[c.start : c.end] == c.text


def test_limit_holds_where_words_are_cut(minilm_tokenizer):
    # No separators at all: chunks cut through words, where WordPiece tokenises a
    # word's tail differently alone ("##ing") than in context.
    text = "internationalization" * 400 + " " + "😀" * 300 + "supercalifragilistic" * 50
    for size in (3, 7, 16, 50):
        chunks = RecursiveChunker(chunk_size=size, chunk_overlap=0, length=minilm_tokenizer).split(text)
        assert max(token_counts(minilm_tokenizer, [c.text for c in chunks])) <= size
        assert all(text[c.start : c.end] == c.text for c in chunks)


def test_user_tokenizer_is_not_modified(minilm_tokenizer):
    before = minilm_tokenizer.backend_tokenizer.truncation
    RecursiveChunker(chunk_size=64, chunk_overlap=0, length=minilm_tokenizer).split("some text " * 200)
    assert minilm_tokenizer.backend_tokenizer.truncation == before


def test_raw_tokenizers_object_is_accepted(minilm_tokenizer):
    raw = Tokenizer.from_str(minilm_tokenizer.backend_tokenizer.to_str())
    text = " ".join(sample(python_docs(), 100))
    a = RecursiveChunker(chunk_size=100, chunk_overlap=10, length=raw).split(text)
    b = RecursiveChunker(chunk_size=100, chunk_overlap=10, length=minilm_tokenizer).split(text)
    assert [c.text for c in a] == [c.text for c in b]
    assert "tokens(" in repr(RecursiveChunker(chunk_size=5, chunk_overlap=0, length=minilm_tokenizer))


def test_sentence_chunker_in_tokens(minilm_tokenizer):
    text = sample(python_docs(), 50)[1]
    chunks = SentenceChunker(chunk_size=64, chunk_overlap=16, length=minilm_tokenizer).split(text)
    assert chunks and all(text[c.start : c.end] == c.text for c in chunks)
