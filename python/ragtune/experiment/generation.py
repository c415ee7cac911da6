"""Answering questions with a model: a local Hugging Face causal LM (batched greedy
decoding, left padding, KV cache, the chat template training used) or any LangChain
chat model. Every answer carries the time it took."""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tqdm.auto import tqdm

from .._inputs import as_int, as_threads
from ..llm import reply_text

Messages = Sequence[dict[str, str]]


@dataclass(frozen=True, slots=True)
class Generation:
    """One answer. ``seconds`` is its share of its batch's wall time (batch time ×
    its new tokens / the batch's new tokens); for a chat model, the call's time."""

    text: str
    seconds: float
    new_tokens: int = 0
    prompt_tokens: int = 0


class LocalGenerator:
    """Greedy answers from a local causal LM folder, optionally with a LoRA adapter.

    Parameters
    ----------
    model : a folder with a causal LM in safetensors and its tokenizer; default
        SmolLM2-135M-Instruct (``ragtune.datasets.smollm2_checkpoint()``)
    adapter : a PEFT adapter folder (e.g. from ``train_lora``), merged in memory
    batch_size : prompts decoded together (sorted by length, left-padded)
    max_new_tokens : the longest answer
    chat_template : as for training, for tokenizers without one

    Examples
    --------
    >>> generator = LocalGenerator(max_new_tokens=32)                          # doctest: +SKIP
    >>> generator.generate([[{"role": "user", "content": "What is Python?"}]])[0].text  # doctest: +SKIP
    'Python is a programming language ...'
    """

    def __init__(self, model: str | os.PathLike[str] | None = None, *, adapter: str | os.PathLike[str] | None = None,
                 device: Any = "auto", dtype: str = "auto", batch_size: int = 8, max_new_tokens: int = 128,
                 chat_template: str | os.PathLike[str] | None = None, threads: int = 0) -> None:
        import torch

        from ..finetune.device import resolve_device, resolve_dtype
        from ..finetune.model import check_base, load_model, load_tokenizer
        from ..finetune.render import PromptRenderer

        self.batch_size = as_int(batch_size, name="batch_size", minimum=1, maximum=4096)
        self.max_new_tokens = as_int(max_new_tokens, name="max_new_tokens", minimum=1, maximum=1 << 16)
        self.threads = as_threads(threads)
        if model is None:
            from ..datasets import smollm2_checkpoint

            model = smollm2_checkpoint()
        self.folder = check_base(model)
        self.tokenizer = load_tokenizer(self.folder)
        self.tokenizer.padding_side = "left"  # new tokens must follow every prompt directly
        self.renderer = PromptRenderer(self.tokenizer, chat_template=chat_template)
        self.device = resolve_device(device)
        loaded = load_model(self.folder, dtype=resolve_dtype(dtype, self.device), device=self.device)
        self.adapter = None if adapter is None else Path(adapter)
        if self.adapter is not None:
            from peft import PeftModel

            if not (self.adapter / "adapter_config.json").is_file():
                raise FileNotFoundError(f"{self.adapter} is not a PEFT adapter folder (no adapter_config.json)")
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*is_gradient_checkpointing.*", category=FutureWarning)
                loaded = PeftModel.from_pretrained(loaded, str(self.adapter)).merge_and_unload()
        self.model = loaded.eval()
        stops = self.model.generation_config.eos_token_id
        stops = set(stops if isinstance(stops, list) else [stops] if stops is not None else [])
        if self.tokenizer.eos_token_id is not None:
            stops.add(self.tokenizer.eos_token_id)
        self._stop_ids = sorted(stops)
        self._torch = torch

    def __repr__(self) -> str:
        adapter = f", adapter={str(self.adapter)!r}" if self.adapter else ""
        return (f"LocalGenerator({self.folder.name!r}{adapter}, device={str(self.device)!r}, "
                f"batch_size={self.batch_size}, max_new_tokens={self.max_new_tokens})")

    def generate(self, conversations: Sequence[Messages], *, progress: bool = True) -> list[Generation]:
        """The answer to each conversation (its last turn is the user's), in order."""
        from transformers import GenerationConfig

        from ..finetune.device import torch_threads

        prompts = [self.renderer.prompt(list(messages)) for messages in conversations]
        encoded = [self.tokenizer(p, add_special_tokens=False)["input_ids"] for p in prompts]
        order = sorted(range(len(encoded)), key=lambda i: -len(encoded[i]))
        config = GenerationConfig(max_new_tokens=self.max_new_tokens, do_sample=False, eos_token_id=self._stop_ids,
                                  pad_token_id=self.tokenizer.pad_token_id, use_cache=True)
        out: list[Generation | None] = [None] * len(prompts)
        torch = self._torch
        with torch_threads(self.threads), torch.inference_mode():
            bar = tqdm(total=len(prompts), desc="generating", unit="answer", disable=not progress)
            for start in range(0, len(order), self.batch_size):
                members = order[start:start + self.batch_size]
                batch = self.tokenizer.pad({"input_ids": [encoded[i] for i in members]}, return_tensors="pt")
                batch = {k: v.to(self.device) for k, v in batch.items()}
                began = time.perf_counter()
                generated = self.model.generate(**batch, generation_config=config)
                seconds = time.perf_counter() - began
                new = generated[:, batch["input_ids"].shape[1]:]
                lengths = [int(self._length(row)) for row in new]
                total = max(1, sum(lengths))
                for row, i, length in zip(new, members, lengths):
                    text = self.tokenizer.decode(row[:length], skip_special_tokens=True).strip()
                    out[i] = Generation(text, seconds * max(1, length) / total, length, len(encoded[i]))
                bar.update(len(members))
            bar.close()
        return [g for g in out if g is not None]

    def _length(self, row: Any) -> int:
        """New tokens up to and including the first stop token (padding after it excluded)."""
        for position, token in enumerate(row.tolist()):
            if token in self._stop_ids:
                return position + 1
        return len(row)


class ChatModelGenerator:
    """Answers from any LangChain chat model (``invoke`` per question, timed).

    Examples
    --------
    >>> from langchain_core.language_models import FakeListChatModel
    >>> generator = ChatModelGenerator(FakeListChatModel(responses=["Paris."]))
    >>> generator.generate([[{"role": "user", "content": "Capital of France?"}]], progress=False)[0].text
    'Paris.'
    """

    def __init__(self, chat_model: Any) -> None:
        if not callable(getattr(chat_model, "invoke", None)):
            raise TypeError(f"chat_model must be a LangChain chat model (with invoke), got {type(chat_model).__name__}")
        self.chat_model = chat_model

    def __repr__(self) -> str:
        return f"ChatModelGenerator({type(self.chat_model).__name__})"

    def generate(self, conversations: Sequence[Messages], *, progress: bool = True) -> list[Generation]:
        from langchain_core.messages import AIMessage, HumanMessage, SystemMessage

        kinds = {"system": SystemMessage, "user": HumanMessage, "assistant": AIMessage}
        out = []
        for messages in tqdm(conversations, desc="generating", unit="answer", disable=not progress):
            began = time.perf_counter()
            reply = self.chat_model.invoke([kinds[m["role"]](content=m["content"]) for m in messages])
            content = reply_text(reply)
            out.append(Generation(content.strip(), time.perf_counter() - began))
        return out
