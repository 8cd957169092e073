"""`train` end to end on the tiny base: the folder it writes, early stopping, and bad input."""

import json

import pytest
from transformers import AutoModelForCausalLM, AutoTokenizer, GenerationConfig

from training.cli import main
from training.model.chat_template import build_chat_template
from training.model.features import encode_split, load_dataset
from training.model.measures import persona_loss
from training.model.model_folder import GENERATION_DEFAULTS
from training.model.trainer import TrainArgs, train_model


def test_model_folder_round_trip(trained_tiny):
    names = {p.name for p in trained_tiny.iterdir()}
    for name in ("config.json", "model.safetensors", "tokenizer.json", "chat_template.jinja",
                 "generation_config.json", "catgpt.json", "README.md", "training_log.jsonl",
                 ".catgpt-output"):  # fmt: skip
        assert name in names
    assert (trained_tiny / "private" / "train.log").is_file()  # the run's log is not for sharing
    assert "checkpoints" not in names
    assert not list(trained_tiny.parent.glob(".*partial"))

    tokenizer = AutoTokenizer.from_pretrained(trained_tiny)
    specials = list(tokenizer.all_special_tokens)
    assert tokenizer.chat_template == build_chat_template("mochi", specials)
    assert tokenizer.pad_token_id != tokenizer.eos_token_id
    prompt = tokenizer.apply_chat_template(
        [{"role": "user", "name": "alice", "content": "hi"}],
        tokenize=False,
        add_generation_prompt=True,
    )
    assert prompt == f"alice: hi{tokenizer.eos_token}mochi:"

    generation = GenerationConfig.from_pretrained(trained_tiny)
    assert generation.do_sample and generation.temperature == GENERATION_DEFAULTS["temperature"]
    assert generation.repetition_penalty > 1.0
    # No n-gram ban: it would cover the prompt, where every persona turn opens the same way.
    saved = json.loads((trained_tiny / "generation_config.json").read_text())
    assert not saved.get("no_repeat_ngram_size")
    assert generation.eos_token_id == tokenizer.eos_token_id
    assert generation.pad_token_id == tokenizer.pad_token_id
    model = AutoModelForCausalLM.from_pretrained(trained_tiny)
    assert model.get_input_embeddings().weight.shape[0] == len(tokenizer)

    card = json.loads((trained_tiny / "catgpt.json").read_text())
    assert card["persona"] == {"name": "mochi", "aliases": ["mochi", "Mochi"],
                               "account_ids": ["22"]}
    assert card["base"]["name"] == "tiny"
    assert card["dataset"]["train_examples"] == 48
    assert card["training"]["args"]["epochs"] == 4
    losses = card["training"]["val_losses"]
    assert len(losses) == 4 and losses[-1] < losses[0]  # it learns


def test_the_folder_records_its_trained_context_and_never_samples_pad(trained_tiny):
    card = json.loads((trained_tiny / "catgpt.json").read_text())
    examples = [json.loads(line) for line in (trained_tiny.parent / "dataset" / "train.jsonl")
                .read_text().splitlines()]  # fmt: skip
    # max_length as training used it (the tiny base's 256-token window caps --max-length 512);
    # the dataset has no prepare options, so the turns are the most any example has.
    assert card["context"] == {
        "max_length": card["dataset"]["max_length"],
        "context_turns": max(len(e["messages"]) - 1 for e in examples),
    }
    assert card["context"]["max_length"] == 256
    tokenizer = AutoTokenizer.from_pretrained(trained_tiny)
    generation = GenerationConfig.from_pretrained(trained_tiny)
    assert generation.suppress_tokens == [tokenizer.pad_token_id]  # its embedding is untrained


def test_trained_context_takes_prepares_turn_limit():
    from types import SimpleNamespace

    from training.model.trainer import trained_context

    train = [{"messages": [{"role": "user", "content": "x"}] * 3}]
    with_options = SimpleNamespace(stats={"options": {"context_turns": 8}}, train=train)
    assert trained_context(with_options, 512) == {"max_length": 512, "context_turns": 8}
    without = SimpleNamespace(stats={}, train=train)
    assert trained_context(without, 300) == {"max_length": 300, "context_turns": 2}


def test_early_stopping_restores_the_best_checkpoint(make_dataset, tmp_path):
    data = make_dataset(tmp_path / "data", n_train=16, n_val=12)
    out = tmp_path / "model"
    # A high learning rate on 16 examples overfits within a few dozen epochs.
    card = train_model(TrainArgs(data=str(data), out=str(out), base="tiny", epochs=40, lr=1e-2,
                                 batch_size=16, patience=2))  # fmt: skip
    training = card["training"]
    losses = training["val_losses"]
    assert training["stop_reason"].startswith("early stopping")
    assert len(losses) < 40
    best = min(losses)
    assert losses[-1] > best  # the last epoch was worse than the best one...
    assert training["best_val_loss"] == pytest.approx(best)
    # ...and the saved weights are the best epoch's: recompute val loss from the folder.
    tokenizer = AutoTokenizer.from_pretrained(out)
    model = AutoModelForCausalLM.from_pretrained(out)
    features, _ = encode_split(tokenizer, load_dataset(data).val, 256, "val")
    loss, _ = persona_loss(model, features, tokenizer.pad_token_id, batch_size=16)
    assert loss == pytest.approx(best, abs=2e-3)


def test_no_early_stop_runs_every_epoch(make_dataset, tmp_path):
    data = make_dataset(tmp_path / "data", n_train=16, n_val=4)
    card = train_model(TrainArgs(data=str(data), out=str(tmp_path / "m"), base="tiny", epochs=3,
                                 early_stop=False, batch_size=16))  # fmt: skip
    assert card["training"]["steps"] == 3
    assert card["training"]["stop_reason"] == "all 3 epochs"
    assert card["training"]["restored_best_checkpoint"] is False


def test_max_steps_bounds_training(make_dataset, tmp_path):
    data = make_dataset(tmp_path / "data", n_train=32, n_val=4)
    card = train_model(TrainArgs(data=str(data), out=str(tmp_path / "m"), base="tiny",
                                 max_steps=2, batch_size=4))  # fmt: skip
    assert card["training"]["steps"] == 2
    assert card["training"]["stop_reason"] == "max steps (2)"


# --- bad input: one line on stderr, exit 1, nothing written -------------------------------


def run_train(capsys, *argv):
    code = main(["train", "--base", "tiny", *argv])
    err = capsys.readouterr().err
    return code, err


def assert_one_line_error(code, err, text):
    assert code == 1
    assert err.startswith("catgpt-train: error: ") and err.count("\n") == 1
    assert "Traceback" not in err
    assert text in err


def test_missing_dataset(make_dataset, tmp_path, capsys):
    code, err = run_train(capsys, "--data", str(tmp_path / "nope"), "--out", str(tmp_path / "m"))
    assert_one_line_error(code, err, "no such dataset folder")
    assert not (tmp_path / "m").exists()


def test_empty_dataset(make_dataset, tmp_path, capsys):
    data = make_dataset(tmp_path / "data", train=[])
    code, err = run_train(capsys, "--data", str(data), "--out", str(tmp_path / "m"))
    assert_one_line_error(code, err, "no training examples")


def test_dataset_without_persona_turns(make_dataset, tmp_path, capsys):
    rows = [{"messages": [{"role": "user", "name": "bob", "content": "hi"}], "conversation": "c:1"}]
    data = make_dataset(tmp_path / "data", train=rows)
    code, err = run_train(capsys, "--data", str(data), "--out", str(tmp_path / "m"))
    assert_one_line_error(code, err, "no persona turns")


def test_broken_jsonl_names_file_and_line(make_dataset, tmp_path, capsys):
    data = make_dataset(tmp_path / "data")
    with (data / "train.jsonl").open("a") as out:
        out.write("{not json\n")
    code, err = run_train(capsys, "--data", str(data), "--out", str(tmp_path / "m"))
    assert_one_line_error(code, err, "train.jsonl:49: not JSON")


def test_unknown_base(dataset, tmp_path, capsys):
    code = main(["train", "--data", str(dataset), "--out", str(tmp_path / "m"), "--base", "???"])
    assert_one_line_error(code, capsys.readouterr().err, "unknown base '???'")


def test_existing_output_is_not_overwritten(dataset, tmp_path, capsys):
    out = tmp_path / "m"
    out.mkdir()
    (out / "keep.txt").write_text("mine")
    code, err = run_train(capsys, "--data", str(dataset), "--out", str(out))
    assert_one_line_error(code, err, "--overwrite")
    assert [p.name for p in out.iterdir()] == ["keep.txt"]


def test_overwrite_replaces_only_when_done(dataset, tmp_path, capsys):
    out = tmp_path / "m"
    code, _ = run_train(capsys, "--data", str(dataset), "--out", str(out), "--max-steps", "1")
    assert code == 0
    (out / "keep.txt").write_text("old run")  # a folder train wrote earlier
    code, _ = run_train(capsys, "--data", str(dataset), "--out", str(out), "--overwrite",
                        "--max-steps", "1")  # fmt: skip
    assert code == 0
    assert not (out / "keep.txt").exists() and (out / "catgpt.json").exists()


def test_overwrite_never_replaces_a_folder_catgpt_did_not_write(dataset, tmp_path, capsys):
    out = tmp_path / "Documents"
    (out / "photos").mkdir(parents=True)
    (out / "thesis.tex").write_text("four years of work")
    (out / "photos" / "cat.jpg").write_bytes(b"\xff\xd8")
    code, err = run_train(capsys, "--data", str(dataset), "--out", str(out), "--overwrite")
    assert_one_line_error(code, err, "did not write this folder")
    assert (out / "thesis.tex").read_text() == "four years of work"
    assert (out / "photos" / "cat.jpg").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["Documents", dataset.name]


def test_a_foreign_folder_where_train_stages_is_not_deleted(dataset, tmp_path, capsys):
    staging = tmp_path / ".m.partial"
    staging.mkdir()
    (staging / "notes.txt").write_text("mine")
    code, err = run_train(capsys, "--data", str(dataset), "--out", str(tmp_path / "m"))
    assert_one_line_error(code, err, "did not write it")
    assert (staging / "notes.txt").read_text() == "mine"


def test_context_window_too_small(dataset, tmp_path, capsys):
    code, err = run_train(capsys, "--data", str(dataset), "--out", str(tmp_path / "m"),
                          "--max-length", "8")  # fmt: skip
    assert_one_line_error(code, err, "context window of 8 tokens")
    assert not (tmp_path / "m").exists()
    assert not list(tmp_path.glob(".*partial"))


def test_bad_numbers_are_user_errors(dataset, tmp_path, capsys):
    code, err = run_train(capsys, "--data", str(dataset), "--out", str(tmp_path / "m"),
                          "--lr", "-1")  # fmt: skip
    assert_one_line_error(code, err, "--lr must be positive")


def test_lora_is_merged_into_a_plain_model(make_dataset, tmp_path):
    data = make_dataset(tmp_path / "data", n_train=16, n_val=4)
    out = tmp_path / "m"
    card = train_model(TrainArgs(data=str(data), out=str(out), base="tiny", epochs=2, lora=True,
                                 batch_size=8))  # fmt: skip
    assert card["training"]["args"]["lora"] is True
    model = AutoModelForCausalLM.from_pretrained(out)
    assert not [name for name in model.state_dict() if "lora" in name]
    assert not (out / "adapter_config.json").exists()


def test_an_interrupted_run_writes_nothing_and_resumes(make_dataset, tmp_path, monkeypatch):
    from training.model import trainer as trainer_module

    data = make_dataset(tmp_path / "data", n_train=16, n_val=4)
    out = tmp_path / "m"
    args = dict(data=str(data), out=str(out), base="tiny", epochs=3, batch_size=8)
    real = trainer_module.ValReport.on_evaluate
    calls = []

    def interrupt_on_second_eval(self, *a, **k):
        calls.append(1)
        if len(calls) == 2:  # after epoch 1's checkpoint, before epoch 2's
            raise KeyboardInterrupt
        return real(self, *a, **k)

    monkeypatch.setattr(trainer_module.ValReport, "on_evaluate", interrupt_on_second_eval)
    with pytest.raises(KeyboardInterrupt):
        train_model(TrainArgs(**args))
    assert not out.exists()
    assert (tmp_path / ".m.partial" / "checkpoints" / "checkpoint-2").is_dir()

    monkeypatch.setattr(trainer_module.ValReport, "on_evaluate", real)
    card = train_model(TrainArgs(**args, resume=True))
    assert card["training"]["steps"] == 6
    assert len(card["training"]["val_losses"]) == 3  # epoch 1's from before the interruption
    assert (out / "model.safetensors").is_file() and not (tmp_path / ".m.partial").exists()


@pytest.mark.parametrize("where", ["same", "around"])
def test_output_overlapping_the_dataset_is_refused(dataset, capsys, where):
    # --overwrite would replace --out wholesale, deleting the dataset it trains on.
    out = dataset if where == "same" else dataset.parent
    before = sorted(p.name for p in dataset.iterdir())
    code, err = run_train(capsys, "--data", str(dataset), "--out", str(out), "--overwrite")
    assert_one_line_error(code, err, "Choose a separate --out folder")
    assert sorted(p.name for p in dataset.iterdir()) == before


def test_output_inside_the_dataset_is_refused(dataset, capsys):
    code, err = run_train(capsys, "--data", str(dataset), "--out", str(dataset / "model"))
    assert_one_line_error(code, err, "is inside the input")
    assert not (dataset / "model").exists()


# --- --report-to ----------------------------------------------------------------------------


@pytest.fixture
def installed(monkeypatch):
    """Pretend exactly these reporting packages are installed."""
    import importlib.util

    real = importlib.util.find_spec
    reporters = {"tensorboard", "tensorboardX", "wandb"}

    def pretend(*names):
        def find_spec(name, *args):
            if name in reporters:
                return real("json") if name in names else None
            return real(name, *args)

        monkeypatch.setattr(importlib.util, "find_spec", find_spec)

    return pretend


@pytest.mark.parametrize("reporter", ["tensorboard", "wandb"])
def test_report_to_without_the_package_says_what_to_install(dataset, tmp_path, capsys, installed,
                                                            reporter):
    installed()  # none of them
    code, err = run_train(capsys, "--data", str(dataset), "--out", str(tmp_path / "m"),
                          "--report-to", reporter)  # fmt: skip
    assert_one_line_error(code, err, f"--report-to {reporter} needs the {reporter} package")
    assert f"pip install {reporter}" in err
    assert not (tmp_path / "m").exists()


def test_report_to_reaches_the_trainer(tmp_path, installed):
    from training.model.batching import plan_batching
    from training.model.trainer import training_arguments

    installed("tensorboardX")  # either tensorboard package will do
    args = TrainArgs(data="d", out="o", report_to="tensorboard")
    batching = plan_batching(args.batch_size, None, None, "cpu")
    assert training_arguments(args, tmp_path, True, "cpu", batching).report_to == ["tensorboard"]
    plain = TrainArgs(data="d", out="o")
    assert training_arguments(plain, tmp_path, True, "cpu", batching).report_to == []


def test_tensorboard_logs_are_kept_in_the_model_folder(tmp_path):
    from types import SimpleNamespace

    from transformers.integrations import TensorBoardCallback

    from training.model.trainer import keep_tensorboard_logs

    ours = TensorBoardCallback.__new__(TensorBoardCallback)  # __init__ needs tensorboard
    ours.logging_dir = None
    chosen = TensorBoardCallback.__new__(TensorBoardCallback)
    chosen.logging_dir = "/set/by/TENSORBOARD_LOGGING_DIR"
    trainer = SimpleNamespace(callback_handler=SimpleNamespace(callbacks=[ours, chosen]))
    keep_tensorboard_logs(trainer, tmp_path / "runs")
    assert ours.logging_dir == str(tmp_path / "runs")  # not under checkpoints/, deleted at the end
    assert chosen.logging_dir == "/set/by/TENSORBOARD_LOGGING_DIR"
