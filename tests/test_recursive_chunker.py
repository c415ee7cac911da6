"""RecursiveChunker: exact offsets, real documents, threads, presets, bad input."""

import numpy as np
import pytest
from corpora import linux_docs, python_docs, sample
from langchain_text_splitters import Language, RecursiveCharacterTextSplitter

from ragtune import Chunk, RecursiveChunker
from ragtune.chunking import LANGUAGE_SEPARATORS, separators_for_language


def assert_exact(text: str, chunks: list[Chunk]) -> None:
    encoded = text.encode("utf-8")
    for i, c in enumerate(chunks):
        assert c.index == i
        assert text[c.start : c.end] == c.text
        assert encoded[c.byte_start : c.byte_end].decode("utf-8") == c.text
        assert c.line_start == text.count("\n", 0, c.start) + 1
        assert c.line_end == text.count("\n", 0, max(c.start, c.end - 1)) + 1


def test_offsets_are_exact_when_passages_repeat():
    paragraph = "The same sentence again. " * 8
    text = "\n\n".join([paragraph.strip()] * 20)
    chunks = RecursiveChunker(chunk_size=120, chunk_overlap=40).split(text)
    assert_exact(text, chunks)
    starts = [c.start for c in chunks]
    assert starts == sorted(starts) and len(set(starts)) == len(starts)


def test_langchain_start_index_is_wrong_where_ours_is_right():
    text = "cd\n\nab\n\nx\n\nab\n\nx\n\nx"
    ours = RecursiveChunker(chunk_size=3, chunk_overlap=3).split(text)
    theirs = RecursiveCharacterTextSplitter(chunk_size=3, chunk_overlap=3, add_start_index=True).create_documents(
        [text]
    )
    assert [c.text for c in ours] == [d.page_content for d in theirs]
    assert_exact(text, ours)
    assert [d.metadata["start_index"] for d in theirs] == [0, 4, 8, 11, 15, 15]  # the last "x" is not at 15
    assert [c.start for c in ours] == [0, 4, 8, 11, 15, 18]


def test_offsets_exact_on_real_documents_with_multibyte_text():
    docs = sample(python_docs(), 5) + sample(linux_docs(), 60)
    chunker = RecursiveChunker(chunk_size=300, chunk_overlap=60)
    for text, chunks in zip(docs, chunker.split_many(docs)):
        assert_exact(text, chunks)
    unicode_text = "naïve café — 日本語のテキスト。\r\n😀 emoji\u00a0nbsp\u3000ideographic " * 50
    assert_exact(unicode_text, RecursiveChunker(chunk_size=40, chunk_overlap=10).split(unicode_text))


def test_same_chunks_as_langchain_where_langchain_is_verbatim():
    docs = sample(python_docs(), 10)
    for keep in (True, False, "start", "end"):
        ours = RecursiveChunker(chunk_size=200, chunk_overlap=50, keep_separator=keep)
        theirs = RecursiveCharacterTextSplitter(chunk_size=200, chunk_overlap=50, keep_separator=keep)
        for text in docs:
            expected = theirs.split_text(text)
            got = [c.text for c in ours.split(text)]
            assert len(got) == len(expected)
            for g, e in zip(got, expected):
                assert g == e or e not in text


def test_keep_separator_false_with_regex_joins_with_the_matched_separator():
    text = "alpha\n---\nbeta\n-----\ngamma"
    ours = RecursiveChunker(chunk_size=16, chunk_overlap=0, separators=[r"\n-+\n"],
                            is_separator_regex=True, keep_separator=False)
    theirs = RecursiveCharacterTextSplitter(chunk_size=16, chunk_overlap=0, separators=[r"\n-+\n"],
                                            is_separator_regex=True, keep_separator=False)
    assert theirs.split_text(text)[0] == "alpha\\n-+\\nbeta"  # LangChain inserts the pattern itself
    chunks = ours.split(text)
    assert chunks[0].text == "alpha\n---\nbeta"
    assert_exact(text, chunks)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_split_many_is_identical_whatever_the_thread_count(threads):
    docs = sample(linux_docs(), 25)
    chunker = RecursiveChunker(chunk_size=500, chunk_overlap=100)
    serial = chunker.split_many(docs, threads=1)
    assert chunker.split_many(docs, threads=threads) == serial
    assert chunker.split_many(docs, threads=0) == serial


def test_sources_and_citations():
    chunks = RecursiveChunker(chunk_size=10, chunk_overlap=0).split_many(
        ["one two\nthree four", "five"], sources=["a.txt", None])
    assert chunks[0][1].citation() == "a.txt:2-2"
    assert chunks[1][0].citation() == "<text>:1-1"
    assert "a.txt" in repr(chunks[0][0])


def test_every_langchain_preset_is_available_and_identical():
    for language in Language:
        try:
            expected = RecursiveCharacterTextSplitter.get_separators_for_language(language)
        except ValueError:
            with pytest.raises(ValueError, match="unknown language preset"):
                separators_for_language(language)
            continue
        assert separators_for_language(language) == expected
        assert separators_for_language(language.value) == expected
        chunker = RecursiveChunker.from_language(language, chunk_size=100, chunk_overlap=10)
        assert chunker.is_separator_regex
    assert len(LANGUAGE_SEPARATORS) >= 26


def test_empty_and_whitespace_text():
    chunker = RecursiveChunker(chunk_size=10, chunk_overlap=0)
    assert chunker.split("") == []
    assert chunker.split(" \n\n \t ") == []


def test_worst_case_inputs_complete():
    chunker = RecursiveChunker(chunk_size=1000, chunk_overlap=100)
    no_separators = "x" * 2_000_000
    chunks = chunker.split(no_separators)
    # Each chunk holds 1000 characters and advances by 900.
    assert len(chunks) == -(-(len(no_separators) - 100) // 900)
    assert all(len(c.text) == 1000 for c in chunks[:-1])
    assert_exact(no_separators, chunks[:5])
    assert all(no_separators[c.start : c.end] == c.text for c in chunks[-5:])
    one_line = "word " * 400_000
    assert all(one_line[c.start : c.end] == c.text for c in chunker.split(one_line)[-5:])


@pytest.mark.parametrize(
    ("kwargs", "error", "match"),
    [
        ({"chunk_size": 0}, ValueError, "chunk_size must be >= 1"),
        ({"chunk_size": -5}, ValueError, "chunk_size must be >= 1"),
        ({"chunk_size": 10, "chunk_overlap": 11}, ValueError, "must not exceed chunk_size"),
        ({"chunk_overlap": -1}, ValueError, "chunk_overlap must be >= 0"),
        ({"chunk_size": 10.5}, TypeError, "chunk_size must be an int"),
        ({"chunk_size": True}, TypeError, "chunk_size must be an int"),
        ({"separators": "\n"}, TypeError, "separators must be a list"),
        ({"separators": ["\n", 3]}, TypeError, r"separators\[1\] must be str"),
        ({"keep_separator": "middle"}, ValueError, "keep_separator must be"),
        ({"separators": ["("], "is_separator_regex": True}, ValueError, "does not compile"),
        ({"length": "words"}, ValueError, "length must be"),
        ({"length": 42}, TypeError, "length must be"),
        ({"chunk_size": 10**30}, ValueError, "chunk_size must be <="),
        ({"separators": ["x"] * 200}, ValueError, "at most 128 separators"),
    ],
)
def test_bad_options_are_clear_errors(kwargs, error, match):
    with pytest.raises(error, match=match):
        RecursiveChunker(**kwargs)


def test_bad_text_is_a_clear_error():
    chunker = RecursiveChunker(chunk_size=10, chunk_overlap=0)
    with pytest.raises(TypeError, match="must be str"):
        chunker.split(None)
    with pytest.raises(ValueError, match="not valid UTF-8: byte 1"):
        chunker.split(b"a\xffb")
    assert [c.text for c in chunker.split("héllo".encode())] == ["héllo"]
    with pytest.raises(ValueError, match="unpaired surrogate"):
        chunker.split("bad \ud800 text")
    with pytest.raises(TypeError, match="sequence of texts"):
        chunker.split_many("not a list")
    with pytest.raises(ValueError, match="threads .* must be >= 0"):
        chunker.split_many(["a"], threads=-1)
    with pytest.raises(ValueError, match="sources has 1 entries for 2 texts"):
        chunker.split_many(["a", "b"], sources=["x"])
    with pytest.raises(ValueError, match="unknown language preset"):
        RecursiveChunker.from_language("klingon")
    with pytest.raises(ValueError, match="threads .* must be <= 1024"):
        chunker.split_many(["a"], threads=10**9)


def test_catastrophic_regex_is_an_error_not_a_hang():
    chunker = RecursiveChunker(chunk_size=5, chunk_overlap=0, separators=[r"(a+)+$"], is_separator_regex=True)
    with pytest.raises(ValueError, match="backtracks exponentially"):
        chunker.split("a" * 40 + "b")


def test_length_callable_matches_langchain_exactly():
    docs = sample(python_docs(), 40)

    def words(text: str) -> int:
        return len(text.split())

    ours = RecursiveChunker(chunk_size=50, chunk_overlap=10, length=words)
    theirs = RecursiveCharacterTextSplitter(chunk_size=50, chunk_overlap=10, length_function=words)
    for text in docs:
        assert [c.text for c in ours.split(text)] == theirs.split_text(text)


def test_length_callable_errors_propagate():
    def broken(text: str) -> int:
        raise RuntimeError("length failed")

    with pytest.raises(RuntimeError, match="length failed"):
        RecursiveChunker(chunk_size=5, chunk_overlap=0, length=broken).split("some text here")
    with pytest.raises(ValueError, match="negative length"):
        RecursiveChunker(chunk_size=5, chunk_overlap=0, length=lambda t: -1).split("some text here")


def test_repr_shows_the_configuration():
    text = repr(RecursiveChunker(chunk_size=123, chunk_overlap=7))
    assert "chunk_size=123" in text and "chunk_overlap=7" in text and "length='chars'" in text
    assert isinstance(np.int64(1), np.integer)


def test_length_callback_may_itself_split():
    inner = RecursiveChunker(chunk_size=3, chunk_overlap=0)

    def length(text: str) -> int:
        return len(inner.split_texts(text)) + len(text)  # re-enters the core on the same thread

    chunks = RecursiveChunker(chunk_size=30, chunk_overlap=5, length=length).split("a b c d e f g h " * 20)
    assert chunks and all(len(c.text) <= 30 for c in chunks)


def test_error_inside_parallel_work_comes_back_once():
    chunker = RecursiveChunker(chunk_size=5, chunk_overlap=0, separators=[r"(a+)+$", ""], is_separator_regex=True)
    texts = ["fine text here"] * 50 + ["a" * 40 + "b"] + ["more fine text"] * 50
    with pytest.raises(ValueError, match="backtracks exponentially"):
        chunker.split_many(texts, threads=2)
    assert chunker.split_many(["fine text here"], threads=2)  # still usable afterwards
