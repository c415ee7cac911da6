"""Fine-tuning: LoRA adapters trained on RAFT or chat data (torch + transformers + PEFT).

:func:`train_lora` trains and saves a PEFT adapter folder with ``training.json``
(:class:`TrainReport`); :class:`PromptRenderer` renders prompts the same way for
training and inference; :func:`as_conversations` reads every accepted form of data.
"""

from __future__ import annotations

from .conversations import Conversation, as_conversations, raft_from_prompt
from .render import CHATML, IGNORE_INDEX, Encoded, PromptRenderer
from .report import TrainReport
from .train import EXPLODING_LOSS_RATIO, TrainingDiverged, TrainingInterrupted, train_lora

__all__ = [
    "CHATML",
    "Conversation",
    "EXPLODING_LOSS_RATIO",
    "Encoded",
    "IGNORE_INDEX",
    "PromptRenderer",
    "TrainReport",
    "TrainingDiverged",
    "TrainingInterrupted",
    "as_conversations",
    "raft_from_prompt",
    "train_lora",
]
