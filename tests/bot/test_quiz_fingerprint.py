"""The model fingerprint: stable across loads and copies, changed by new weights or card."""

from __future__ import annotations

import json
import shutil

import pytest
import torch
from safetensors.torch import save_file

from bot.quiz.fingerprint import model_fingerprint


def folder_with(tmp_path, name: str, weights: dict, card: dict | None = None):
    folder = tmp_path / name
    folder.mkdir()
    save_file(weights, str(folder / "model.safetensors"))
    (folder / "catgpt.json").write_text(json.dumps(card or {"persona": {"name": "mochi"}}))
    return folder


@pytest.fixture
def weights():
    torch.manual_seed(0)
    return {"wte": torch.randn(300, 64), "lm_head": torch.randn(64, 300)}


def test_the_same_across_loads_and_copies(tmp_path, weights):
    folder = folder_with(tmp_path, "a", weights)
    first = model_fingerprint(folder)
    assert first == model_fingerprint(folder) == model_fingerprint(str(folder))
    copy = tmp_path / "copy"
    shutil.copytree(folder, copy)
    assert model_fingerprint(copy) == first
    assert len(first) == 16 and int(first, 16) >= 0


def test_new_weights_of_the_same_shape_change_it(tmp_path, weights):
    before = model_fingerprint(folder_with(tmp_path, "a", weights))
    # Training again: same names, shapes and file size, so the header alone would not tell.
    retrained = {name: tensor + 0.01 for name, tensor in weights.items()}
    assert model_fingerprint(folder_with(tmp_path, "b", retrained)) != before
    one_value = {name: tensor.clone() for name, tensor in weights.items()}
    one_value["lm_head"][-1, -1] += 1.0  # the file's last bytes are sampled too
    assert model_fingerprint(folder_with(tmp_path, "c", one_value)) != before


def test_another_card_changes_it(tmp_path, weights):
    before = model_fingerprint(folder_with(tmp_path, "a", weights))
    other = folder_with(tmp_path, "b", weights, {"persona": {"name": "biscuit"}})
    assert model_fingerprint(other) != before


def test_a_served_model_without_weights_is_told_by_card_and_name(tmp_path):
    folder = tmp_path / "remote"
    folder.mkdir()
    (folder / "catgpt.json").write_text(json.dumps({"persona": {"name": "mochi"}}))
    served = model_fingerprint(folder, "mochi-v1")
    assert served == model_fingerprint(folder, "mochi-v1")
    assert served != model_fingerprint(folder, "mochi-v2")
    (folder / "catgpt.json").write_text(json.dumps({"persona": {"name": "biscuit"}}))
    assert model_fingerprint(folder, "mochi-v1") != served
