"""ragtune's LangChain splitter against langchain_text_splitters itself: identical
texts and Documents for every option and preset, on real documents and on
generated Unicode text; start_index always exact."""

import copy

import pytest
from corpora import linux_docs, python_docs, sample
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from langchain_core.documents import Document
from langchain_text_splitters import Language
from langchain_text_splitters import RecursiveCharacterTextSplitter as Reference

from ragtune.integrations.langchain import RecursiveCharacterTextSplitter as Ours

KEEP = [True, False, "start", "end"]


def assert_identical(text: str, **options) -> None:
    ours, reference = Ours(**options), Reference(**options)
    assert ours.split_text(text) == reference.split_text(text), options


def assert_documents(texts: list[str], **options) -> None:
    metadatas = [{"source": f"doc{i}", "nested": {"n": i}} for i in range(len(texts))]
    ours = Ours(add_start_index=True, **options).create_documents(texts, copy.deepcopy(metadatas))
    reference = Reference(add_start_index=True, **options).create_documents(texts, copy.deepcopy(metadatas))
    assert [d.page_content for d in ours] == [d.page_content for d in reference]
    strip = lambda m: {k: v for k, v in m.items() if k != "start_index"}  # noqa: E731
    assert [strip(d.metadata) for d in ours] == [strip(d.metadata) for d in reference]
    by_source = {f"doc{i}": t for i, t in enumerate(texts)}
    for d in ours:
        text, start = by_source[d.metadata["source"]], d.metadata["start_index"]
        if d.page_content in text:
            assert text[start : start + len(d.page_content)] == d.page_content


@pytest.mark.parametrize(("size", "overlap"), [(50, 0), (256, 32), (1000, 200), (4000, 400)])
@pytest.mark.parametrize("keep", KEEP)
def test_identical_on_python_docs(size, overlap, keep):
    for text in python_docs().values():
        assert_identical(text, chunk_size=size, chunk_overlap=overlap, keep_separator=keep)


@pytest.mark.parametrize("strip", [True, False])
def test_identical_on_linux_docs(strip):
    for text in sample(linux_docs(), 8):
        assert_identical(text, chunk_size=300, chunk_overlap=60, strip_whitespace=strip)


def test_documents_and_metadata_identical_with_exact_start_index():
    texts = sample(python_docs(), 12)
    assert_documents(texts, chunk_size=400, chunk_overlap=80)
    assert_documents(texts, chunk_size=120, chunk_overlap=0, keep_separator=False)


def test_split_documents_and_transform_documents():
    docs = [Document(page_content=t, metadata={"i": i}) for i, t in enumerate(sample(python_docs(), 50))]
    ours, reference = Ours(chunk_size=500, chunk_overlap=50), Reference(chunk_size=500, chunk_overlap=50)
    assert ours.split_documents(docs) == reference.split_documents(docs)
    assert list(ours.transform_documents(docs)) == list(reference.transform_documents(docs))


@pytest.mark.parametrize("language", [lang for lang in Language if lang != Language.PERL])
def test_every_preset_identical(language):
    docs = sample(python_docs(), 60) + sample(linux_docs(), 400)
    for keep in (True, False):
        ours = Ours.from_language(language, chunk_size=300, chunk_overlap=30, keep_separator=keep)
        reference = Reference.from_language(language, chunk_size=300, chunk_overlap=30, keep_separator=keep)
        for text in docs:
            assert ours.split_text(text) == reference.split_text(text), (language, keep)
    assert Ours.get_separators_for_language(language) == Reference.get_separators_for_language(language)


def test_length_function_is_honoured_exactly():
    def words(text: str) -> int:
        return len(text.split())

    for text in sample(python_docs(), 60):
        assert_identical(text, chunk_size=40, chunk_overlap=8, length_function=words)


def test_huggingface_tokenizer_constructor_identical(minilm_tokenizer):
    ours = Ours.from_huggingface_tokenizer(minilm_tokenizer, chunk_size=64, chunk_overlap=8)
    reference = Reference.from_huggingface_tokenizer(minilm_tokenizer, chunk_size=64, chunk_overlap=8)
    for text in sample(python_docs(), 100):
        assert ours.split_text(text) == reference.split_text(text)


def test_constructor_errors_match_langchain():
    for options in ({"chunk_size": 0}, {"chunk_size": 10, "chunk_overlap": 20}, {"chunk_overlap": -1}):
        with pytest.raises(ValueError) as ours:
            Ours(**options)
        with pytest.raises(ValueError) as reference:
            Reference(**options)
        assert str(ours.value) == str(reference.value)
    with pytest.raises(TypeError, match="must be str"):
        Ours().split_text(None)
    with pytest.raises(ValueError, match="metadatas has 1 entries for 2 texts"):
        Ours().create_documents(["a", "b"], [{}])


# -- generated text ------------------------------------------------------------

ALPHABET = list("ab cdxyz.,!?#-=*\n\n\n\t") + [
    "\r\n",
    "\u00a0",
    "\u3000",
    "\u2028",
    "\u2009",
    "é",
    "e\u0301",
    "日本",
    "語",
    "😀",
    "🇫🇷",
    "。",
    "\u0085",
    "\x1c",
    "ß",
]
LITERAL_SEPARATORS = ["\n\n", "\n", " ", "", ". ", "\r\n", "。", "\u00a0", "ab", "😀"]
REGEX_SEPARATORS = [
    r"\n\n+",
    r"\s+",
    r"[.!?]\s",
    r"(?<=\.) ",
    r"(?=\n)",
    r"\n#{1,6} ",
    r"\n-+\n",
    r"$",
    r"\d+",
    r"x*",
    r"[^\x00-\x7f]",
]

texts = st.lists(st.sampled_from(ALPHABET), max_size=300).map("".join)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=texts,
    size=st.integers(1, 60),
    overlap_fraction=st.floats(0, 1),
    keep=st.sampled_from(KEEP),
    strip=st.booleans(),
    separators=st.one_of(st.none(), st.lists(st.sampled_from(LITERAL_SEPARATORS), min_size=1, max_size=5)),
)
def test_identical_on_generated_unicode_text(text, size, overlap_fraction, keep, strip, separators):
    options = dict(chunk_size=size, chunk_overlap=int(size * overlap_fraction), keep_separator=keep,
                   strip_whitespace=strip, separators=separators)
    assert_identical(text, **options)
    assert_documents([text], **options)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    text=texts,
    size=st.integers(1, 60),
    overlap_fraction=st.floats(0, 1),
    keep=st.sampled_from(KEEP),
    separators=st.lists(st.sampled_from(REGEX_SEPARATORS + LITERAL_SEPARATORS[:3]), min_size=1, max_size=5),
)
def test_identical_with_regex_separators(text, size, overlap_fraction, keep, separators):
    assert_identical(text, chunk_size=size, chunk_overlap=int(size * overlap_fraction), keep_separator=keep,
                     separators=separators, is_separator_regex=True)


@pytest.mark.parametrize(
    "pattern", [r"\s", r"\s+", r"\S+", r"[\s.]", r"[^\s]+", r"\w+", r"\b", r"\Z", r".\Z", r"^a", r"$", r"[]a]", r"\d"]
)
@pytest.mark.parametrize("text", ["aa\x1cbb\x85cc\u2028dd ee\u3000ff", "ab\x1fcd\n", "x]a]y 12 z\n", "é\u0301 日本 😀"])
@pytest.mark.parametrize("keep", KEEP)
def test_regex_dialect_edge_cases(pattern, text, keep):
    for size in (1, 2, 5):
        assert_identical(text, chunk_size=size, chunk_overlap=0, separators=[pattern, ""],
                         is_separator_regex=True, keep_separator=keep)
