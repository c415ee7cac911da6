"""Tiny random causal LMs for the fine-tuning tests, with SmolLM2's real tokenizer and
chat template: training mechanics in seconds on the CPU."""

from __future__ import annotations

from pathlib import Path

import torch


def tiny_llama(out: Path, tokenizer_from: Path, *, hidden: int = 32, layers: int = 2, seed: int = 0,
               embedding_scale: float = 1.0, tied: bool = True) -> Path:
    """A randomly initialised Llama (tied embeddings) saved in safetensors with the tokenizer."""
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_from))
    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=hidden, intermediate_size=2 * hidden,
                         num_hidden_layers=layers, num_attention_heads=4, num_key_value_heads=2,
                         max_position_embeddings=2048, tie_word_embeddings=tied,
                         bos_token_id=tokenizer.bos_token_id, eos_token_id=tokenizer.eos_token_id)
    model = LlamaForCausalLM(config)
    with torch.no_grad():
        # Embeddings (tied to the output head) large enough that a frozen head can still
        # express a confident prediction: the tests must be able to learn something.
        model.get_input_embeddings().weight.mul_(embedding_scale)
    model.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    return out


def tiny_gpt2(out: Path, tokenizer_from: Path, *, seed: int = 0) -> Path:
    """A randomly initialised GPT-2 (Conv1D layers) with the same tokenizer."""
    from transformers import AutoTokenizer, GPT2Config, GPT2LMHeadModel

    tokenizer = AutoTokenizer.from_pretrained(str(tokenizer_from))
    torch.manual_seed(seed)
    GPT2LMHeadModel(GPT2Config(n_embd=32, n_layer=2, n_head=4, n_positions=2048, vocab_size=len(tokenizer))
                    ).save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    return out


def memory_pairs(count: int = 8) -> list[tuple[str, str]]:
    """Questions with arbitrary answers that only memorisation can produce."""
    names = ["Alpha", "Bravo", "Charlie", "Delta", "Echo", "Foxtrot", "Golf", "Hotel", "India", "Juliet"]
    return [(f"What is the code of {names[n]}?", f"The code of {names[n]} is {1000 + 37 * n}.")
            for n in range(count)]
