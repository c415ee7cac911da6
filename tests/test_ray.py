"""ragtune's stages on a real local Ray cluster (2 CPUs, started here, shut down after):
each equals the single-process path on real documents."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from corpora import PYTHON_DOCS

ray = pytest.importorskip("ray")

from ragtune import HashingEmbeddings, Index, RecursiveChunker  # noqa: E402
from ragtune.cli.files import documents_by_source  # noqa: E402
from ragtune.embeddings import Embedder  # noqa: E402
from ragtune.integrations import ray as rt  # noqa: E402

# Ray's own deprecation notices (about its settings, not ragtune's calls) are not failures here.
pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning:ray")
FAQ = PYTHON_DOCS / "faq"
QUERIES = ["How do I make an executable from a Python script?", "Why are default values shared between objects?",
           "global interpreter lock", "How can I sort a list of tuples?"]


@pytest.fixture(scope="module")
def cluster():
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    ray.data.DataContext.get_current().enable_progress_bars = False
    yield
    ray.shutdown()


@pytest.fixture(scope="module")
def single():
    documents = documents_by_source([str(FAQ)], follow_links=False)
    chunker = RecursiveChunker(chunk_size=700, chunk_overlap=80)
    chunks = [c for d in chunker.split_many(list(documents.values()), sources=list(documents)) for c in d]
    return documents, chunker, chunks


def test_documents_and_chunks_equal_the_single_process_path(cluster, single):
    documents, chunker, chunks = single
    docs = rt.read_documents([FAQ])
    rows = sorted(docs.take_all(), key=lambda r: r["doc"])
    assert {r["source"]: r["text"] for r in rows} == documents and [r["doc"] for r in rows] == list(range(len(rows)))
    out = sorted(rt.chunk(docs, chunker, batch_size=3).take_all(), key=lambda r: (r["doc"], r["index"]))
    assert len(out) == len(chunks)
    for row, c in zip(out, chunks):
        assert (row["id"], row["source"], row["text"], row["start"], row["end"], row["byte_start"], row["byte_end"],
                row["line_start"], row["line_end"], row["index"]) == (
            f"{c.source}#{c.index}", c.source, c.text, c.start, c.end, c.byte_start, c.byte_end, c.line_start,
            c.line_end, c.index)
        assert documents[row["source"]][row["start"]:row["end"]] == row["text"]


def test_embedding_and_shards_equal_one_index(cluster, single, tmp_path):
    documents, chunker, chunks = single
    embedder = HashingEmbeddings(dim=128)
    vectors = rt.embed(rt.chunk(rt.read_documents([FAQ]), chunker), embedder, batch_size=50, concurrency=2)
    sharded = rt.write_index(vectors, tmp_path / "ix", shards=3, embedding=embedder, exact_below=10**9)
    whole = Index(embedding=embedder, exact_below=10**9)
    whole.add(chunks, vectors=embedder.encode([c.text for c in chunks]))
    assert len(sharded.shards) == 3 and sharded.ids() == whole.ids()
    np.testing.assert_array_equal(np.vstack([s.vectors(s.ids()) for s in sharded.shards]), whole.vectors(whole.ids()))
    for mode in ("dense", "bm25", "hybrid"):
        got = sharded.search_many(QUERIES, k=8, mode=mode, exact=True)
        want = whole.search_many(QUERIES, k=8, mode=mode, exact=True)
        assert [[(h.id, h.score, h.citation()) for h in q] for q in got] == \
            [[(h.id, h.score, h.citation()) for h in q] for q in want]
    reopened = rt.ShardedIndex.load(tmp_path / "ix")  # the saved embedder is rebuilt
    assert [h.id for h in reopened.search(QUERIES[0], k=5, mode="hybrid")] == \
        [h.id for h in whole.search(QUERIES[0], k=5, mode="hybrid")]
    with pytest.raises(FileExistsError, match="not empty"):
        rt.write_index(vectors, tmp_path / "ix", shards=2, embedding=embedder)


def test_minilm_on_ray_equals_minilm_here(cluster, single):
    from ragtune.embeddings import MiniLMEmbeddings

    documents, chunker, chunks = single
    subset = rt.chunk(rt.read_documents([FAQ / "installed.rst.txt"]), chunker)
    rows = sorted(rt.embed(subset, "minilm", batch_size=8).take_all(), key=lambda r: r["index"])
    here = MiniLMEmbeddings().encode([r["text"] for r in rows])
    np.testing.assert_allclose(np.vstack([r["vector"] for r in rows]), here, atol=1e-5)


def test_an_actor_killed_mid_embedding_is_retried_without_duplicates(cluster, single, tmp_path):
    documents, chunker, chunks = single
    marker = tmp_path / "killed-once"

    class DiesOnce(Embedder):
        """Hashing vectors, but the actor's process dies at its third batch, once."""

        dim = 64

        def __init__(self):
            self.inner, self.calls = HashingEmbeddings(dim=64), 0

        def encode(self, texts):
            self.calls += 1
            if self.calls == 3 and not marker.exists():
                marker.touch()
                os._exit(1)  # the whole worker process, as an out-of-memory kill would
            return self.inner.encode(texts)

    rows = rt.embed(rt.chunk(rt.read_documents([FAQ]), chunker), DiesOnce(), batch_size=20).take_all()
    assert marker.exists(), "the actor never died: the test proves nothing"
    ids = [r["id"] for r in rows]
    assert len(ids) == len(set(ids)) == len(chunks)
    by_id = {r["id"]: r["vector"] for r in rows}
    expected = HashingEmbeddings(dim=64).encode([c.text for c in chunks])
    np.testing.assert_array_equal(np.vstack([by_id[f"{c.source}#{c.index}"] for c in chunks]), expected)


def test_without_ray_the_import_names_the_install_command():
    code = ("import sys; sys.modules['ray'] = None\n"
            "try:\n    import ragtune.integrations.ray\nexcept ImportError as e:\n    print(e)\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert "pip install 'ragtune[ray]'" in result.stdout, result.stdout + result.stderr


def test_questions_on_ray_equal_generate_qa_here_and_resume_from_the_checkpoint(cluster, single, tmp_path):
    from ragtune.qa import QAPair
    from ragtune.raft import generate_qa

    documents, chunker, chunks = single
    subset = chunks[:40]
    calls, broken = tmp_path / "calls", tmp_path / "broken"
    failing = subset[32].text[:200]  # the chunk the LLM fails on in the first run

    def llm(prompt):
        """Deterministic answers quoting the chunk; counts its calls in a file (actors are processes)."""
        with open(calls, "a") as f:
            f.write("x\n")
        if broken.exists() and failing in prompt:
            raise RuntimeError("the LLM service is down")
        first = prompt.rsplit("\n\n", 1)[-1].strip().splitlines()[0][:60]
        if prompt.startswith("Question:"):
            return f"It says ##begin_quote##{first}##end_quote##.\n<ANSWER>: {first[:15]}"
        return f"1. What does it say about {first[:30]}?\n2. Why {first[:20]}?"

    here = generate_qa(subset, llm, questions_per_chunk=2, threads=1)
    rows_ds = ray.data.from_items([{"doc": 0, "id": f"{c.source}#{c.index}", "source": c.source, "text": c.text,
                                    "index": c.index, "start": c.start, "end": c.end, "byte_start": c.byte_start,
                                    "byte_end": c.byte_end, "line_start": c.line_start, "line_end": c.line_end}
                                   for c in subset], override_num_blocks=4)
    broken.touch()  # the first run fails part-way; what finished is kept in the checkpoint
    checkpoint = tmp_path / "qa"
    with pytest.raises(Exception, match="the LLM service is down"):
        rt.generate_qa(rows_ds, llm, questions_per_chunk=2, threads=1, retries=1, retry_wait=0,
                       checkpoint=checkpoint, batch_size=5, concurrency=1).take_all()
    broken.unlink()
    calls.write_text("")
    rows = rt.generate_qa(rows_ds, llm, questions_per_chunk=2, threads=1, checkpoint=checkpoint,
                          batch_size=5).take_all()
    fields = ("id", "question", "answer", "source", "oracle_ids", "cot_answer")
    pairs = sorted((QAPair.from_dict({k: r[k] for k in fields}) for r in rows), key=lambda p: p.id)
    assert pairs == sorted(here, key=lambda p: p.id) and len(pairs) == 2 * len(subset)
    asked = len(calls.read_text().splitlines())
    assert 0 < asked < 3 * len(subset), f"the rerun asked {asked} times: the checkpoint was not used"


@pytest.mark.parametrize("strategy", ["random", "mixed"])
def test_raft_on_ray_equals_assemble_here_whatever_the_parts(cluster, single, tmp_path, strategy):
    import json

    from ragtune.datasets import parse_faq
    from ragtune.raft import assemble, to_record

    documents, chunker, chunks = single
    pairs = [p for name, text in documents.items() for p in parse_faq(text, source=name)]
    index = Index(embedding=HashingEmbeddings(dim=64))
    index.add(chunks)
    index.save(tmp_path / "ix")
    options = dict(distractors=3, p=0.7, strategy=strategy, mode="bm25", seed=4)
    here = assemble(chunks, pairs, documents=documents, index=index, **options)
    question_rows = ray.data.from_items([p.to_dict() for p in pairs], override_num_blocks=5)
    chunk_rows = rt.chunk(rt.read_documents([FAQ]), chunker)
    records = [json.dumps(to_record(e, "hf")) for e in here.examples]
    for parts in (1, 3):
        result = rt.raft(question_rows, chunk_rows, documents=documents, index=str(tmp_path / "ix"), parts=parts,
                         **options)
        there = result.to_raft_dataset()
        assert [json.dumps(to_record(e, "hf")) for e in there.examples] == records
        assert there.report == here.report and f"{here.report.examples} examples" in repr(result)


def test_a_langchain_embedder_travels_to_the_actors(cluster, single):
    from langchain_core.embeddings import DeterministicFakeEmbedding

    documents, chunker, chunks = single
    fake = DeterministicFakeEmbedding(size=32)
    rows = rt.embed(rt.chunk(rt.read_documents([FAQ / "installed.rst.txt"]), chunker), fake).take_all()
    by_index = {r["index"]: r["vector"] for r in rows}  # a file given alone is named by its file name
    assert {r["source"] for r in rows} == {"installed.rst.txt"}
    mine = [c for c in chunks if c.source == "faq/installed.rst.txt"]
    np.testing.assert_allclose(np.vstack([by_index[c.index] for c in mine]),
                               np.asarray(fake.embed_documents([c.text for c in mine]), dtype=np.float32))


def test_rows_without_document_positions_and_bad_arguments(cluster, single, tmp_path):
    documents, chunker, chunks = single
    embedder = HashingEmbeddings(dim=32)
    plain = ray.data.from_items([{"source": s, "text": t} for s, t in documents.items()], override_num_blocks=3)
    rows = rt.chunk(plain, chunker, batch_size=2)
    assert "doc" not in rows.columns()  # no position is made up per batch
    sharded = rt.write_index(rt.embed(rows, embedder), tmp_path / "by-id", shards=2, embedding=embedder)
    assert sorted(sharded.ids()) == sorted(f"{c.source}#{c.index}" for c in chunks)
    assert sharded.ids() == sorted(sharded.ids())  # ordered by id when there is no document position
    with pytest.raises(TypeError, match="sets threads itself"):
        rt.write_index(rt.embed(rows, embedder), tmp_path / "other", embedding=embedder, threads=4)
    with pytest.raises(TypeError, match="an index object cannot be sent to Ray tasks"):
        rt.raft(ray.data.from_items([{"question": "q?", "answer": "a"}]), rows, index=Index())
