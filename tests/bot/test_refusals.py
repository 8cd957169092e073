"""Start-up refuses a model folder or device it cannot serve: one line each, before Discord."""

from __future__ import annotations

import shutil

import pytest
import torch

from bot.engines.local import LocalEngine
from bot.errors import ModelLoadError

from .test_console import run_bot_cli


@pytest.fixture
def folder(tiny_model_dir, tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(tiny_model_dir, copy)
    return copy


def refusal(folder, device: str = "cpu") -> str:
    with pytest.raises(ModelLoadError) as caught:
        LocalEngine.from_folder(folder, device=device)
    text = str(caught.value)
    assert "\n" not in text
    return text


def test_a_folder_without_tokenizer_files(folder):
    # transformers would load an empty tokenizer here and every reply would be the fallback.
    (folder / "tokenizer.json").unlink()
    (folder / "tokenizer_config.json").unlink()
    assert refusal(folder).startswith(f"{folder}: no tokenizer files (tokenizer.json")


def test_a_broken_chat_template(folder):
    (folder / "chat_template.jinja").write_text("{% for m in messages %}{{ m.content ")
    text = refusal(folder)
    assert text.startswith(f"{folder / 'chat_template.jinja'}: the chat template does not render")
    assert "TemplateSyntaxError" in text


def test_a_chat_template_that_fails_while_rendering(folder):
    (folder / "chat_template.jinja").write_text("{{ messages[0]['content'] | no_such_filter }}")
    assert "the chat template does not render" in refusal(folder)


def test_corrupt_weights(folder):
    weights = folder / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:100])  # a copy cut short
    text = refusal(folder)
    assert text.startswith(f"{folder}: cannot load the weights (SafetensorError")


def test_a_cuda_device_that_does_not_exist(folder, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    text = refusal(folder, device="cuda:2")
    assert text.startswith("CATGPT_DEVICE: there is no cuda:2 here (2 CUDA devices: cuda:0 ... ")
    assert "'cuda:x' is not a CUDA device" in refusal(folder, device="cuda:x")


def test_catgpt_bot_says_it_in_one_line(folder, tmp_path):
    (folder / "chat_template.jinja").write_text("{% if %}")
    result = run_bot_cli(
        "--console", "--model", str(folder), stdin="hi\n", env_file=tmp_path / "no.env"
    )
    assert result.returncode == 1
    assert "Traceback" not in result.stderr and result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith(f"catgpt-bot: error: {folder / 'chat_template.jinja'}: ")


def test_a_model_too_big_for_the_device(folder, monkeypatch):
    import catgpt.local_backend

    class TooBig:
        def to(self, device):
            raise torch.OutOfMemoryError("CUDA out of memory. Tried to allocate 20.00 GiB")

    monkeypatch.setattr(catgpt.local_backend.AutoModelForCausalLM, "from_pretrained",
                        lambda *args, **kwargs: TooBig())  # fmt: skip
    assert refusal(folder).startswith(f"{folder}: the model does not fit in cpu's memory")
