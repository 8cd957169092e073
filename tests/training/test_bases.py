"""Resolving --base: tiny, folders, unknown names, and a hub that cannot be reached."""

import time

import pytest
import torch

from training.bases import build_tiny, load_base, tiny_config, tiny_init
from training.errors import ModelError


def test_unknown_base_is_a_clear_error():
    with pytest.raises(ModelError, match="unknown base"):
        load_base("not a model!")


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(ModelError, match="no such model folder"):
        load_base(str(tmp_path / "nope"))


def test_folder_without_config_is_a_clear_error(tmp_path):
    with pytest.raises(ModelError, match="no config.json"):
        load_base(str(tmp_path))


def test_hub_offline_fails_fast(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    started = time.monotonic()
    with pytest.raises(ModelError, match="hub is unreachable") as caught:
        load_base("catgpt-test/surely-not-cached")
    assert time.monotonic() - started < 10
    assert "--base smollm2" in str(caught.value)


def test_hub_unreachable_fails_fast_without_retries(monkeypatch):
    # A closed local port: the connection is refused at once, as on a machine without network.
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "http://127.0.0.1:9")
    started = time.monotonic()
    with pytest.raises(ModelError, match="hub is unreachable"):
        load_base("catgpt-test/surely-not-cached")
    assert time.monotonic() - started < 10


def test_tiny_init_is_rebuilt_exactly_from_config_and_seed():
    base = build_tiny(["nya~ hello", "alice: hi"] * 5, seed=7)
    again = tiny_init(tiny_config(base.tokenizer), seed=7)
    other = tiny_init(tiny_config(base.tokenizer), seed=8)
    first = base.model.state_dict()
    assert all(torch.equal(first[k], v) for k, v in again.state_dict().items())
    assert not all(torch.equal(first[k], v) for k, v in other.state_dict().items())
