"""ragtune.finetune: masking, fitting, the training loop's results and its promises
(resume to the bit, PEFT round trips, merging), on tiny random models built here with
SmolLM2's real tokenizer and chat template."""

from __future__ import annotations

import contextlib
import json
import warnings

import numpy as np
import pytest
import torch
from finetune_models import memory_pairs, tiny_gpt2, tiny_llama

from ragtune.finetune import (
    CHATML,
    IGNORE_INDEX,
    PromptRenderer,
    TrainReport,
    as_conversations,
    raft_from_prompt,
    train_lora,
)
from ragtune.finetune.batches import epoch_batches
from ragtune.finetune.loss import plain_head, summed_loss


@pytest.fixture(scope="module")
def tokenizer(smollm2):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(str(smollm2))


@pytest.fixture(scope="module")
def tiny(tmp_path_factory, smollm2):
    return tiny_llama(tmp_path_factory.mktemp("tiny") / "llama", smollm2)


@contextlib.contextmanager
def _quiet_peft():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PEFT reads a property transformers 5 deprecates
        yield


def _answer_spans_by_tokens(ids: list[int], tokenizer) -> list[int]:
    """Labelled positions derived from the token ids alone: everything after each
    '<|im_start|>assistant\\n' up to and including the '<|im_end|>' and the newline after it."""
    start = tokenizer.convert_tokens_to_ids("<|im_start|>")
    end = tokenizer.convert_tokens_to_ids("<|im_end|>")
    header = tokenizer("assistant\n", add_special_tokens=False)["input_ids"]
    newline = tokenizer("\n", add_special_tokens=False)["input_ids"]
    labelled = []
    n = 0
    while n < len(ids):
        if ids[n] == start and ids[n + 1:n + 1 + len(header)] == header:
            n += 1 + len(header)
            while ids[n] != end:
                labelled.append(n)
                n += 1
            labelled.append(n)  # <|im_end|>
            if ids[n + 1:n + 1 + len(newline)] == newline:
                labelled.extend(range(n + 1, n + 1 + len(newline)))
        n += 1
    return labelled


def test_only_the_assistants_tokens_carry_the_loss(tokenizer):
    renderer = PromptRenderer(tokenizer)
    conversations = [
        [{"role": "user", "content": "What is 2+2?"}, {"role": "assistant", "content": "It is 4."}],
        [{"role": "system", "content": "Answer from the documents."},
         {"role": "user", "content": "<DOCUMENT>Tea is brewed.</DOCUMENT>\nHow is tea made?"},
         {"role": "assistant", "content": "##begin_quote##Tea is brewed.##end_quote## <ANSWER>: brewed"}],
        [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello!\nHow can I help?"},
         {"role": "user", "content": "Say 'assistant'"}, {"role": "assistant", "content": "assistant"}],
    ]
    for messages in conversations:
        encoded = renderer.encode(messages)
        # The ids are exactly what transformers' own chat templating produces.
        reference = tokenizer.apply_chat_template(messages, tokenize=True, return_dict=True)["input_ids"]
        assert encoded.input_ids == list(reference)
        labelled = [n for n, label in enumerate(encoded.labels) if label != IGNORE_INDEX]
        assert labelled == _answer_spans_by_tokens(encoded.input_ids, tokenizer)
        assert all(encoded.labels[n] == encoded.input_ids[n] for n in labelled)
        answers = "".join(m["content"] + "<|im_end|>\n" for m in messages if m["role"] == "assistant")
        assert tokenizer.decode([encoded.input_ids[n] for n in labelled]) == answers
    prompt = renderer.prompt(conversations[0])
    assert prompt.endswith("<|im_start|>assistant\n") and "It is 4." not in prompt


def test_templates_missing_or_rewriting_are_refused_with_the_fix(tokenizer):
    bare = tokenizer.__class__.from_pretrained(tokenizer.name_or_path)
    bare.chat_template = None
    with pytest.raises(ValueError, match="no chat template.*chat_template='chatml'"):
        PromptRenderer(bare)
    chatml = PromptRenderer(bare, chat_template="chatml")
    assert chatml.template == CHATML
    assert chatml.encode([{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]).target_tokens > 0
    last_only = PromptRenderer(bare, chat_template="{{ messages[-1]['content'] }}")
    with pytest.raises(ValueError, match="rewrites earlier turns"):
        last_only.encode([{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}])
    with pytest.raises(FileNotFoundError, match="chat template file"):
        PromptRenderer(bare, chat_template="no/such/template.jinja")


@pytest.mark.parametrize("kind", ["llama", "gpt2"])
def test_selective_head_loss_equals_the_models_own(tmp_path, smollm2, tokenizer, kind):
    folder = (tiny_llama if kind == "llama" else tiny_gpt2)(tmp_path / kind, smollm2)
    from transformers import AutoModelForCausalLM

    model = AutoModelForCausalLM.from_pretrained(str(folder)).eval()
    assert plain_head(model)
    renderer = PromptRenderer(tokenizer)
    from ragtune.finetune.batches import collate

    examples = [renderer.encode([{"role": "user", "content": q}, {"role": "assistant", "content": a}])
                for q, a in memory_pairs(3)] + [renderer.encode([{"role": "user", "content": "x " * 40},
                                                                  {"role": "assistant", "content": "y"}])]
    batch = {k: torch.from_numpy(v) for k, v in collate(examples, tokenizer.pad_token_id or 0).items()}
    with torch.no_grad():
        reference = model(**batch).loss
        selective, count = summed_loss(model, batch, selective=True)
        generic, _ = summed_loss(model, batch, selective=False)
    assert count == sum(e.target_tokens for e in examples) - 0  # every label sits after position 0
    assert torch.allclose(selective / count, reference, rtol=1e-5, atol=1e-6)
    assert torch.allclose(generic / count, reference, rtol=1e-5, atol=1e-6)


def test_length_grouping_cuts_padding_and_is_fixed_by_seed_and_epoch():
    rng = np.random.default_rng(0)
    lengths = rng.integers(50, 1000, size=400).tolist()

    def padding(batches):
        return sum(max(lengths[i] for i in b) * len(b) - sum(lengths[i] for i in b) for b in batches)

    grouped = epoch_batches(lengths, batch_size=4, seed=1, epoch=0)
    plain = epoch_batches(lengths, batch_size=4, seed=1, epoch=0, group_by_length=False)
    assert sorted(i for b in grouped for i in b) == list(range(400))
    assert padding(grouped) < 0.1 * padding(plain)
    assert grouped == epoch_batches(lengths, batch_size=4, seed=1, epoch=0)
    assert grouped != epoch_batches(lengths, batch_size=4, seed=1, epoch=1)


def test_every_data_form_gives_the_same_conversations(tmp_path):
    from ragtune.raft import RaftExample, write_jsonl

    examples = [RaftExample(f"q{n}", f"Question {n}?", [f"Oracle {n} says yes.", f"Other {n}."], ["a", "b"], [0],
                            f"##begin_quote##Oracle {n} says yes.##end_quote## <ANSWER>: yes {n}",
                            metadata={"oracle_ids": [f"doc{n}.rst#0"]}) for n in range(3)]
    direct = as_conversations(examples, system_prompt="Use the documents.")
    for fmt in ("hf", "chat", "completion"):
        path = tmp_path / f"{fmt}.jsonl"
        write_jsonl(examples, path, fmt, system_prompt="Use the documents." if fmt == "chat" else None)
        read = as_conversations(path, system_prompt="Use the documents.")
        assert [c.messages for c in read] == [c.messages for c in direct], fmt
        assert [c.raft.oracle_positions for c in read] == [[0]] * 3
        assert [c.raft.documents for c in read] == [e.documents for e in examples]
    from ragtune.raft import write_parquet

    write_parquet(examples, tmp_path / "chat.parquet", "chat", system_prompt="Use the documents.")
    assert [c.messages for c in as_conversations(tmp_path / "chat.parquet")] == [c.messages for c in direct]
    chat = {"messages": [{"role": "user", "content": "Q3?"}, {"role": "assistant", "content": "A3."}]}
    pairs = as_conversations([("Q?", "A."), {"prompt": "Q2?", "completion": "A2."}, chat])
    assert [c.messages[-1]["content"] for c in pairs] == ["A.", "A2.", "A3."]
    write_jsonl(examples, tmp_path / "eval.jsonl", "eval")
    with pytest.raises(ValueError, match="eval-format"):
        as_conversations(tmp_path / "eval.jsonl")
    (tmp_path / "latin1.jsonl").write_bytes('{"prompt": "café?", "completion": "oui"}\n'.encode("latin-1"))
    with pytest.raises(ValueError, match="not UTF-8"):
        as_conversations(tmp_path / "latin1.jsonl")
    (tmp_path / "broken.jsonl").write_text('{"messages": [{"role": "user", "content": "q"}]}\nnot json\n')
    with pytest.raises(ValueError, match="not a valid chat file.*not JSON"):
        as_conversations(tmp_path / "broken.jsonl")
    for bad, message in (([], "no examples"), ([("q", "")], "no text content"), ([42], "is a int"),
                         ([[{"role": "user", "content": "q"}]], "no assistant message"), ("nowhere.jsonl", "exist")):
        with pytest.raises((ValueError, TypeError, FileNotFoundError), match=message):
            as_conversations(bad)
    assert raft_from_prompt("no documents here", "##begin_quote##x##end_quote## <ANSWER>: x") is None


def test_raft_examples_are_fitted_by_cutting_distractors_only(tokenizer):
    from corpora import python_docs

    from ragtune import RecursiveChunker
    from ragtune.datasets import parse_faq
    from ragtune.finetune.fitting import encode_all
    from ragtune.raft import assemble

    docs = {k: v for k, v in python_docs().items() if k.startswith("faq/")}
    chunks = [c for d in RecursiveChunker(chunk_size=1500, chunk_overlap=0).split_many(
        list(docs.values()), sources=list(docs)) for c in d]
    pairs = [p for name, text in docs.items() for p in parse_faq(text, source=name)]
    data = assemble(chunks, pairs, distractors=4, p=1.0, seed=0)
    conversations = as_conversations(data)
    renderer = PromptRenderer(tokenizer)
    encodings, origins, report = encode_all(conversations, renderer, max_seq_len=1024)
    assert report.truncated > 10 and report.dropped_too_long > 0 and report.kept == len(encodings)
    assert report.kept + report.dropped_too_long == len(conversations)
    for encoded, n in zip(encodings, origins):
        assert len(encoded) <= 1024
        text = tokenizer.decode(encoded.input_ids)
        example = conversations[n].raft
        assert example.documents[example.oracle_positions[0]] in text  # the oracle whole
        assert example.cot_answer in text and example.question in text


def _write_chat(path, pairs):
    with open(path, "w", encoding="utf-8") as out:
        for q, a in pairs:
            out.write(json.dumps({"messages": [{"role": "user", "content": q}, {"role": "assistant", "content": a}]})
                      + "\n")
    return path


def test_a_memorisation_task_is_learned(tmp_path, smollm2, tokenizer):
    base = tiny_llama(tmp_path / "base", smollm2, hidden=64, embedding_scale=10.0, tied=False)
    report = train_lora(base, memory_pairs(), tmp_path / "out", max_steps=200, learning_rate=5e-3, r=16,
                        dropout=0.0, batch_size=8, warmup=0.1, scheduler="constant_with_warmup", eval_fraction=0,
                        threads=2, progress=False,
                        target_modules=["q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj",
                                        "lm_head"])
    assert report.status == "completed" and report.steps == 200
    assert report.final_loss < 0.01 * report.history[0]["loss"]
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    with _quiet_peft():
        model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(str(base)), str(tmp_path / "out")).eval()
    renderer = PromptRenderer(tokenizer)
    right = 0
    for question, answer in memory_pairs():
        ids = tokenizer(renderer.prompt([{"role": "user", "content": question}]), add_special_tokens=False,
                        return_tensors="pt").input_ids
        with torch.no_grad():
            out = model.generate(ids, max_new_tokens=16, do_sample=False,
                                 eos_token_id=tokenizer.convert_tokens_to_ids("<|im_end|>"))
        right += tokenizer.decode(out[0, ids.shape[1]:], skip_special_tokens=True).strip() == answer
    assert right >= 7, f"only {right} of 8 answers reproduced"
    saved = TrainReport.load(tmp_path / "out")
    assert saved.history == report.history and saved.config["r"] == 16
    import matplotlib

    matplotlib.use("Agg")
    assert saved.plot().axes


def test_adapter_round_trips_through_peft_and_merges_as_peft_does(tmp_path, tiny, tokenizer):
    from peft import PeftModel
    from safetensors.torch import load_file
    from transformers import AutoModelForCausalLM

    from ragtune.lora import merge

    pairs = memory_pairs(6)
    report = train_lora(tiny, pairs, tmp_path / "out", max_steps=6, learning_rate=5e-3, r=8, batch_size=2,
                        eval_fraction=0.34, threads=1, progress=False)
    assert report.eval_loss_before is not None and report.eval_loss_after is not None
    assert report.data["eval_examples"] == 2 and report.data["train_examples"] == 4
    ours = load_file(str(tmp_path / "out" / "adapter_model.safetensors"))
    assert any(k.endswith("lora_B.weight") and v.abs().sum() > 0 for k, v in ours.items())  # B moved off zero
    with _quiet_peft():
        loaded = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(str(tiny)), str(tmp_path / "out"))
        loaded.save_pretrained(str(tmp_path / "again"))
    again = load_file(str(tmp_path / "again" / "adapter_model.safetensors"))
    assert ours.keys() == again.keys() and all(torch.equal(ours[k], again[k]) for k in ours)

    merge(tiny, tmp_path / "out", tmp_path / "merged", progress=False)
    merged = load_file(str(tmp_path / "merged" / "model.safetensors"))
    with _quiet_peft():
        reference = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(str(tiny)),
                                              str(tmp_path / "out")).merge_and_unload().state_dict()
    for name, tensor in merged.items():
        assert torch.equal(tensor, reference[name]), name


def test_bad_input_is_refused_and_loses_nothing(tmp_path, tiny, smollm2):
    from transformers import BertConfig, BertModel

    data = memory_pairs(4)
    bert = tmp_path / "bert"
    BertModel(BertConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64,
                         vocab_size=100)).save_pretrained(str(bert))
    with pytest.raises(ValueError, match="not a causal language model"):
        train_lora(bert, data, tmp_path / "a", progress=False)
    pickle_base = tmp_path / "pickled"
    pickle_base.mkdir()
    (pickle_base / "config.json").write_text((tiny / "config.json").read_text())
    (pickle_base / "pytorch_model.bin").write_bytes(b"\x80\x04not really")
    with pytest.raises(ValueError, match="pickle"):
        train_lora(pickle_base, data, tmp_path / "b", progress=False)
    with pytest.raises(FileNotFoundError, match="does not exist"):
        train_lora(tmp_path / "missing", data, tmp_path / "c", progress=False)
    with pytest.raises(ValueError, match="no examples"):
        train_lora(tiny, [], tmp_path / "d", progress=False)
    with pytest.raises(ValueError, match="fits max_seq_len=16"):
        train_lora(tiny, data, tmp_path / "e", max_seq_len=16, progress=False)
    for name, value, message in (("r", 0, "r must be"), ("learning_rate", float("nan"), "finite"),
                                 ("batch_size", 2.5, "must be an int"), ("dtype", "fp16", "loss scaling"),
                                 ("device", "tpu", "device"), ("scheduler", "magic", "scheduler must")):
        with pytest.raises((ValueError, TypeError), match=message):
            train_lora(tiny, data, tmp_path / "f", progress=False, **{name: value})
    occupied = tmp_path / "occupied"
    occupied.mkdir()
    (occupied / "notes.txt").write_text("mine")
    with pytest.raises(FileExistsError, match="not empty"):
        train_lora(tiny, data, occupied, progress=False)
    assert (occupied / "notes.txt").read_text() == "mine"
    assert not (tmp_path / "a").exists() and not (tmp_path / "f").exists()  # refused before creating anything

    done = tmp_path / "done"
    train_lora(tiny, data, done, max_steps=2, eval_fraction=0, threads=1, progress=False)
    with pytest.raises(FileExistsError, match="already holds a trained adapter"):
        train_lora(tiny, data, done, max_steps=2, progress=False)


def test_a_diverging_run_stops_and_keeps_the_last_good_checkpoint(tmp_path, tiny):
    from ragtune.finetune import TrainingDiverged
    from ragtune.finetune.checkpoint import checkpoints, read_state

    with pytest.raises(TrainingDiverged, match="step .*(nan|inf|exploded).*last good checkpoint") as stopped:
        train_lora(tiny, memory_pairs(8), tmp_path / "out", max_steps=200, learning_rate=9.0, warmup=0,
                   max_grad_norm=0, batch_size=2, eval_fraction=0, checkpoint_every=1, threads=1, progress=False)
    kept = checkpoints(tmp_path / "out" / "checkpoints")
    assert kept and stopped.value.checkpoint == kept[-1]
    assert read_state(kept[-1])["step"] == stopped.value.report.steps
    assert not (tmp_path / "out" / "training.json").exists()
    from safetensors.torch import load_file

    adapter = load_file(str(kept[-1] / "adapter" / "adapter_model.safetensors"))
    assert all(torch.isfinite(t).all() for t in adapter.values())


def test_resuming_with_other_settings_is_refused(tmp_path, tiny):
    from ragtune.finetune.output import RUN_NAME, RunMismatch

    out = tmp_path / "out"
    out.mkdir()
    train_kwargs = dict(max_steps=3, eval_fraction=0, threads=1, progress=False)
    # A run that was killed before its first checkpoint leaves run.json behind.
    from ragtune.finetune.output import prepare

    prepare(out, {"config": {"r": 4}, "data": {}}, resume=True)
    assert (out / RUN_NAME).is_file()
    with pytest.raises(RunMismatch, match="other settings or data"):
        train_lora(tiny, memory_pairs(4), out, **train_kwargs)


def test_micro_batches_change_memory_not_the_step(tmp_path, tiny):
    """A batch run in pieces (gradients summed over the step's answer tokens) takes the
    step the whole batch takes (dropout off: no random draws to differ)."""
    from safetensors.torch import load_file

    pairs = [(q + " Explain at length." * (n % 3), a) for n, (q, a) in enumerate(memory_pairs(8))]
    common = dict(max_steps=3, learning_rate=1e-2, r=4, dropout=0.0, batch_size=4, eval_fraction=0, threads=1,
                  progress=False)
    whole = train_lora(tiny, pairs, tmp_path / "whole", micro_batch_tokens=None, **common)
    pieces = train_lora(tiny, pairs, tmp_path / "pieces", micro_batch_tokens=1, **common)
    assert pieces.padded_tokens == pieces.useful_tokens < whole.padded_tokens  # one example a pass: no padding
    a, b = (load_file(str(tmp_path / n / "adapter_model.safetensors")) for n in ("whole", "pieces"))
    assert all(torch.allclose(a[k], b[k], rtol=1e-4, atol=1e-6) for k in a)
    assert [round(h["loss"], 4) for h in whole.history] == [round(h["loss"], 4) for h in pieces.history]
