"""The columnar RAFT writers give exactly the bytes of the reference encoding —
``json.dumps(to_record(example, fmt), ensure_ascii=False)`` per line, and Parquet /
``datasets`` tables built with ``Table.from_pylist`` from the same records — for
every format, from assembled datasets and from plain example lists, on real data and
on texts full of characters JSON must escape."""

from __future__ import annotations

import errno
import json
import sys

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from corpora import PYTHON_DOCS
from disks import small_disk

from ragtune import RecursiveChunker
from ragtune.datasets import parse_faq
from ragtune.raft import (
    FORMATS,
    RaftColumns,
    RaftDataset,
    RaftExample,
    RaftExamples,
    assemble,
    to_dataset,
    to_record,
    write_jsonl,
    write_parquet,
)

SYSTEM_PROMPTS = [None, "", 'Answer from the "documents".\n\tCite them.']
# Every character Python's str.strip() removes, and some it does not.
SPACES = "".join(chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace())
NOT_SPACES = "\x00\x01\x7f\u200b\ufeff\u00ad"


def reference_jsonl(examples, fmt, system_prompt=None) -> bytes:
    return "".join(json.dumps(to_record(e, fmt, system_prompt=system_prompt), ensure_ascii=False) + "\n"
                   for e in examples).encode("utf-8")


def reference_parquet(examples, path, fmt, system_prompt=None, batch_rows=10_000) -> None:
    records = [to_record(e, fmt, system_prompt=system_prompt) for e in examples]
    writer = None
    for first in range(0, len(records), batch_rows):
        table = pa.Table.from_pylist(records[first:first + batch_rows],
                                     schema=writer.schema if writer is not None else None)
        writer = writer or pq.ParquetWriter(path, table.schema)
        writer.write_table(table)
    writer.close()


def awkward_examples() -> list[RaftExample]:
    """Texts with every control character, quotes, backslashes, 2-, 3- and 4-byte UTF-8,
    answers wrapped in every kind of whitespace, missing and empty answers, no
    documents, several oracles."""
    controls = "".join(chr(c) for c in range(32)) + "\x7f"
    texts = [f"plain text {controls}", 'quotes " and \\ backslashes \\"', "é ü ß — “curly” 日本語 😀 \U0010fffd",
             "line\nbreaks\r\nand\ttabs\n", "", "</DOCUMENT> inside", "\u2028\u2029 separators"]
    answers = [f"##begin_quote##plain##end_quote## <ANSWER>:{SPACES}the answer{SPACES}",
               f"<ANSWER>:{NOT_SPACES}kept{NOT_SPACES}", "no marker at all", "<ANSWER>:   ",
               "<ANSWER>: first <ANSWER>: second 😀", "<ANSWER>:" + SPACES + "x\u3000y" + SPACES]
    out = []
    for n in range(24):
        shown = [texts[(n + k) % len(texts)] for k in range(n % 6)]
        oracles = [] if not shown else [0] if n % 3 else list(range(min(2, len(shown))))
        out.append(RaftExample(f"ex-{n} “{controls[n]}”", f"Question {n}? {texts[n % len(texts)]}", shown,
                               [f"title {k} {texts[k % len(texts)][:8]}" for k in range(len(shown))], oracles,
                               answers[n % len(answers)], type="general" if n % 5 else "special\n"))
    return out


@pytest.fixture(scope="module")
def assembled() -> RaftDataset:
    names = ["faq/programming.rst.txt", "faq/general.rst.txt", "faq/library.rst.txt", "tutorial/classes.rst.txt"]
    texts = [(PYTHON_DOCS / n).read_text(encoding="utf-8") for n in names]
    chunks = [c for doc in RecursiveChunker(chunk_size=600, chunk_overlap=80).split_many(texts, sources=names)
              for c in doc]
    pairs = [p for name, text in zip(names, texts) if name.startswith("faq/") for p in parse_faq(text, source=name)]
    documents = dict(zip(names, texts))
    data = assemble(chunks, pairs, distractors=3, p=0.8, seed=3, documents=documents)
    assert len(data) > 90 and isinstance(data.columns, RaftColumns)
    return data


@pytest.mark.parametrize("fmt", FORMATS)
@pytest.mark.parametrize("system_prompt", SYSTEM_PROMPTS)
def test_jsonl_bytes_equal_the_reference_for_awkward_texts(tmp_path, fmt, system_prompt):
    examples = awkward_examples()
    for threads in (1, 2):
        path = tmp_path / f"out-{threads}.jsonl"
        assert write_jsonl(examples, path, fmt, system_prompt=system_prompt, threads=threads) == len(examples)
        assert path.read_bytes() == reference_jsonl(examples, fmt, system_prompt)


@pytest.mark.parametrize("fmt", FORMATS)
def test_jsonl_from_an_assembled_dataset_equals_the_reference(tmp_path, assembled, fmt):
    reference = reference_jsonl(list(assembled.examples), fmt, "Use the documents.")
    for given in (assembled, assembled.examples):
        write_jsonl(given, tmp_path / "out.jsonl", fmt, system_prompt="Use the documents.")
        assert (tmp_path / "out.jsonl").read_bytes() == reference


def test_a_budget_cut_is_what_is_written(tmp_path, minilm_tokenizer):
    names = ["faq/programming.rst.txt", "faq/library.rst.txt"]
    texts = [(PYTHON_DOCS / n).read_text(encoding="utf-8") for n in names]
    chunks = [c for doc in RecursiveChunker(chunk_size=900, chunk_overlap=0).split_many(texts, sources=names)
              for c in doc]
    pairs = [p for name, text in zip(names, texts) for p in parse_faq(text, source=name)][:40]
    data = assemble(chunks, pairs, distractors=4, p=1.0, max_tokens=420, tokenizer=minilm_tokenizer)
    assert data.report.truncated_distractors > 0
    examples = list(data.examples)
    assert all(sum(minilm_tokenizer(d, add_special_tokens=False)["input_ids"].__len__() for d in e.documents)
               < 420 for e in examples)
    write_jsonl(data, tmp_path / "cut.jsonl", "hf")
    assert (tmp_path / "cut.jsonl").read_bytes() == reference_jsonl(examples, "hf")
    # the corpus texts themselves are untouched: cut texts join the dataset's pool
    assert {c.text for c in chunks} <= set(data.columns.texts)


@pytest.mark.parametrize("fmt", FORMATS)
def test_parquet_bytes_equal_the_reference(tmp_path, assembled, fmt):
    examples = list(assembled.examples)
    system = "Answer briefly." if fmt == "chat" else None
    reference_parquet(examples, tmp_path / "reference.parquet", fmt, system, batch_rows=50)
    write_parquet(assembled, tmp_path / "columns.parquet", fmt, system_prompt=system, batch_rows=50)
    write_parquet(examples, tmp_path / "objects.parquet", fmt, system_prompt=system, batch_rows=50)
    reference = (tmp_path / "reference.parquet").read_bytes()
    assert (tmp_path / "columns.parquet").read_bytes() == reference
    assert (tmp_path / "objects.parquet").read_bytes() == reference


@pytest.mark.parametrize("fmt", FORMATS)
def test_parquet_and_datasets_hold_the_awkward_records(tmp_path, fmt):
    import datasets

    examples = [e for e in awkward_examples() if e.final_answer() is not None or fmt != "eval"]
    records = [to_record(e, fmt, system_prompt="S") for e in examples]
    write_parquet(examples, tmp_path / "out.parquet", fmt, system_prompt="S")
    assert pq.read_table(tmp_path / "out.parquet").to_pylist() == records
    built = to_dataset(examples, fmt, system_prompt="S")
    expected = datasets.Dataset.from_list(records)
    assert built.features == expected.features and built.to_list() == records


def test_eval_answers_that_are_missing_are_nulls(tmp_path):
    examples = awkward_examples()
    write_parquet(examples, tmp_path / "eval.parquet", "eval")
    answers = pq.read_table(tmp_path / "eval.parquet").column("gold_final_answer")
    assert answers.type == pa.string() and answers.to_pylist() == [e.final_answer() for e in examples]


def test_examples_are_built_on_access(assembled):
    examples = assembled.examples
    assert isinstance(examples, RaftExamples) and len(examples) == len(assembled)
    listed = list(examples)
    assert examples == listed and examples[-1] == listed[-1] and examples[2:5] == listed[2:5]
    assert RaftDataset(listed).examples == listed  # and back to columns
    with pytest.raises(IndexError, match="out of range"):
        examples[len(examples)]
    with pytest.raises(TypeError):
        examples["0"]
    assert repr(examples).startswith(f"RaftExamples({len(listed)} examples")
    joined = RaftColumns.concat([assembled.columns, RaftColumns.from_examples(listed[:3])])
    assert RaftExamples(joined) == listed + listed[:3]


def test_bad_input_is_refused_and_leaves_no_file(tmp_path):
    example = awkward_examples()[3]
    surrogate = RaftExample("x", "broken \udc80 text", ["doc"], ["t"], [0], "<ANSWER>: a")
    with pytest.raises(ValueError, match="unpaired surrogate"):
        write_jsonl([example, surrogate], tmp_path / "out.jsonl", "hf")
    with pytest.raises(ValueError, match="unknown format"):
        write_jsonl([example], tmp_path / "out.jsonl", "alpaca")
    with pytest.raises(TypeError, match="RaftExample"):
        write_jsonl([example, {"question": "q"}], tmp_path / "out.jsonl", "hf")
    with pytest.raises(TypeError, match="RaftDataset or an iterable"):
        write_jsonl("train.jsonl", tmp_path / "out.jsonl", "hf")
    wrong = RaftExample("y", "q", ["a", "b"], ["t"], [0], "<ANSWER>: a")
    with pytest.raises(ValueError, match="2 documents but 1 titles"):
        write_jsonl([wrong], tmp_path / "out.jsonl", "hf")
    outside = RaftExample("z", "q", ["a"], ["t"], [3], "<ANSWER>: a")
    with pytest.raises(ValueError, match="oracle at position 3 of 1"):
        write_parquet([outside], tmp_path / "out.parquet", "hf")
    assert list(tmp_path.iterdir()) == []


def test_a_full_disk_is_an_oserror_and_leaves_the_old_file(tmp_path, assembled):
    with small_disk(tmp_path, 256 * 1024) as disk:
        write_jsonl(list(assembled.examples)[:2], disk / "train.jsonl", "hf")
        before = (disk / "train.jsonl").read_bytes()
        with pytest.raises(OSError) as raised:
            write_jsonl(assembled, disk / "train.jsonl", "hf")
        assert raised.value.errno == errno.ENOSPC and str(raised.value.filename).endswith("train.jsonl")
        assert (disk / "train.jsonl").read_bytes() == before
        assert sorted(p.name for p in disk.iterdir()) == ["train.jsonl"]


def test_a_dataset_pickles_after_writing(tmp_path, assembled):
    import pickle

    write_jsonl(assembled, tmp_path / "a.jsonl", "eval")
    copy = pickle.loads(pickle.dumps(assembled))
    write_jsonl(copy, tmp_path / "b.jsonl", "eval")
    assert (tmp_path / "a.jsonl").read_bytes() == (tmp_path / "b.jsonl").read_bytes()
    assert copy.report == assembled.report and len(copy) == len(assembled)


def test_columns_changed_after_a_write_are_what_the_next_write_encodes(tmp_path, assembled):
    columns = RaftColumns.from_examples(list(assembled.examples)[:3])
    write_jsonl(columns, tmp_path / "a.jsonl", "eval")
    columns.texts[int(columns.documents[0])] = "CHANGED"
    columns.documents[:] = columns.documents[::-1].copy()
    write_jsonl(columns, tmp_path / "b.jsonl", "eval")
    assert (tmp_path / "b.jsonl").read_bytes() == reference_jsonl(list(RaftExamples(columns)), "eval")
    # An out-of-range index set after the columns were built is refused, not read.
    columns.documents[0] = 5_000_000_000
    with pytest.raises(ValueError, match="not among"):
        write_jsonl(columns, tmp_path / "c.jsonl", "eval")


def test_edited_examples_are_assigned_back(assembled):
    data = RaftDataset(list(assembled.examples), assembled.report)
    assert data == assembled
    edited = list(data.examples)
    edited[0].cot_answer = "<ANSWER>: edited"
    data.examples[1].cot_answer = "lost: each access builds a new example"
    data.examples = edited
    assert data.examples[0].cot_answer == "<ANSWER>: edited" and data.examples[1] == assembled.examples[1]
    assert data != assembled
