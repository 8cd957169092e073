"""Training and the bot read a model's context window the same way (attributes, order, fallback)."""

from types import SimpleNamespace

import pytest

from bot.generator import DEFAULT_CONTEXT_WINDOW
from bot.generator import context_window as bot_context_window
from training.model.trainer import context_window

NO_LIMIT = int(1e30)  # what tokenizers without a limit report


def model_with(**config):
    return SimpleNamespace(config=SimpleNamespace(**config))


@pytest.mark.parametrize(("config", "tokenizer_limit", "expected"), [
    # A config may carry several of these (e.g. a window and a separate learned-position size);
    # the first in the bot's order wins.
    ({"n_positions": 1024, "max_position_embeddings": 2048}, NO_LIMIT, 2048),
    ({"n_ctx": 512, "n_positions": 1024}, NO_LIMIT, 1024),
    ({"seq_length": 4096}, NO_LIMIT, 4096),
    ({"n_ctx": 0, "seq_length": 300}, NO_LIMIT, 300),
    ({}, 640, 640),  # only the tokenizer knows
])
def test_training_and_the_bot_agree(config, tokenizer_limit, expected):
    model = model_with(**config)
    tokenizer = SimpleNamespace(model_max_length=tokenizer_limit)
    assert context_window(model, tokenizer) == expected
    assert bot_context_window(model, tokenizer) == expected


def test_nothing_known_leaves_max_length_alone():
    model = model_with(max_sequence_length=None)
    assert context_window(model, SimpleNamespace(model_max_length=NO_LIMIT)) is None
    assert context_window(model) is None
    # The bot then assumes its default; training keeps --max-length (512 by default) below it.
    assert bot_context_window(model, SimpleNamespace(model_max_length=NO_LIMIT)) >= 512
    assert DEFAULT_CONTEXT_WINDOW >= 512
