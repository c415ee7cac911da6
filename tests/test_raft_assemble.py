"""RAFT assembly on the real Python FAQ: every rule checked on the real dataset."""

import json

import pytest
from corpora import PYTHON_DOCS

from ragtune import HashingEmbeddings, Index, RecursiveChunker
from ragtune.datasets import parse_faq
from dataclasses import replace

from ragtune.qa import QAPair, relevant_chunks
from ragtune.raft import assemble, check_quotes, chunk_id, write_jsonl


@pytest.fixture(scope="module")
def faq_corpus():
    names, texts, items = [], [], []
    for path in sorted(PYTHON_DOCS.rglob("*.rst.txt"))[:120] + sorted((PYTHON_DOCS / "faq").glob("*.rst.txt")):
        name = str(path.relative_to(PYTHON_DOCS))
        if name in names:
            continue
        names.append(name)
        texts.append(path.read_text(encoding="utf-8"))
    chunks_by_doc = RecursiveChunker(chunk_size=800, chunk_overlap=100).split_many(texts, sources=names)
    chunks = [c for doc in chunks_by_doc for c in doc]
    for name, text, doc_chunks in zip(names, texts, chunks_by_doc):
        if not name.startswith("faq/"):
            continue
        for faq in parse_faq(text, source=name):
            holding = [chunk_id(c) for c in doc_chunks if c.start <= faq.start < c.end]
            items.append(replace(faq, oracle_ids=holding[:1]))
    index = Index(embedding=HashingEmbeddings(dim=256))
    index.add(chunks)
    return chunks, items, index


def test_titles_name_source_and_section(faq_corpus):
    chunks, items, index = faq_corpus
    sources = {c.source for c in chunks}
    documents = {s: (PYTHON_DOCS / s).read_text(encoding="utf-8") for s in sources}
    data = assemble(chunks, items[:30], p=1.0, documents=documents, seed=1)
    for e in data.examples:
        title = e.titles[e.oracle_positions[0]]
        assert title.startswith("faq/") and " › " in title and "(lines " in title


@pytest.mark.parametrize("strategy", ["random", "hard", "mixed"])
def test_rules_hold_on_the_real_faq(faq_corpus, strategy):
    chunks, items, index = faq_corpus
    by_id = {chunk_id(c): c for c in chunks}
    data = assemble(chunks, items, distractors=4, p=0.8, strategy=strategy, index=index, mode="bm25", seed=5)
    report = data.report
    assert report.items == len(items) >= 170
    # Counts describe what is returned: P is exact over the examples, not the questions.
    assert report.examples + report.dropped_for_quotes == len(items) == report.items
    assert report.examples == len(data.examples) >= 0.8 * len(items)
    assert report.kept_oracle == round(0.8 * report.examples) == sum(bool(e.oracle_positions) for e in data.examples)
    assert report.hard_distractors + report.random_distractors == sum(
        len(e.documents) - len(e.oracle_positions) for e in data.examples)
    if strategy != "random":
        assert report.hard_distractors > 0
    for example in data.examples:
        oracle = by_id[example.metadata["oracle_ids"][0]]
        assert len(example.documents) == 5 and len(set(example.titles)) == 5  # no document repeats
        assert len({" ".join(d.split()).lower() for d in example.documents}) == 5  # nor any text
        shown_oracle = [p for p, t in enumerate(example.titles) if t == oracle.citation()]
        assert shown_oracle == example.oracle_positions
        for title, text in zip(example.titles, example.documents):
            source = title.rsplit(":", 1)[0]
            if title != oracle.citation() and source == oracle.source:
                chunk = next(c for c in chunks if c.citation() == title)
                assert chunk.end <= oracle.start or chunk.start >= oracle.end  # no overlapping near-duplicate
        assert check_quotes(example.cot_answer, [oracle.text]).ok


def test_boilerplate_repeated_across_files_is_shown_once_per_example():
    """The Linux media API pages end many sections with the same sentences about return
    values and error codes; under different ids, those chunks are hard negatives for
    every question about return values. No example may show such a text twice, or a
    text equal to its oracle's."""
    from corpora import linux_docs

    docs = {name: text for name, text in linux_docs().items() if name.startswith("userspace-api/media/")}
    chunks = [c for doc in RecursiveChunker(chunk_size=200, chunk_overlap=0).split_many(
        list(docs.values()), sources=list(docs)) for c in doc]
    normal = lambda text: " ".join(text.split()).lower()  # noqa: E731
    counts: dict[str, int] = {}
    for c in chunks:
        counts[normal(c.text)] = counts.get(normal(c.text), 0) + 1
    assert max(counts.values()) >= 20, "the corpus no longer repeats its boilerplate"
    oracles = [c for c in chunks if counts[normal(c.text)] == 1 and "return" in c.text.lower()
               and c.text.rstrip().endswith(".")][:60]
    items = [QAPair(f"What does {c.source} say is returned on success and on error?", c.text, oracle_ids=[chunk_id(c)])
             for c in oracles]
    index = Index(embedding=HashingEmbeddings(dim=64))
    index.add(chunks)
    for strategy in ("hard", "random"):
        data = assemble(chunks, items, distractors=4, p=0.8, strategy=strategy, index=index, mode="bm25", seed=3)
        assert len(data.examples) == len(items)
        for example in data.examples:
            texts = [normal(d) for d in example.documents]
            assert len(set(texts)) == len(texts), f"{example.id} shows a text twice"
            oracle_text = normal(next(c.text for c in oracles if chunk_id(c) == example.metadata["oracle_ids"][0]))
            distractors = [t for p, t in enumerate(texts) if p not in example.oracle_positions]
            assert oracle_text not in distractors
        if strategy == "hard":
            assert data.report.repeated_texts_skipped > 0 and data.report.hard_distractors > 0


def test_quotes_and_budget_are_checked_before_the_oracle_share_is_drawn(faq_corpus, minilm_tokenizer):
    chunks, items, index = faq_corpus
    invented = [replace(i, cot_answer="##begin_quote##not in any oracle##end_quote## <ANSWER>: x") for i in items[:25]]
    data = assemble(chunks, invented + items[25:], p=0.8, seed=1)
    assert data.report.dropped_for_quotes >= 25
    assert data.report.kept_oracle == round(0.8 * len(data.examples)) == data.report.examples - sum(
        not e.oracle_positions for e in data.examples)
    budgeted = assemble(chunks, items, p=0.5, seed=1, max_tokens=700, tokenizer=minilm_tokenizer)
    report = budgeted.report
    assert report.dropped_for_budget > 0 and report.truncated_distractors > 0
    assert (
        report.examples
        == len(budgeted.examples)
        == report.items - report.dropped_for_budget - report.dropped_for_quotes
    )
    assert report.kept_oracle == int(0.5 * report.examples + 0.5)  # halves round up
    assert report.examples >= 40
    for example in budgeted.examples:
        total = sum(
            len(minilm_tokenizer.tokenize(t)) for t in [example.question, example.cot_answer, *example.documents]
        )
        assert total <= 700


def test_same_seed_same_dataset_whatever_the_threads(faq_corpus, tmp_path):
    chunks, items, index = faq_corpus
    one = assemble(chunks, items[:60], strategy="mixed", index=index, seed=9, threads=1)
    two = assemble(chunks, items[:60], strategy="mixed", index=index, seed=9, threads=2)
    assert [e.documents for e in one.examples] == [e.documents for e in two.examples]
    write_jsonl(one.examples, tmp_path / "raft.jsonl", "hf")
    rows = [json.loads(line) for line in (tmp_path / "raft.jsonl").read_text(encoding="utf-8").splitlines()]
    assert len(rows) == len(one.examples) and all(":" in t for r in rows for t in r["context"]["title"][0])


def test_bad_input(faq_corpus):
    chunks, items, index = faq_corpus
    with pytest.raises(ValueError, match="needs index="):
        assemble(chunks, items[:3], strategy="hard")
    with pytest.raises(KeyError, match="not among the chunks"):
        assemble(chunks, [QAPair("q?", "a", oracle_ids=["nowhere#0"])])
    with pytest.raises(ValueError, match="none of the 1 answers is held by any chunk"):
        assemble(chunks, [QAPair("q?", "an answer that no chunk holds")])
    with pytest.raises(TypeError, match=r"pairs\[0\] must be a ragtune.qa.QAPair"):
        assemble(chunks, [("q?", "a")])
    with pytest.raises(ValueError, match="verify_quotes must be"):
        assemble(chunks, items[:3], verify_quotes="maybe")
    flagged = assemble(
        chunks,
        [QAPair("q?", oracle_ids=items[0].oracle_ids, cot_answer="##begin_quote##invented##end_quote## <ANSWER>: x")],
        verify_quotes="flag",
    )
    assert flagged.report.flagged_for_quotes == 1 and flagged.examples[0].metadata["quotes_ok"] is False


@pytest.mark.parametrize("by", ["oracle", "source"])
def test_splits_never_share_an_oracle_or_source(faq_corpus, by):
    from ragtune.raft import split_examples

    chunks, items, index = faq_corpus
    data = assemble(chunks, items, strategy="random", seed=2)
    parts, report = split_examples(data.examples, by=by, seed=4)
    assert sum(r["examples"] for r in report.values()) == len(data.examples)
    owner = {}
    for name, examples in parts.items():
        for e in examples:
            for oracle in e.metadata["oracle_ids"]:
                key = oracle.rsplit("#", 1)[0] if by == "source" else oracle
                assert owner.setdefault(key, name) == name
    if by == "oracle":
        assert report["train"]["examples"] > report["test"]["examples"] > 0
    with pytest.raises(ValueError, match="add up to 1"):
        split_examples(data.examples, fractions={"train": 0.5})


def test_written_files_validate_in_every_format(faq_corpus, tmp_path, minilm_tokenizer):
    from ragtune.raft import validate

    chunks, items, index = faq_corpus
    data = assemble(chunks, items, strategy="hard", index=index, mode="bm25", seed=1)
    for fmt in ("hf", "completion", "chat", "eval"):
        path = tmp_path / f"{fmt}.jsonl"
        write_jsonl(data.examples, path, fmt, system_prompt="Answer from the documents." if fmt == "chat" else None)
        report = validate(path, fmt, tokenizer=minilm_tokenizer if fmt == "chat" else None)
        assert report.ok, report.problems[:3]
        assert report.rows == len(data.examples)
    assert report.max_tokens is None
    chat = validate(tmp_path / "chat.jsonl", "chat", tokenizer=minilm_tokenizer, max_tokens=100)
    assert chat.max_tokens > 100 and not chat.ok and "above the limit" in chat.problems[0]
    broken = tmp_path / "broken.jsonl"
    broken.write_text('{"messages": [{"role": "assistant", "content": "a"}, {"role": "user", "content": "q"}]}\n'
                      "not json\n\n[1, 2]\n", encoding="utf-8")
    problems = validate(broken, "chat").problems
    assert any("roles are" in p for p in problems) and any("not JSON" in p for p in problems)
    assert any("empty line" in p for p in problems) and any("not a JSON object" in p for p in problems)


def test_faq_dataset_loads_with_datasets_as_jsonl_and_parquet(faq_corpus, tmp_path):
    datasets = pytest.importorskip("datasets")
    from ragtune.raft import to_dataset, write_parquet

    chunks, items, index = faq_corpus
    data = assemble(chunks, items, strategy="mixed", index=index, mode="bm25", seed=3)
    write_jsonl(data.examples, tmp_path / "train.jsonl", "hf")
    write_parquet(data.examples, tmp_path / "train.parquet", "chat", system_prompt="Use the documents.")
    from_json = datasets.load_dataset("json", data_files=str(tmp_path / "train.jsonl"), split="train")
    from_parquet = datasets.load_dataset("parquet", data_files=str(tmp_path / "train.parquet"), split="train")
    assert from_json.num_rows == from_parquet.num_rows == len(data.examples)
    assert set(from_json.column_names) == {"id", "type", "question", "context", "oracle_context", "cot_answer",
                                          "instruction"}
    assert from_parquet[0]["messages"][0]["role"] == "system"
    assert to_dataset(data.examples, "completion").column_names == ["prompt", "completion"]


def test_context_budget_cuts_distractors_never_oracles(faq_corpus, minilm_tokenizer):
    chunks, items, index = faq_corpus
    by_id = {chunk_id(c): c for c in chunks}
    budget = 600
    data = assemble(chunks, items[:80], strategy="random", seed=4, max_tokens=budget, tokenizer=minilm_tokenizer)
    r = data.report
    assert r.truncated_distractors > 0 and r.examples + r.dropped_for_quotes + r.dropped_for_budget == 80
    for e in data.examples:
        texts = [e.question, e.cot_answer, *e.documents]
        assert sum(len(minilm_tokenizer.tokenize(t)) for t in texts) <= budget
        for p in e.oracle_positions:
            assert e.documents[p] == by_id[e.metadata["oracle_ids"][0]].text  # oracles intact
    tight = assemble(chunks, items[:20], max_tokens=20, tokenizer=minilm_tokenizer)
    assert tight.report.dropped_for_budget > 0
    with pytest.raises(ValueError, match="needs tokenizer"):
        assemble(chunks, items[:2], max_tokens=100)


def test_parquet_streams_in_row_groups_and_validates(faq_corpus, tmp_path):
    import pyarrow.parquet as pq

    from ragtune.raft import validate, write_parquet

    chunks, items, index = faq_corpus
    data = assemble(chunks, items, seed=6)
    path = tmp_path / "train.parquet"
    assert write_parquet(data.examples, path, "hf", batch_rows=50) == len(data.examples)
    assert pq.ParquetFile(path).num_row_groups == -(-len(data.examples) // 50)
    assert validate(path, "hf").ok
    assert not validate(path, "chat").ok  # hf rows are not chat rows
    (tmp_path / "bad.parquet").write_bytes(b"PAR1 not really")
    assert "not a readable Parquet file" in validate(tmp_path / "bad.parquet", "hf").problems[0]


def test_pairs_without_oracles_get_them_by_the_one_relevance_rule(faq_corpus):
    """FAQ pairs go into assemble as parse_faq returns them: the oracles are the chunks
    build_qrels would judge relevant, and a pair that no chunk holds is counted."""
    chunks, items, index = faq_corpus
    located = [replace(i, oracle_ids=()) for i in items[:40]]
    nowhere = QAPair("Where is it?", "a sentence that is in none of these documents at all", id="nowhere")
    with pytest.warns(UserWarning, match="1 of 41 questions have no chunk holding their answer"):
        data = assemble(chunks, located + [nowhere], p=1.0, seed=2, verify_quotes="off")
    assert data.report.items == 41 and data.report.unmatched == 1 and data.report.examples == 40
    for pair, example in zip(located, data.examples):
        assert example.id == pair.id
        assert example.metadata["oracle_ids"] == [chunk_id(c) for c in relevant_chunks(pair, chunks)]


def test_repeated_texts_hash_alike_exactly_when_their_normalised_words_match():
    import itertools
    import random

    from ragtune.raft.assemble import _text_hashes

    words = ["Alpha", "alpha", "ALPHA", "beta", "Straße", "STRASSE", "İstanbul", "istanbul", "日本", "x", ""]
    spaces = [" ", "  ", "\t", "\n", "\x1c", "\x1f", "\u3000", "\xa0", "\u2028", "\x0b"]
    rng = random.Random(3)
    texts = ["".join(rng.choice(words) + rng.choice(spaces) for _ in range(rng.randrange(0, 4)))
             for _ in range(400)]
    hashes = _text_hashes(texts, threads=2).tolist()
    normalised = [" ".join(t.split()).lower() for t in texts]
    for i, j in itertools.combinations(range(len(texts)), 2):
        assert (hashes[i] == hashes[j]) == (normalised[i] == normalised[j]), (texts[i], texts[j])
