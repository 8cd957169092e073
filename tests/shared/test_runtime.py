"""catgpt.runtime: the one reading of a model's context window and device, for both halves."""

from types import SimpleNamespace

import pytest

from catgpt.runtime import DEFAULT_CONTEXT_WINDOW, DeviceUnavailable, context_window, pick_device

NO_LIMIT = int(1e30)  # what tokenizers without a limit report


def model_with(**config):
    return SimpleNamespace(config=SimpleNamespace(**config))


@pytest.mark.parametrize(("config", "tokenizer_limit", "expected"), [
    # A config may carry several of these (e.g. a window and a separate learned-position size);
    # the first in the order wins.
    ({"n_positions": 1024, "max_position_embeddings": 2048}, NO_LIMIT, 2048),
    ({"n_ctx": 512, "n_positions": 1024}, NO_LIMIT, 1024),
    ({"seq_length": 4096}, NO_LIMIT, 4096),
    ({"n_ctx": 0, "seq_length": 300}, NO_LIMIT, 300),
    ({}, 640, 640),  # only the tokenizer knows
])
def test_the_window_comes_from_config_then_tokenizer(config, tokenizer_limit, expected):
    model = model_with(**config)
    tokenizer = SimpleNamespace(model_max_length=tokenizer_limit)
    assert context_window(model, tokenizer) == expected


def test_nothing_known_leaves_max_length_alone():
    model = model_with(max_sequence_length=None)
    assert context_window(model, SimpleNamespace(model_max_length=NO_LIMIT)) is None
    assert context_window(model) is None
    # The bot then assumes its default; training keeps --max-length (512 by default) below it.
    assert DEFAULT_CONTEXT_WINDOW >= 512


def test_the_bot_and_training_use_this_one_definition():
    from catgpt import generator
    from training.model import trainer

    assert trainer.context_window is context_window
    assert generator.runtime.context_window is context_window
    assert trainer.pick_device is pick_device


def test_an_accelerator_that_is_not_here_is_refused(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(DeviceUnavailable, match="CUDA"):
        pick_device("cuda:1")
    assert pick_device("cpu").type == "cpu"
    assert pick_device("auto").type in {"cpu", "mps"}
