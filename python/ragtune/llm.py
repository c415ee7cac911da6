"""Calling an LLM, the one way ragtune does it: any ``prompt -> text`` callable or any
LangChain Runnable (a chat model, a chain). RAFT question and answer generation and
the LLM judge both go through :func:`as_completion`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def as_completion(llm: Any, system_prompt: str | None = None) -> Callable[[str], str]:
    """A ``prompt -> text`` function for ``llm``.

    A LangChain Runnable gets the system prompt (if any) and the prompt as messages;
    its reply's text is returned (content blocks joined). A plain callable gets the
    system prompt prepended to the prompt.

    Examples
    --------
    >>> ask = as_completion(lambda prompt: prompt.upper(), system_prompt="Be brief.")
    >>> ask("hello")
    'BE BRIEF.\\n\\nHELLO'
    """
    if hasattr(llm, "invoke"):
        def call(prompt: str) -> str:
            messages = ([("system", system_prompt)] if system_prompt else []) + [("human", prompt)]
            return reply_text(llm.invoke(messages))
        return call
    if callable(llm):
        return (lambda prompt: llm(f"{system_prompt}\n\n{prompt}")) if system_prompt else llm
    raise TypeError(f"llm must be a callable prompt -> str or a LangChain Runnable, got {type(llm).__name__}")


def reply_text(reply: Any) -> str:
    """The text of an LLM's reply: a message's ``content`` (text blocks joined when it
    is a list of content blocks), or the reply itself."""
    content = getattr(reply, "content", reply)
    if isinstance(content, list):
        return "".join(block if isinstance(block, str) else str(block.get("text", "")) if isinstance(block, dict)
                       else "" for block in content)
    return content if isinstance(content, str) else str(content)
