"""MarkdownChunker and SentenceChunker."""

import pytest
from corpora import python_docs, sample

from ragtune import MarkdownChunker, SentenceChunker
from ragtune.chunking.sentence import sentence_spans

MARKDOWN = """# Guide

Intro paragraph.

## Install

Run this:

```bash
pip install ragtune
# not a header: inside a fence
```

### From source

Clone, then build.

## Use

~~~python
def f():
    return 1
~~~
"""


def test_markdown_sections_carry_their_header_path():
    chunks = MarkdownChunker(chunk_size=200).split(MARKDOWN, source="guide.md")
    paths = [c.metadata["header_path"] for c in chunks]
    assert paths == ["Guide", "Guide > Install", "Guide > Install > From source", "Guide > Use"]
    assert chunks[1].metadata["headers"] == ["Guide", "Install"]
    assert all(MARKDOWN[c.start : c.end] == c.text for c in chunks)
    assert "# not a header" in chunks[1].text
    assert chunks[2].citation() == "guide.md:14-16"


def test_markdown_never_cuts_a_fence_that_fits():
    code = "```python\n" + "\n".join(f"line_{i} = {i}" for i in range(30)) + "\n```\n"
    doc = "# T\n\n" + ("Prose sentence here. " * 30 + "\n\n") * 3 + code + "\nAfter.\n"
    chunks = MarkdownChunker(chunk_size=len(code) + 10).split(doc)
    holding = [c for c in chunks if "line_0 =" in c.text]
    assert len(holding) == 1 and "line_29 = 29" in holding[0].text and holding[0].text.count("```") == 2
    assert all(len(c.text) <= len(code) + 10 for c in chunks)


def test_markdown_cuts_an_oversized_fence_at_lines():
    code = "```\n" + "\n".join("x" * 20 for _ in range(50)) + "\n```"
    chunks = MarkdownChunker(chunk_size=100).split(code)
    assert len(chunks) > 5 and all(len(c.text) <= 100 for c in chunks)
    assert all(c.text.replace("`", "").strip().replace("x", "").replace("\n", "") == "" for c in chunks)


def test_markdown_on_real_rest_and_bad_input():
    for text in sample(python_docs(), 40):
        chunks = MarkdownChunker(chunk_size=500).split(text)
        assert all(text[c.start : c.end] == c.text and len(c.text) <= 500 for c in chunks)
    with pytest.raises(ValueError, match="chunk_size must be >= 1"):
        MarkdownChunker(chunk_size=0)
    with pytest.raises(TypeError, match="must be str"):
        MarkdownChunker().split(None)
    assert MarkdownChunker().split("") == []


def test_sentence_boundaries_are_unicode_aware():
    text = ("Dr. Smith met Mr. J. Doe at 3.14 p.m. on Jan. 5. They talked, e.g. about tea! "
            "Was it good? « Oui. » 日本語の文です。次の文！最後？ Done...")
    got = [text[a:b] for a, b in sentence_spans(text)]
    assert got == [
        "Dr. Smith met Mr. J. Doe at 3.14 p.m. on Jan. 5.",
        "They talked, e.g. about tea!",
        "Was it good?",
        "« Oui. »",
        "日本語の文です。",
        "次の文！",
        "最後？",
        "Done...",
    ]


def test_sentence_chunks_pack_with_whole_sentence_overlap():
    sentences = [f"Sentence number {i} is here." for i in range(40)]
    text = " ".join(sentences)
    chunks = SentenceChunker(chunk_size=100, chunk_overlap=30).split(text, source="s.txt")
    assert all(len(c.text) <= 100 and text[c.start : c.end] == c.text for c in chunks)
    for a, b in zip(chunks, chunks[1:]):
        assert b.start > a.start and b.start <= a.end  # moves forward, overlapping
        assert b.text.split(".")[0] + "." in sentences
    covered = " ".join(c.text for c in chunks)
    assert all(s in covered for s in sentences)


def test_sentence_longer_than_the_chunk_is_split():
    text = "word " * 100 + "end."
    chunks = SentenceChunker(chunk_size=50, chunk_overlap=0).split(text)
    assert all(len(c.text) <= 50 for c in chunks) and len(chunks) >= 10


def test_sentence_chunker_bad_input():
    with pytest.raises(ValueError, match="must not exceed"):
        SentenceChunker(chunk_size=10, chunk_overlap=20)
    with pytest.raises(ValueError, match="not valid UTF-8"):
        SentenceChunker().split(b"\xff")
    assert SentenceChunker().split("   ") == []
    assert "SentenceChunker(chunk_size=1000" in repr(SentenceChunker())


def test_one_heading_parser_skips_code_for_faq_raft_titles_and_markdown_chunks():
    """A '# comment?' inside fenced code is code: not an FAQ question, not a RAFT title,
    not a Markdown section; reST underlines of '~' are underlines, not fences."""
    from ragtune import MarkdownChunker
    from ragtune.datasets import parse_faq, section_titles

    doc = ("# Guide\n\n## How do I install it?\n\nRun this:\n\n```sh\n# Why does pip fail?\npip install x\n```\n\n"
           "## What is C#?\n\nA language.\n")
    assert [i.question for i in parse_faq(doc)] == ["How do I install it?", "What is C#?"]
    assert [t for _, t in section_titles(doc)] == ["Guide", "How do I install it?", "What is C#?"]
    paths = [c.metadata["header_path"] for c in MarkdownChunker(chunk_size=1000).split(doc)]
    assert paths == ["Guide", "Guide > How do I install it?", "Guide > What is C#?"]
    rest = "Caveats\n~~~~~~~\n\nWhy not?\n--------\n\nBecause.\n\n::\n\n   # not a title?\n   x = 1\n"
    assert [t for _, t in section_titles(rest)] == ["Caveats", "Why not?"]
    assert [i.answer.splitlines()[0] for i in parse_faq(rest)] == ["Because."]
