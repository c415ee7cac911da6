"""FAQ question–answer pairs from the real Python FAQ."""

from corpora import PYTHON_DOCS

from ragtune.datasets import parse_faq


def test_python_faq_yields_its_question_answer_pairs_with_exact_offsets():
    items = []
    for path in sorted((PYTHON_DOCS / "faq").glob("*.rst.txt")):
        text = path.read_text(encoding="utf-8")
        for item in parse_faq(text, source=path.name):
            assert text[item.question_start : item.question_start + len(item.question)] == item.question
            assert text[item.start : item.end] == item.answer and item.source == path.name
            assert item.id == f"{path.name}#{len(items) - sum(i.source != path.name for i in items)}"
            assert item.question.endswith("?") and item.answer
            items.append(item)
    assert len(items) >= 170
    questions = {i.question for i in items}
    assert "Why are default values shared between objects?" in questions


def test_markdown_faq_and_empty_input():
    doc = "# FAQ\n\n## What is it?\n\nA tool.\n\n## Is it fast? ##\n\nYes.\n"
    assert [(i.question, i.answer) for i in parse_faq(doc)] == [("What is it?", "A tool."), ("Is it fast?", "Yes.")]
    assert parse_faq("") == []
