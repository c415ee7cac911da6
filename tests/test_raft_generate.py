"""generate_qa with deterministic LLMs: a callable, LangChain's own fake chat model,
retries, and an interrupted run that resumes from its checkpoint."""

import re

import pytest
from corpora import PYTHON_DOCS
from langchain_core.language_models import FakeListChatModel

from ragtune import RecursiveChunker
from ragtune.raft import LLMError, assemble, check_quotes, generate_qa


def faq_chunks(n=12):
    text = (PYTHON_DOCS / "faq" / "general.rst.txt").read_text(encoding="utf-8")
    return RecursiveChunker(chunk_size=600, chunk_overlap=0).split(text, source="faq/general.rst.txt")[:n]


class RuleLLM:
    """Asks about the passage's first words; answers by quoting its first line."""

    def __init__(self, fail_first=0, stop_after=None):
        self.calls = 0
        self.fail_first = fail_first
        self.stop_after = stop_after

    def __call__(self, prompt: str) -> str:
        self.calls += 1
        if self.stop_after is not None and self.calls > self.stop_after:
            raise KeyboardInterrupt  # the process dies mid-run
        if self.calls <= self.fail_first:
            raise ConnectionError("rate limited")
        context = prompt.split("Context:\n", 1)[1] if "Context:\n" in prompt else prompt.split("Passage:\n", 1)[1]
        first = next(line for line in context.splitlines() if line.strip()).strip()
        if prompt.startswith("Question:"):
            return f"The context says ##begin_quote##{first}##end_quote##.\n<ANSWER>: {first[:20]}"
        words = re.findall(r"\w+", first)[:3]
        return "\n".join(f"{i}. What about {' '.join(words)} ({i})?" for i in range(1, 4))


def test_callable_llm_gives_verifiable_items():
    chunks = faq_chunks()
    items = generate_qa(chunks, RuleLLM(), questions_per_chunk=2, threads=3)
    assert len(items) == 2 * len(chunks)
    by_id = {f"{c.source}#{c.index}": c for c in chunks}
    for item in items:
        assert check_quotes(item.cot_answer, [by_id[item.oracle_ids[0]].text]).ok
    data = assemble(chunks, items, distractors=3, p=1.0, seed=0)
    assert data.report.examples == len(items) and data.report.dropped_for_quotes == 0


def test_langchain_chat_model_and_system_prompt():
    chunk = faq_chunks(1)[0]
    model = FakeListChatModel(responses=["1. Is Python free?", "Yes: ##begin_quote##" +
                                         chunk.text.split("\n")[0] + "##end_quote## <ANSWER>: yes"])
    items = generate_qa([chunk], model, questions_per_chunk=1, threads=1, system_prompt="Be brief.")
    assert [i.question for i in items] == ["Is Python free?"] and items[0].answer == "yes"


def test_retries_then_success_and_then_failure():
    chunks = faq_chunks(2)
    flaky = RuleLLM(fail_first=2)
    assert len(generate_qa(chunks, flaky, questions_per_chunk=1, threads=1, retries=3, retry_wait=0)) == 2
    with pytest.raises(ConnectionError):
        generate_qa(chunks, RuleLLM(fail_first=100), threads=1, retries=2, retry_wait=0)
    with pytest.raises(LLMError, match="nothing usable"):
        generate_qa(chunks, lambda prompt: "   ", threads=1, retries=2, retry_wait=0)
    with pytest.raises(TypeError, match="llm must be"):
        generate_qa(chunks, 42)


def test_interrupted_run_resumes_without_repeating_work(tmp_path):
    chunks = faq_chunks(8)
    checkpoint = tmp_path / "qa.jsonl"
    dying = RuleLLM(stop_after=9)  # 3 calls per chunk: dies during the 4th chunk
    with pytest.raises(KeyboardInterrupt):
        generate_qa(chunks, dying, questions_per_chunk=2, threads=1, checkpoint=checkpoint)
    done = len(checkpoint.read_text(encoding="utf-8").splitlines())
    assert done == 3
    with open(checkpoint, "a", encoding="utf-8") as f:
        f.write('{"chunk": "torn')  # a write cut short by the crash
    resumed = RuleLLM()
    items = generate_qa(chunks, resumed, questions_per_chunk=2, threads=2, checkpoint=checkpoint)
    assert resumed.calls == 3 * (len(chunks) - done)  # finished chunks were not asked again
    assert len(items) == 2 * len(chunks)
    assert [i.oracle_ids[0] for i in items] == [f"{c.source}#{c.index}" for c in chunks for _ in range(2)]
