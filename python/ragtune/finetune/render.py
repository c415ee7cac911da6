"""One prompt renderer for training and inference: the tokenizer's chat template.

Training and generation must see the same text around a question, or the adapter
learns a layout it is never shown again. :class:`PromptRenderer` renders both: whole
conversations with the assistant's tokens marked for the loss, and prompts that end
where the assistant's answer begins.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

IGNORE_INDEX = -100  # the label PyTorch's cross-entropy (and transformers) skips

#: ChatML (``<|im_start|>role ... <|im_end|>``): a template for tokenizers that ship none.
CHATML = (
    "{% for message in messages %}{{ '<|im_start|>' + message['role'] + '\\n' + message['content'] + "
    "'<|im_end|>' + '\\n' }}{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}"
)


@dataclass(frozen=True, slots=True)
class Encoded:
    """A rendered conversation: token ids, and labels that equal the ids on the
    assistant's tokens and ``-100`` everywhere else."""

    input_ids: list[int]
    labels: list[int]

    def __len__(self) -> int:
        return len(self.input_ids)

    @property
    def target_tokens(self) -> int:
        return sum(label != IGNORE_INDEX for label in self.labels)


def resolve_template(chat_template: str | os.PathLike[str] | None) -> str | None:
    """``chat_template=``: None, ``"chatml"``, a path to a Jinja file, or the template itself."""
    if chat_template is None:
        return None
    if isinstance(chat_template, os.PathLike) or (isinstance(chat_template, str) and "{" not in chat_template
                                                  and chat_template != "chatml"):
        path = Path(chat_template)
        if not path.is_file():
            raise FileNotFoundError(f"chat template file {path} does not exist (or give the Jinja text itself, "
                                    "or 'chatml')")
        return path.read_text(encoding="utf-8")
    if not isinstance(chat_template, str):
        raise TypeError(f"chat_template must be a Jinja string, a file path or 'chatml', got {type(chat_template)}")
    return CHATML if chat_template == "chatml" else chat_template


class PromptRenderer:
    """Renders chat messages with a tokenizer's chat template (or one you pass).

    Parameters
    ----------
    tokenizer : a fast Hugging Face tokenizer
    chat_template : overrides the tokenizer's template: Jinja text, a file path, or
        ``"chatml"``; needed when the tokenizer has none

    Examples
    --------
    >>> renderer = PromptRenderer(tokenizer)                                   # doctest: +SKIP
    >>> encoded = renderer.encode([{"role": "user", "content": "Hi"},
    ...                            {"role": "assistant", "content": "Hello!"}])  # doctest: +SKIP
    >>> tokenizer.decode([t for t, l in zip(encoded.input_ids, encoded.labels) if l != -100])  # doctest: +SKIP
    'Hello!<|im_end|>\\n'
    >>> renderer.prompt([{"role": "user", "content": "Hi"}])                   # doctest: +SKIP
    '<|im_start|>system\\n...<|im_end|>\\n<|im_start|>user\\nHi<|im_end|>\\n<|im_start|>assistant\\n'
    """

    def __init__(self, tokenizer: Any, *, chat_template: str | os.PathLike[str] | None = None) -> None:
        if not callable(getattr(tokenizer, "apply_chat_template", None)):
            raise TypeError(f"tokenizer must be a Hugging Face tokenizer, got {type(tokenizer).__name__}")
        if not getattr(tokenizer, "is_fast", False):
            raise TypeError("a fast tokenizer is needed (for token offsets): load it with "
                            "AutoTokenizer.from_pretrained")
        self.tokenizer = tokenizer
        self.template = resolve_template(chat_template) or getattr(tokenizer, "chat_template", None)
        if not self.template:
            name = getattr(tokenizer, "name_or_path", "") or type(tokenizer).__name__
            raise ValueError(
                f"the tokenizer of {name} has no chat template, so ragtune cannot tell where the assistant's "
                "answer starts; pass chat_template='chatml' (ragtune.finetune.CHATML), a Jinja template string, "
                "or a path to a .jinja file (on the command line: --chat-template)")

    def text(self, messages: Sequence[dict[str, str]], *, add_generation_prompt: bool = False) -> str:
        """The conversation as the template writes it."""
        return self.tokenizer.apply_chat_template(list(messages), chat_template=self.template, tokenize=False,
                                                  add_generation_prompt=add_generation_prompt)

    def prompt(self, messages: Sequence[dict[str, str]]) -> str:
        """The text a model continues to answer: the messages (without a final assistant
        turn), then the template's generation prompt. Tokenise it with
        ``add_special_tokens=False``, as training does."""
        messages = list(messages)
        if messages and messages[-1].get("role") == "assistant":
            messages = messages[:-1]
        return self.text(messages, add_generation_prompt=True)

    def assistant_spans(self, messages: Sequence[dict[str, str]]) -> tuple[str, list[tuple[int, int]]]:
        """The whole text, and the character span of every assistant turn in it: from
        the end of the generation prompt to the end of the turn (the end-of-turn tokens
        included, so the model learns to stop)."""
        messages = list(messages)
        full = self.text(messages)
        spans = []
        for n, message in enumerate(messages):
            if message["role"] != "assistant":
                continue
            before = self.text(messages[:n], add_generation_prompt=True) if n else ""
            through = self.text(messages[: n + 1])
            if not (through.startswith(before) and full.startswith(through)) or len(through) <= len(before):
                raise ValueError(
                    "this chat template renders a conversation differently from its beginning (it rewrites "
                    "earlier turns), so the assistant's tokens cannot be located; pass chat_template= with a "
                    "template that only appends (e.g. 'chatml')")
            spans.append((len(before), len(through)))
        return full, spans

    def encode(self, messages: Sequence[dict[str, str]]) -> Encoded:
        """Token ids of the whole conversation; labels on the assistant's tokens only."""
        full, spans = self.assistant_spans(messages)
        encoding = self.tokenizer(full, add_special_tokens=False, return_offsets_mapping=True)
        ids = list(encoding["input_ids"])
        labels = [IGNORE_INDEX] * len(ids)
        for n, (start, _) in enumerate(encoding["offset_mapping"]):
            # A token belongs to the answer when it starts inside an assistant span.
            if any(a <= start < b for a, b in spans):
                labels[n] = ids[n]
        return Encoded(ids, labels)
