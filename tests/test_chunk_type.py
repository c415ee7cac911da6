"""ragtune.Chunk: C storage, Python behaviour."""

import copy
import gc
import pickle

import pytest

from ragtune import Chunk, RecursiveChunker


def make(**changes):
    fields = dict(text="hi", start=0, end=2, byte_start=0, byte_end=2, line_start=1, line_end=1, index=0,
                  source="a.md", metadata={"k": 1})
    fields.update(changes)
    return Chunk(**fields)


def test_fields_equality_and_repr():
    a, b = make(), make()
    assert a == b and not (a != b)
    assert a != make(start=1) and a != make(metadata={}) and a != make(source=None)
    assert a.citation() == "a.md:1-1" and "Chunk('hi'" in repr(a)
    with pytest.raises(TypeError):
        hash(a)


def test_offsets_are_read_only_and_metadata_is_mutable():
    chunk = make()
    with pytest.raises(AttributeError):
        chunk.start = 5
    with pytest.raises(AttributeError):
        chunk.text = "other"
    chunk.metadata["score"] = 0.5
    chunk.source = "b.md"
    assert chunk.metadata == {"k": 1, "score": 0.5} and chunk.source == "b.md"


def test_pickle_and_copy_round_trip():
    chunk = RecursiveChunker(chunk_size=5, chunk_overlap=0).split("abc def ghi", source="s")[1]
    for clone in (pickle.loads(pickle.dumps(chunk)), copy.deepcopy(chunk), copy.copy(chunk)):
        assert clone == chunk and type(clone) is Chunk


def test_constructor_validates():
    with pytest.raises(TypeError):
        make(text=3)
    with pytest.raises(TypeError, match="source must be str or None"):
        make(source=3)
    with pytest.raises(TypeError, match="metadata must be a dict"):
        make(metadata=[1])
    with pytest.raises(TypeError):
        Chunk("x", 0, 1)


def test_core_creates_chunks_of_the_public_type_and_they_are_collected():
    chunks = RecursiveChunker(chunk_size=4, chunk_overlap=0).split_many(["a b c d e f"] * 3, sources=["x", None, "y"])
    assert all(type(c) is Chunk for doc in chunks for c in doc)
    assert chunks[1][0].source is None and chunks[2][0].source == "y"
    chunk = chunks[0][0]
    chunk.metadata["self"] = chunk  # a cycle through metadata is collected
    del chunks, chunk
    gc.collect()


def test_uninitialised_chunk_does_not_crash():
    bare = Chunk.__new__(Chunk)
    assert bare.text is None and bare.source is None and bare.metadata == {}
    assert bare == Chunk.__new__(Chunk)
    with pytest.raises(TypeError, match="source must be str or None"):
        make().source = 5
    with pytest.raises(TypeError, match="metadata must be a dict"):
        make().metadata = None
