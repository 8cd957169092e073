"""The sparse-head loss is the model's own loss, computed with fewer vocabulary projections."""

import pytest
import torch
from transformers import GPT2Config, GPT2LMHeadModel, LlamaConfig, LlamaForCausalLM

from training.model.collate import PadCollator
from training.model.sparse_head import sparse_head_loss, supports_sparse_head


def batch():
    features = [
        {"input_ids": [5, 6, 7, 8, 9, 2], "labels": [-100, -100, -100, 8, 9, 2]},
        {"input_ids": [10, 11, 12, 2], "labels": [-100, -100, 12, 2]},
    ]
    return PadCollator(pad_token_id=1)(features)


@pytest.mark.parametrize(
    "model",
    [
        GPT2LMHeadModel(GPT2Config(vocab_size=32, n_layer=1, n_head=2, n_embd=16)),
        LlamaForCausalLM(LlamaConfig(vocab_size=32, hidden_size=16, intermediate_size=32,
                                     num_hidden_layers=1, num_attention_heads=2,
                                     num_key_value_heads=2)),  # fmt: skip
    ],
    ids=["gpt2", "llama"],
)
def test_sparse_head_loss_equals_the_models_loss(model):
    torch.manual_seed(0)
    model.eval()
    inputs = batch()
    assert supports_sparse_head(model)
    with torch.no_grad():
        full = model(**inputs).loss
        sparse = sparse_head_loss(model, inputs)
        # With the Trainer's label count (here: the same batch), the same number again.
        counted = sparse_head_loss(model, inputs, num_items_in_batch=torch.tensor(5))
    assert sparse.item() == pytest.approx(full.item(), rel=1e-5)
    assert counted.item() == pytest.approx(full.item(), rel=1e-5)


def test_unknown_families_use_the_models_own_loss():
    model = GPT2LMHeadModel(GPT2Config(vocab_size=32, n_layer=1, n_head=2, n_embd=16))
    model.config.model_type = "gemma2"  # soft-capped logits: the head is not plain
    assert not supports_sparse_head(model)
