"""RAFT chain-of-thought answers: parsing, and quotes checked against real FAQ answers."""

import pytest
from corpora import PYTHON_DOCS

from ragtune.datasets import parse_faq
from ragtune.raft import check_quotes, parse_cot_answer


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
