"""Answer-level metrics: RAGAS's formulas with deterministic judges, the LLM judge's
prompts and parsing with a real LangChain chat model class, and grounding on real FAQ answers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from langchain_core.language_models import FakeListChatModel

from corpora import python_docs
from ragtune import RecursiveChunker
from ragtune.datasets import parse_faq
from ragtune.embeddings import HashingEmbeddings
from ragtune.evaluate import (
    AnswerSample,
    JudgeError,
    LexicalJudge,
    LLMJudge,
    answer_relevancy,
    average_precision,
    context_precision,
    context_recall,
    evaluate_answers,
    faithfulness,
    grounding_score,
    relevant_chunks,
)
from ragtune.raft import cot_from_answer


class ScriptedJudge:
    """Verdicts from tables, so every formula can be checked by hand."""

    def __init__(self, statements=(), supported=(), useful=(), questions=()):
        self._statements, self._supported = list(statements), set(supported)
        self._useful, self._questions = set(useful), list(questions)
        self.asked = 0

    def statements(self, question, answer):
        return list(self._statements)

    def verdicts(self, statements, context):
        return [s in self._supported for s in statements]

    def useful(self, question, context, answer):
        return context in self._useful

    def question_for(self, answer):
        question = self._questions[self.asked % len(self._questions)]
        self.asked += 1
        return question


def test_faithfulness_and_context_recall_are_supported_over_statements():
    judge = ScriptedJudge(statements=["a", "b", "c"], supported=["a", "c"])
    assert faithfulness("q", "answer", ["ctx"], judge=judge) == pytest.approx(2 / 3)
    assert context_recall("q", ["ctx"], "reference", judge=judge) == pytest.approx(2 / 3)
    assert math.isnan(faithfulness("q", "answer", ["ctx"], judge=ScriptedJudge()))
    assert math.isnan(context_recall("q", ["ctx"], "ref", judge=ScriptedJudge()))


@pytest.mark.parametrize("useful, expected", [
    ([1, 0, 1], (1 / 1 + 2 / 3) / (2 + 1e-10)),
    ([0, 0, 1], (1 / 3) / (1 + 1e-10)),
    ([0, 1, 1, 0, 1], (1 / 2 + 2 / 3 + 3 / 5) / (3 + 1e-10)),
    ([1, 1, 1], 3 / (3 + 1e-10)),
    ([0, 0], 0.0),
])
def test_context_precision_is_ragas_average_precision(useful, expected):
    # RAGAS: sum of precision@k over useful positions / (number useful + 1e-10)
    contexts = [f"c{n}" for n in range(len(useful))]
    judge = ScriptedJudge(useful=[c for c, u in zip(contexts, useful) if u])
    assert context_precision("q", contexts, "ref", judge=judge) == pytest.approx(expected, rel=1e-12)
    assert average_precision([bool(u) for u in useful]) == pytest.approx(expected, rel=1e-12)


def test_context_precision_without_reference_judges_against_the_answer():
    class Recorder(ScriptedJudge):
        def useful(self, question, context, answer):
            self.target = answer
            return True

    judge = Recorder()
    context_precision("q", ["c"], answer="the answer", judge=judge)
    assert judge.target == "the answer"
    with pytest.raises(ValueError, match="reference"):
        context_precision("q", ["c"], judge=judge)
    with pytest.raises(ValueError, match="at least one context"):
        context_precision("q", [], "ref", judge=judge)


def test_answer_relevancy_is_the_mean_cosine_gated_by_noncommittal():
    embedding = HashingEmbeddings(dim=128)
    question = "How do I copy a list in Python?"
    generated = ["How can a list be copied?", "What copies a Python list?", "Is there a list copy method?"]

    def cosine(a, b):
        a, b = np.asarray(a, float), np.asarray(b, float)
        return float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b)))

    expected = np.mean([cosine(embedding.embed_query(question), v) for v in embedding.embed_documents(generated)])
    judge = ScriptedJudge(questions=[(q, False) for q in generated])
    assert answer_relevancy(question, "Use list.copy().", judge=judge, embedding=embedding) == pytest.approx(expected)
    # RAGAS >= 0.3.6: zero only when every generation calls the answer noncommittal.
    some = ScriptedJudge(questions=[(generated[0], True), (generated[1], False), (generated[2], False)])
    assert answer_relevancy(question, "Maybe.", judge=some, embedding=embedding) == pytest.approx(expected)
    every = ScriptedJudge(questions=[(q, True) for q in generated])
    assert answer_relevancy(question, "I don't know.", judge=every, embedding=embedding) == 0.0
    empty = ScriptedJudge(questions=[("", False)])
    assert answer_relevancy(question, "...", judge=empty, embedding=embedding) == 0.0
    one = ScriptedJudge(questions=[(generated[0], False)])
    assert answer_relevancy(question, "x", judge=one, embedding=embedding, strictness=1) == pytest.approx(
        cosine(embedding.embed_query(question), embedding.embed_query(generated[0])))
    with pytest.raises(ValueError, match="strictness"):
        answer_relevancy(question, "x", judge=one, embedding=embedding, strictness=0)


def test_llm_judge_prompts_and_parsing_with_a_langchain_chat_model():
    replies = [
        'Sure!\n```json\n{"statements": ["Tuples are immutable.", "Lists are mutable."]}\n```',
        '{"verdicts": [{"statement": "Tuples are immutable.", "reason": "said", "verdict": 1},'
        ' {"statement": "Lists are mutable.", "reason": "absent", "verdict": 0}]}',
        '{"reason": "it states it", "verdict": "1"}',
        '{"question": "Are tuples immutable?", "noncommittal": 0}',
    ]
    judge = LLMJudge(FakeListChatModel(responses=replies))
    assert faithfulness("Are tuples mutable?", "Tuples are immutable; lists are not.", ["Tuples are immutable."],
                        judge=judge) == 0.5
    assert judge.useful("q", "c", "a") is True
    assert judge.question_for("Tuples are immutable.") == ("Are tuples immutable?", False)
    assert "LLMJudge(FakeListChatModel)" == repr(judge)


@pytest.mark.parametrize("reply, error", [
    ("no json here", "no JSON object"),
    ('{"statements": [1, 2]}', "list of statement strings"),
    ('{"statements": "one"}', "list of statement strings"),
    ('{"statements": ["a"', "not valid JSON"),
])
def test_llm_judge_refuses_unusable_statement_replies(reply, error):
    with pytest.raises(JudgeError, match=error):
        LLMJudge(lambda prompt: reply).statements("q", "a")


def test_llm_judge_refuses_wrong_verdicts():
    with pytest.raises(JudgeError, match="must return 2 verdicts"):
        LLMJudge(lambda p: '{"verdicts": [{"verdict": 1}]}').verdicts(["a", "b"], "ctx")
    with pytest.raises(JudgeError, match="1 or 0"):
        LLMJudge(lambda p: '{"verdicts": [{"verdict": "perhaps"}]}').verdicts(["a"], "ctx")
    with pytest.raises(JudgeError, match="question string"):
        LLMJudge(lambda p: '{"question": null}').question_for("a")
    with pytest.raises(TypeError, match="judge must provide"):
        faithfulness("q", "a", ["c"], judge=object())  # type: ignore[arg-type]


@pytest.fixture(scope="module")
def faq_answers():
    """Real FAQ answers with their oracle chunk and an unrelated chunk."""
    docs = {n: t for n, t in python_docs().items() if n.startswith("faq/")}
    chunker = RecursiveChunker(chunk_size=1500, chunk_overlap=0)
    chunks = [c for d in chunker.split_many(list(docs.values()), sources=list(docs)) for c in d]
    pairs = [p for name, text in docs.items() for p in parse_faq(text, source=name)]
    samples = []
    for n, pair in enumerate(pairs):
        held = [c for c in relevant_chunks(pair, chunks) if c.start <= pair.start and pair.end <= c.end]
        if held:
            samples.append((pair, held[0], chunks[(n * 37) % len(chunks)]))
    return samples


def test_lexical_judge_separates_oracles_from_unrelated_chunks_on_real_answers(faq_answers):
    judge = LexicalJudge()
    assert len(faq_answers) > 60
    with_oracle = [faithfulness(p.question, p.answer, [oracle.text], judge=judge) for p, oracle, _ in faq_answers]
    with_other = [faithfulness(p.question, p.answer, [other.text], judge=judge) for p, oracle, other in faq_answers
                  if other.source != p.source or not (other.start <= p.start < other.end)]
    assert np.nanmean(with_oracle) == 1.0  # the answer is inside its oracle chunk
    assert np.nanmean(with_other) < 0.5


def test_grounding_of_raft_answers_on_real_faq(faq_answers):
    for pair, oracle, other in faq_answers[:40]:
        cot = cot_from_answer(pair.answer)
        assert grounding_score(cot, [oracle.text]).quotes_found == grounding_score(cot, [oracle.text]).quotes
        grounded = grounding_score(cot, [oracle.text])
        assert grounded.quotes >= 1 and grounded.quotes_found == grounded.quotes
    made_up = grounding_score('The FAQ says "Python compiles to native code by default". It is fast.',
                              [faq_answers[0][1].text])
    assert made_up.quotes_found == 0 and made_up.score < 1 and made_up.unsupported
    assert math.isnan(grounding_score("", ["ctx"]).score)
    with pytest.raises(ValueError, match="min_overlap"):
        grounding_score("a", ["b"], min_overlap=0)
    with pytest.raises(ValueError, match="not valid UTF-8"):
        grounding_score(b"\xff", ["b"])  # type: ignore[arg-type]


def test_evaluate_answers_over_samples(faq_answers):
    samples = [AnswerSample(p.question, p.answer, [oracle.text, other.text], reference=p.answer)
               for p, oracle, other in faq_answers[:20]]
    samples.append({"question": "Is Python fast?", "answer": "I don't know.", "contexts": ["Python is a language."]})
    scores = evaluate_answers(samples, judge=LexicalJudge(), embedding=HashingEmbeddings(dim=256))
    assert set(scores.mean) == {"faithfulness", "answer_relevancy", "context_precision", "context_recall", "grounding"}
    assert scores["faithfulness"] > 0.9 and scores["context_recall"] > 0.9
    assert math.isnan(scores.per_sample[-1]["context_recall"])  # no reference: undefined, skipped in the mean
    assert scores.per_sample[-1]["answer_relevancy"] == 0.0  # noncommittal
    assert len(scores.to_pandas()) == 21 and "21 samples" in repr(scores)
    with pytest.raises(KeyError, match="lacks 'contexts'"):
        evaluate_answers([{"question": "q", "answer": "a"}], judge=LexicalJudge(), metrics=["grounding"])
    with pytest.raises(ValueError, match="unknown metric"):
        evaluate_answers(samples, judge=LexicalJudge(), metrics=["bleu"])
    with pytest.raises(ValueError, match="no samples"):
        evaluate_answers([], judge=LexicalJudge(), metrics=["grounding"])
