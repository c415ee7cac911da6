"""The parts of the head-to-head experiment: answer scores with intervals and paired
differences, and generation with a local model or a LangChain chat model."""

from __future__ import annotations

import numpy as np
import pytest

from ragtune.experiment import (
    ChatModelGenerator,
    LocalGenerator,
    bootstrap_interval,
    exact_match,
    normalize_answer,
    paired_difference,
    token_f1,
)


def test_answer_scores():
    assert normalize_answer("  The Answer, is: `42`!  ") == "answer is 42"
    assert exact_match("An apple.", "apple") == 1.0 and exact_match("apples", "apple") == 0.0
    assert token_f1("", "") == 1.0 and token_f1("x", "") == 0.0 and token_f1("a b", "c d") == 0.0
    assert token_f1("use py hello.py", "type py hello.py") == pytest.approx(2 / 3)
    assert token_f1("a b c", "c b a") == 1.0  # bag of tokens
    assert token_f1("b b", "b") == pytest.approx(2 * 0.5 * 1 / 1.5)  # repeated tokens count once each
    with pytest.raises(TypeError):
        token_f1(None, "x")


def test_intervals_cover_the_mean_and_shrink_with_more_questions():
    rng = np.random.default_rng(0)
    small, large = rng.random(20), rng.random(2000)
    a, b = bootstrap_interval(small, seed=1), bootstrap_interval(large, seed=1)
    assert a.low <= a.mean <= a.high and b.low <= b.mean <= b.high
    assert (b.high - b.low) < 0.3 * (a.high - a.low)
    assert bootstrap_interval(small, seed=1) == a  # seeded
    constant = bootstrap_interval([0.5] * 10)
    assert constant.low == constant.high == constant.mean == 0.5
    for bad in ([], [float("nan")], [1.0, float("inf")]):
        with pytest.raises(ValueError):
            bootstrap_interval(bad)


def test_paired_differences_see_what_unpaired_means_hide():
    # Questions differ a lot in difficulty; arm a beats b by a little on every one of them.
    rng = np.random.default_rng(3)
    difficulty = rng.random(60)
    b = difficulty
    a = difficulty + 0.02
    paired = paired_difference(a, b)
    assert paired.excludes_zero and paired.low > 0 and paired.mean == pytest.approx(0.02)
    separate = bootstrap_interval(a, seed=0), bootstrap_interval(b, seed=0)
    assert separate[0].low < separate[1].high  # the two intervals overlap: unpaired, no verdict
    same = paired_difference(b, b)
    assert same.mean == 0 and not same.excludes_zero
    with pytest.raises(ValueError, match="same questions"):
        paired_difference([1, 2], [1, 2, 3])


def test_local_generation_is_greedy_batched_timed_and_order_preserving(smollm2):
    generator = LocalGenerator(smollm2, max_new_tokens=12, batch_size=3, threads=2)
    questions = ["What is Python?", "Name a prime number.", "How do I read a file line by line in Python?",
                 "Why is the sky blue?"]
    conversations = [[{"role": "user", "content": q}] for q in questions]
    batched = generator.generate(conversations, progress=False)
    generator.batch_size = 1
    alone = generator.generate(conversations, progress=False)
    assert [g.text for g in batched] == [g.text for g in alone]  # left padding changes nothing
    assert all(0 < g.new_tokens <= 12 and g.seconds > 0 and g.text for g in batched)
    assert [g.prompt_tokens for g in batched] == [g.prompt_tokens for g in alone]
    assert "LocalGenerator(" in repr(generator)


def test_generation_with_an_adapter_and_bad_input(tmp_path, smollm2):
    from finetune_models import memory_pairs, tiny_llama

    from ragtune.finetune import train_lora

    base = tiny_llama(tmp_path / "base", smollm2)
    train_lora(base, memory_pairs(4), tmp_path / "adapter", max_steps=2, eval_fraction=0, threads=1, progress=False)
    generator = LocalGenerator(base, adapter=tmp_path / "adapter", max_new_tokens=4, threads=1)
    assert len(generator.generate([[{"role": "user", "content": "hi"}]], progress=False)) == 1
    with pytest.raises(FileNotFoundError, match="not a PEFT adapter"):
        LocalGenerator(base, adapter=tmp_path)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        LocalGenerator(tmp_path / "nowhere")
    with pytest.raises(ValueError, match="max_new_tokens"):
        LocalGenerator(base, max_new_tokens=0)


def test_chat_model_generation():
    from langchain_core.language_models import FakeListChatModel

    generator = ChatModelGenerator(FakeListChatModel(responses=[" one ", "two"]))
    answers = generator.generate([[{"role": "system", "content": "s"}, {"role": "user", "content": "q1"}],
                                  [{"role": "user", "content": "q2"}]], progress=False)
    assert [a.text for a in answers] == ["one", "two"] and all(a.seconds >= 0 for a in answers)
    with pytest.raises(TypeError, match="LangChain chat model"):
        ChatModelGenerator(object())
