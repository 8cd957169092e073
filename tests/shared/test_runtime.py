"""catgpt.runtime: the one reading of a model's context window and device, for both halves."""

from types import SimpleNamespace

import pytest

from catgpt.folder import config_window, folder_window
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


@pytest.mark.parametrize(("config", "expected"), [
    ({"n_positions": 1024, "max_position_embeddings": 2048}, 2048),
    ({"n_ctx": 0, "seq_length": 300}, 300),
    ({"architectures": ["X"], "text_config": {"max_position_embeddings": 4096}}, 4096),
    ({"max_position_embeddings": 512, "text_config": {"max_position_embeddings": 4096}}, 512),
])
def test_config_json_reads_as_the_loaded_config_does(config, expected):
    """The remote backend reads config.json (no torch); the local one the loaded config."""
    tokenizer = SimpleNamespace(model_max_length=NO_LIMIT)
    loaded = SimpleNamespace(
        **{k: SimpleNamespace(**v) if isinstance(v, dict) else v for k, v in config.items()}
    )
    assert config_window(config, tokenizer) == expected
    assert context_window(SimpleNamespace(config=loaded), tokenizer) == expected


def test_a_folder_without_config_json_gets_the_default_window(tmp_path):
    assert folder_window(tmp_path) == DEFAULT_CONTEXT_WINDOW
    assert folder_window(tmp_path, SimpleNamespace(model_max_length=640)) == 640
    (tmp_path / "config.json").write_text('{"n_positions": 128}')
    assert folder_window(tmp_path) == 128


def test_nothing_known_leaves_max_length_alone():
    model = model_with(max_sequence_length=None)
    assert context_window(model, SimpleNamespace(model_max_length=NO_LIMIT)) is None
    assert context_window(model) is None
    # The bot then assumes its default; training keeps --max-length (512 by default) below it.
    assert DEFAULT_CONTEXT_WINDOW >= 512


def test_the_bot_and_training_use_this_one_definition():
    from catgpt import local_backend
    from training.model import trainer

    assert trainer.context_window is context_window
    assert local_backend.runtime.context_window is context_window
    assert trainer.pick_device is pick_device


def test_an_accelerator_that_is_not_here_is_refused(monkeypatch):
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(DeviceUnavailable, match="CUDA"):
        pick_device("cuda:1")
    assert pick_device("cpu").type == "cpu"
    assert pick_device("auto").type in {"cpu", "mps"}
