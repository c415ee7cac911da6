"""ragtune inside LangChain pipelines. Needs ``pip install ragtune[langchain]``.

Changing one import line is the whole migration::

    # from langchain_text_splitters import RecursiveCharacterTextSplitter
    from ragtune.integrations.langchain import RecursiveCharacterTextSplitter
"""

from __future__ import annotations

from .text_splitter import RecursiveCharacterTextSplitter

__all__ = ["RecursiveCharacterTextSplitter"]
