"""Index.sync: only new text is embedded, every kind of edit ends in the same index a
fresh build of the edited documents gives (same ids, texts, offsets, exact scores),
ids survive edits elsewhere, a damaged cache or state is detected and rebuilt, and a
SIGKILL mid-sync leaves the index as before or as after."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest

from ragtune import HashingEmbeddings, Index, RecursiveChunker

PYTHON_FAQ = Path("/usr/share/doc/python3.11/html/_sources/faq")
CHUNKER = RecursiveChunker(chunk_size=300, chunk_overlap=40)


class CountingEmbeddings(HashingEmbeddings):
    """Hashing embeddings that count the texts they embed."""

    def __init__(self) -> None:
        super().__init__(dim=128)
        self.embedded: list[str] = []

    def encode(self, texts):
        self.embedded.extend(texts)
        return super().encode(texts)


def faq_documents() -> dict[str, str]:
    return {f"faq/{p.name}": p.read_text(encoding="utf-8") for p in sorted(PYTHON_FAQ.glob("*.rst.txt"))}


def chunk_texts(documents: dict[str, str]) -> set[str]:
    return {c.text for doc in CHUNKER.split_many(list(documents.values()), sources=list(documents)) for c in doc}


def fresh(documents: dict[str, str]) -> Index:
    index = Index(embedding=HashingEmbeddings(dim=128), exact_below=0)
    index.sync(documents, chunker=CHUNKER)
    return index


def assert_same_index(synced: Index, expected: Index) -> None:
    """Same ids with the same text and offsets, and the same exact dense and BM25 results."""
    assert sorted(synced.ids()) == sorted(expected.ids())
    a = {h.id: h for h in synced.get(synced.ids())}
    b = {h.id: h for h in expected.get(expected.ids())}
    for id_, hit in a.items():
        other = b[id_]
        assert (hit.text, hit.source, hit.start, hit.end, hit.line_start, hit.line_end) == (
            other.text, other.source, other.start, other.end, other.line_start, other.line_end), id_
    queries = ["How do I install Python on Windows?", "What is a lambda?", "Why is the GIL there?",
               "How can I make a Python script executable on Unix?"]
    for mode in ("dense", "bm25", "hybrid"):  # bit for bit: scores do not depend on slots, ties go by id
        left = synced.search_many(queries, k=10, mode=mode, exact=True)
        right = expected.search_many(queries, k=10, mode=mode, exact=True)
        assert [[(h.id, h.score) for h in x] for x in left] == [[(h.id, h.score) for h in y] for y in right], mode


def edit(documents: dict[str, str], rng: random.Random) -> dict[str, str]:
    """Every kind of edit: append to one file, change a paragraph in the middle of
    another, delete one, add one, rename one."""
    docs = dict(documents)
    names = sorted(docs)
    append, middle, delete, rename = rng.sample(names, 4)
    docs[append] += "\n\nA paragraph appended at the end, about nothing in particular.\n"
    paragraphs = docs[middle].split("\n\n")
    paragraphs[len(paragraphs) // 2] = "This paragraph was rewritten in the middle of the file."
    docs[middle] = "\n\n".join(paragraphs)
    del docs[delete]
    docs[f"new/{rng.randrange(10**6)}.rst"] = "A brand new document.\n\nWith two paragraphs of text."
    docs[f"moved/{rename.split('/')[-1]}"] = docs.pop(rename)
    return docs


def test_every_kind_of_edit_embeds_only_new_text_and_equals_a_fresh_build():
    documents = faq_documents()
    counting = CountingEmbeddings()
    index = Index(embedding=counting, exact_below=0)
    first = index.sync(documents, chunker=CHUNKER)
    assert first.chunks_embedded == len(chunk_texts(documents)) == len(set(counting.embedded))
    edited = edit(documents, random.Random(7))
    counting.embedded.clear()
    report = index.sync(edited, chunker=CHUNKER, cleanup="full")
    new_texts = chunk_texts(edited) - chunk_texts(documents)
    assert set(counting.embedded) == new_texts and report.chunks_embedded == len(new_texts)
    assert len(report.added) == 2 and len(report.changed) == 2 and len(report.deleted) == 2
    assert report.unchanged == len(documents) - 4
    assert report.chunks_reused > 0  # the renamed file's chunks came from the cache
    assert_same_index(index, fresh(edited))


def test_repeated_random_syncs_stay_equal_to_a_fresh_build(tmp_path):
    rng = random.Random(3)
    documents = faq_documents()
    index = Index(embedding=HashingEmbeddings(dim=128), exact_below=0)
    index.sync(documents, chunker=CHUNKER, path=tmp_path / "ix")
    for round_ in range(4):
        documents = edit(documents, rng)
        index = Index.load(tmp_path / "ix", embedding=HashingEmbeddings(dim=128))
        report = index.sync(documents, chunker=CHUNKER, cleanup="full", path=tmp_path / "ix")
        assert report.snapshot is not None
        again = index.sync(documents, chunker=CHUNKER, cleanup="full")
        assert again.chunks_embedded == again.chunks_removed == 0 and again.unchanged == len(documents), round_
    assert_same_index(Index.load(tmp_path / "ix", embedding=HashingEmbeddings(dim=128)), fresh(documents))


def test_ids_survive_edits_elsewhere_and_vanish_with_their_text():
    documents = {"guide.md": "Intro paragraph.\n\nInstalling is easy.\n\nConfiguring takes a minute."}
    index = Index(embedding=HashingEmbeddings(dim=64))
    chunker = RecursiveChunker(chunk_size=30, chunk_overlap=0)
    index.sync(documents, chunker=chunker)
    before = {h.text: h for h in index.get(index.ids())}
    install_id = before["Installing is easy."].id
    configure_id = before["Configuring takes a minute."].id
    report = index.sync({"guide.md": "A new first line.\n\nIntro paragraph.\n\nInstalling is easy.\n\n"
                                     "Configuring takes 2 minutes."}, chunker=chunker)
    assert report.chunks_kept == 2 and report.chunks_embedded == 2 and report.chunks_removed == 1
    moved = index.get([install_id])[0]
    assert moved.text == "Installing is easy." and moved.line_start == before["Installing is easy."].line_start + 2
    with pytest.raises(KeyError, match="unknown ids"):
        index.get([configure_id])


def test_incremental_cleanup_keeps_missing_sources_and_a_new_chunker_rechunks_from_the_cache():
    counting = CountingEmbeddings()
    index = Index(embedding=counting)
    index.sync({"a.md": "alpha " * 80, "b.md": "beta " * 80}, chunker=RecursiveChunker(chunk_size=100, chunk_overlap=0))
    report = index.sync({"a.md": "alpha " * 80}, chunker=RecursiveChunker(chunk_size=100, chunk_overlap=0))
    assert report.deleted == [] and {h.source for h in index.get(index.ids())} == {"a.md", "b.md"}
    counting.embedded.clear()
    rechunked = index.sync({"a.md": "alpha " * 80, "b.md": "beta " * 80},
                           chunker=RecursiveChunker(chunk_size=100, chunk_overlap=0, strip_whitespace=False))
    assert sorted(rechunked.changed) == ["a.md", "b.md"]  # another chunker: every source again
    assert len(counting.embedded) == rechunked.chunks_embedded


def test_a_damaged_cache_or_state_is_detected_rebuilt_and_nothing_is_lost(tmp_path):
    documents = faq_documents()
    folder = tmp_path / "ix"
    fresh(documents).save(folder)
    snapshot = next(p for p in folder.iterdir() if p.name.startswith("snapshot-"))
    vectors = snapshot / "embedding-cache-vectors.npy"
    damaged = bytearray(vectors.read_bytes())
    damaged[len(damaged) // 2] ^= 0xFF
    vectors.write_bytes(bytes(damaged))
    (snapshot / "state.json").write_text("{not json", encoding="utf-8")
    counting = CountingEmbeddings()
    with pytest.warns(UserWarning, match="rebuilt; the index itself is intact"):
        index = Index.load(folder, embedding=counting)
    assert index.stats()["cache_entries"] == 0 and len(index) == len(fresh(documents))
    assert_same_index(index, fresh(documents))
    counting.embedded.clear()  # the queries above
    report = index.sync(documents, chunker=CHUNKER, path=folder)  # no hashes: every source is chunked again
    assert len(report.changed) == len(documents) and report.chunks_kept == len(index)
    assert report.chunks_embedded == 0 and not counting.embedded  # their chunks' texts were all still there
    index.sync({**documents, "extra.md": "Some extra text."}, chunker=CHUNKER, path=folder)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        reloaded = Index.load(folder, embedding=HashingEmbeddings(dim=128))
    assert reloaded.stats()["cache_entries"] == 1 and reloaded.stats()["synced_sources"] == len(documents) + 1


def test_a_different_embedder_is_refused_and_bad_input_is_named(tmp_path):
    index = Index(embedding=HashingEmbeddings(dim=64))
    index.sync({"a.md": "text"}, path=tmp_path / "ix")
    other = Index.load(tmp_path / "ix")
    other.embedding = HashingEmbeddings(dim=64, bigrams=False)  # swapped after loading: the sync still refuses
    with pytest.raises(ValueError, match="built with embedder"):
        other.sync({"a.md": "changed text"})
    with pytest.raises(TypeError, match="mapping"):
        index.sync(["a.md"])
    with pytest.raises(TypeError, match="documents\\['b.md'\\]"):
        index.sync({"b.md": 3})
    with pytest.raises(ValueError, match="cleanup"):
        index.sync({"a.md": "text"}, cleanup="everything")
    with pytest.raises(TypeError, match="split_many"):
        index.sync({"a.md": "text"}, chunker=object())
    assert index.ids() and index.get(index.ids())[0].text == "text"  # untouched by the refused calls


def test_texts_longer_than_the_window_are_counted_and_warned_about_once():
    from ragtune.embeddings import MiniLMEmbeddings

    embedder = MiniLMEmbeddings()
    index = Index(embedding=embedder)
    with pytest.warns(UserWarning, match="longer than the 256 tokens") as warned:
        index.add(["short text", "word " * 400], ids=["short", "long"])
        index.add(["more " * 300], ids=["long2"])
    assert len(warned) == 1 and index.stats()["over_window"] == 2
    index.delete(["long"])
    assert index.stats()["over_window"] == 1
    chunker = RecursiveChunker.for_embedder(embedder)
    chunks = chunker.split(faq_documents()["faq/programming.rst.txt"], source="p")
    assert max(embedder.window.count([c.text for c in chunks])) <= embedder.window.tokens
    assert (chunker.chunk_size, chunker.chunk_overlap) == (254, 38)
    with pytest.raises(ValueError, match="does not fit the embedder's window"):
        RecursiveChunker.for_embedder(embedder, chunk_size=300)


def sync_versions(version: int) -> dict[str, str]:
    """Version n of a small corpus: each version edits, adds and drops a few sources."""
    rng = random.Random(version)
    return {f"doc{i}.md": f"Document {i}, revision {rng.randrange(3) if i % 3 == 0 else 0}.\n\n" + f"word{i} " * 200
            for i in range(version % 5, 40 + version % 7)}


@pytest.mark.slow
def test_a_sigkill_during_sync_leaves_the_index_as_before_or_after(tmp_path):
    folder = tmp_path / "ix"
    rng = random.Random(99)
    acknowledged: list[int] = []
    chunker = RecursiveChunker(chunk_size=300, chunk_overlap=0)
    for _ in range(6):
        start = max(acknowledged, default=-1) + 1
        child = subprocess.Popen([sys.executable, __file__, str(folder), str(start)], stdout=subprocess.PIPE, text=True)
        try:
            child.wait(timeout=rng.uniform(1.5, 3.5))
        except subprocess.TimeoutExpired:
            child.kill()
        out, _ = child.communicate(timeout=60)
        acknowledged += [int(line.split()[1]) for line in out.splitlines() if line.startswith("synced ")]
        if not (folder / "CURRENT").exists():
            assert not acknowledged
            continue
        index = Index.load(folder, embedding=HashingEmbeddings(dim=64))
        texts = sorted(h.text for h in index.get(index.ids()))
        last = max(acknowledged, default=-1)
        # As the last acknowledged sync left it, or as the next one (committed, killed before acknowledging).
        candidates = [v for v in (last, last + 1) if v >= 0]
        assert any(texts == sorted(c.text for doc in chunker.split_many(list(sync_versions(v).values()))
                                   for c in doc) for v in candidates), "the index is a mix of two versions"
    assert acknowledged, "no sync ever finished: raise the delays"


def _sync_forever(folder: Path, version: int) -> None:
    """The child of the SIGKILL test: sync version after version, acknowledging each."""
    embedding = HashingEmbeddings(dim=64)
    index = Index.load(folder, embedding=embedding) if (folder / "CURRENT").exists() else Index(embedding=embedding)
    while True:
        index.sync(sync_versions(version), chunker=RecursiveChunker(chunk_size=300, chunk_overlap=0), cleanup="full",
                   path=folder)
        print(f"synced {version}", flush=True)
        version += 1


if __name__ == "__main__":
    _sync_forever(Path(sys.argv[1]), int(sys.argv[2]))
