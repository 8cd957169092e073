"""The loss on persona tokens without the vocabulary projection of every other position.

A causal LM's head maps each position's hidden state (H) to logits over the vocabulary (V). Only
labelled positions (the persona's reply, ~15% of a Discord example's tokens) enter the loss, yet
`model(labels=...)` projects all of them: for SmolLM2 (V=49k, H=576) the head is a fifth of the
forward pass, for a small GPT-2 with the same vocabulary most of it. Here the transformer body runs
as usual and the head only sees the labelled positions; the loss is the same number.

Used for model families whose logits are exactly `head(body(x))` (no logit scaling or
soft-capping), on one process; otherwise training falls back to the model's own loss.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from training.model.features import IGNORE_INDEX

# Families checked to compute logits as plain `lm_head(last_hidden_state)`.
PLAIN_HEAD_MODELS = {"gpt2", "llama", "mistral", "qwen2", "qwen3"}


def supports_sparse_head(model) -> bool:
    """True for a plain (un-wrapped by DDP) model of a family with a plain head."""
    inner = model.get_base_model() if hasattr(model, "get_base_model") else model  # peft
    return (
        getattr(inner.config, "model_type", None) in PLAIN_HEAD_MODELS
        and hasattr(inner, "get_decoder")
        and not isinstance(model, torch.nn.parallel.DistributedDataParallel)
    )


def sparse_head_loss(model, batch: dict, num_items_in_batch=None) -> torch.Tensor:
    """Mean cross-entropy over labelled tokens, projecting only their positions to logits.

    Divides by `num_items_in_batch` when the Trainer gives it (the label count over all the
    gradient-accumulation batches), exactly as the model's own loss does.
    """
    inner = model.get_base_model() if hasattr(model, "get_base_model") else model
    hidden = inner.get_decoder()(
        input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]
    ).last_hidden_state  # (B, T, H)
    targets = batch["labels"][:, 1:]  # position t predicts token t+1: (B, T-1)
    keep = targets != IGNORE_INDEX  # (B, T-1)
    picked = hidden[:, :-1][keep]  # (N, H), N = labelled tokens in the batch
    logits = inner.get_output_embeddings()(picked).float()  # (N, V)
    total = F.cross_entropy(logits, targets[keep], reduction="sum")
    count = num_items_in_batch if num_items_in_batch is not None else keep.sum()
    return total / torch.clamp(torch.as_tensor(count, device=total.device), min=1)
