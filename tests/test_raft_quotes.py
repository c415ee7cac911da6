"""RAFT chain-of-thought answers: parsing, and quotes checked against real FAQ answers."""

import pytest
from corpora import PYTHON_DOCS

from ragtune.datasets import parse_faq
from ragtune.raft import ANSWER_MARKER, BEGIN_QUOTE, END_QUOTE, check_quotes, parse_cot_answer


def faq_items():
    return parse_faq((PYTHON_DOCS / "faq" / "programming.rst.txt").read_text(encoding="utf-8"))


def test_quotes_taken_from_the_oracle_verify_and_invented_ones_do_not():
    for item in faq_items()[:60]:
        sentence = item.answer.split("\n\n")[0][:120]
        good = f"Reasoning. ##begin_quote## {sentence} ##end_quote## Hence. <ANSWER>: yes"
        assert check_quotes(good, [item.answer]).ok
        bad = good.replace(sentence, sentence + " (and more)")
        check = check_quotes(bad, [item.answer])
        assert not check.ok and check.missing == [sentence + " (and more)"]


def test_whitespace_normalisation_accepts_rewrapped_quotes():
    item = next(i for i in faq_items() if "\n" in i.answer.split("\n\n")[0])
    paragraph = item.answer.split("\n\n")[0]
    rewrapped = " ".join(paragraph.split())
    answer = f"##begin_quote##{rewrapped}##end_quote## <ANSWER>: ok"
    assert not check_quotes(answer, [item.answer]).ok
    assert check_quotes(answer, [item.answer], normalise_whitespace=True).ok


@pytest.mark.parametrize(
    ("text", "quotes", "answer", "unbalanced"),
    [
        ("no quotes <ANSWER>: 42", [], "42", False),
        ("##begin_quote##a##end_quote## ##begin_quote##b##end_quote##", ["a", "b"], None, False),
        ("##begin_quote##dangling <ANSWER>: x", [], "x", True),
        ("<ANSWER>: first <ANSWER>: last", [], "last", False),
        ("<ANSWER>:   ", [], None, False),
        ("", [], None, False),
    ],
)
def test_parsing_edge_cases(text, quotes, answer, unbalanced):
    parsed = parse_cot_answer(text)
    assert (parsed.quotes, parsed.answer, parsed.unbalanced) == (quotes, answer, unbalanced)


def test_bad_input():
    with pytest.raises(TypeError, match="answer must be str"):
        parse_cot_answer(None)
    with pytest.raises(TypeError, match="oracle must be str"):
        check_quotes("x <ANSWER>: y", [3])
    assert not check_quotes("##begin_quote####end_quote## <ANSWER>: y", ["text"]).ok  # an empty quote proves nothing


def test_formats_and_atomic_jsonl(tmp_path):
    import json

    from ragtune.raft import RaftExample, to_record, write_jsonl

    items = faq_items()[:5]
    examples = [
        RaftExample(
            f"faq-{n}",
            item.question,
            [items[(n + 1) % 5].answer, item.answer],
            [f"faq/programming.rst.txt: {items[(n + 1) % 5].question}", f"faq/programming.rst.txt: {item.question}"],
            [1],
            f"##begin_quote##{item.answer[:40]}##end_quote## <ANSWER>: see above",
        )
        for n, item in enumerate(items)
    ]
    hf = to_record(examples[0], "hf")
    assert set(hf) == {"id", "type", "question", "context", "oracle_context", "cot_answer", "instruction"}
    assert hf["oracle_context"] == items[0].answer and hf["context"]["sentences"][0][1] == items[0].answer
    assert hf["instruction"].endswith("\n" + items[0].question) and hf["instruction"].count("<DOCUMENT>") == 2
    chat = to_record(examples[0], "chat", system_prompt="Answer from the documents.")
    assert [m["role"] for m in chat["messages"]] == ["system", "user", "assistant"]
    assert to_record(examples[0], "completion")["completion"] == examples[0].cot_answer
    assert to_record(examples[0], "eval")["gold_final_answer"] == "see above"
    path = tmp_path / "out" / "train.jsonl"
    assert write_jsonl(examples, path, "chat") == 5
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert len(rows) == 5 and all(r["messages"][-1]["content"] for r in rows)
    assert list(path.parent.iterdir()) == [path]  # no temporary left behind

    def broken():
        yield examples[0]
        raise RuntimeError("generator failed")

    with pytest.raises(RuntimeError):
        write_jsonl(broken(), tmp_path / "out" / "other.jsonl", "hf")
    assert sorted(p.name for p in path.parent.iterdir()) == ["train.jsonl"]
    with pytest.raises(ValueError, match="unknown format"):
        to_record(examples[0], "alpaca")


def _regex_reference(answer, oracles, normalise_whitespace):
    """The Python semantics the C++ checker implements: regex spans, str.strip(), \\s+ runs."""
    import re

    pattern = re.compile(re.escape(BEGIN_QUOTE) + r"(.*?)" + re.escape(END_QUOTE), re.DOTALL)

    def normalise(text):
        return re.sub(r"\s+", " ", text).strip()

    quotes = [m.group(1).strip() for m in pattern.finditer(answer)]
    without = pattern.sub("", answer)
    unbalanced = BEGIN_QUOTE in without or END_QUOTE in without
    marker = answer.rfind(ANSWER_MARKER)
    has_answer = bool(answer[marker + len(ANSWER_MARKER):].strip()) if marker >= 0 else False
    haystacks = [normalise(o) for o in oracles] if normalise_whitespace else list(oracles)
    missing = [q for q in quotes
               if not (normalise(q) if normalise_whitespace else q)
               or not any((normalise(q) if normalise_whitespace else q) in h for h in haystacks)]
    return quotes, missing, has_answer, unbalanced


def test_the_core_quote_checker_equals_the_regex_semantics():
    import random
    import sys

    spaces = [chr(c) for c in range(sys.maxunicode + 1) if chr(c).isspace()]
    pieces = [BEGIN_QUOTE, END_QUOTE, ANSWER_MARKER, "##begin_qu", "ote##", "alpha", "beta gamma", "é日😀", " ",
              "\n", "\u3000", "\x1c", "#", "", "end_quote##"] + spaces
    oracles = ["alpha  beta\tgamma é日😀 delta", "##begin_quote## inside an oracle", "beta\u3000gamma"]
    rng = random.Random(7)
    for _ in range(3000):
        answer = "".join(rng.choice(pieces) for _ in range(rng.randrange(0, 14)))
        for normalise_whitespace in (False, True):
            quotes, missing, has_answer, unbalanced = _regex_reference(answer, oracles, normalise_whitespace)
            check = check_quotes(answer, oracles, normalise_whitespace=normalise_whitespace)
            assert (check.quotes, check.missing, check.has_answer, check.unbalanced) == (
                len(quotes), missing, has_answer, unbalanced), repr(answer)
        parsed = parse_cot_answer(answer)
        assert parsed.quotes == quotes and parsed.unbalanced == unbalanced, repr(answer)
