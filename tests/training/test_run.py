"""`run`: prepare + train + eval from the shipped sample export, on the tiny base."""

import json
import shutil
from pathlib import Path

import pytest

from training.cli import main

SAMPLE = Path(__file__).parents[2] / "data" / "sample"


@pytest.mark.slow
def test_run_end_to_end_on_the_sample(tmp_path, capsys):
    out = tmp_path / "models" / "mochi"
    code = main(["run", str(SAMPLE), "--persona", "mochi", "--base", "tiny", "--out", str(out),
                 "--epochs", "2", "--eval-samples", "4"])  # fmt: skip
    printed = capsys.readouterr().out
    assert code == 0
    assert "persona:" in printed  # prepare's summary
    assert "trained" in printed and "val loss (" in printed
    card = json.loads((out / "catgpt.json").read_text())
    assert card["persona"]["name"] == "mochi"
    assert card["dataset"]["path"] == "private/dataset"
    # prepare's --context-turns, --merge-window and --gap (the bot makes turns with them)
    assert card["context"] == {"max_length": 256, "context_turns": 8, "merge_window_s": 300.0,
                               "gap_s": 3600.0}  # fmt: skip
    assert card["evaluation"]["samples"] == 4
    # The day of the newest persona message: prepare's stats.json, copied for `/catgpt about`.
    from catgpt.folder import read_card

    stats = json.loads((out / "private" / "dataset" / "stats.json").read_text())
    last = card["dataset"]["last_persona_message"]
    assert last == stats["last_persona_message"] == read_card(out).last_message.isoformat()
    assert (out / "private" / "dataset" / "train.jsonl").is_file()
    assert (out / "chat_template.jinja").is_file()
    # Nothing left beside the model folder: no staging, no scratch dataset.
    assert [p.name for p in out.parent.iterdir()] == ["mochi"]
    # eval finds the bundled dataset again without --data.
    assert main(["eval", str(out), "--eval-samples", "0", "--no-base"]) == 0


def test_run_refuses_an_existing_output_before_preparing(tmp_path, capsys):
    out = tmp_path / "m"
    out.mkdir()
    code = main(["run", str(SAMPLE), "--persona", "mochi", "--base", "tiny", "--out", str(out)])
    assert code == 1
    assert "--overwrite" in capsys.readouterr().err
    assert list(out.iterdir()) == []
    assert [p.name for p in tmp_path.iterdir()] == ["m"]


def test_run_checks_the_base_before_preparing(tmp_path, capsys):
    out = tmp_path / "m"
    code = main(["run", str(SAMPLE), "--persona", "mochi", "--base", "./nope", "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 1
    assert captured.err.startswith("catgpt-train: error: ./nope: no such model folder")
    assert "persona:" not in captured.out  # prepare never ran
    assert list(tmp_path.iterdir()) == []


def test_run_with_a_missing_export_writes_nothing(tmp_path, capsys):
    out = tmp_path / "m"
    code = main(["run", str(tmp_path / "nope.json"), "--persona", "mochi", "--base", "tiny",
                 "--out", str(out)])  # fmt: skip
    assert code == 1
    assert capsys.readouterr().err.startswith("catgpt-train: error: ")
    assert list(tmp_path.iterdir()) == []


@pytest.mark.slow
def test_run_without_val_skips_eval_and_keeps_the_model(tmp_path, capsys):
    out = tmp_path / "m"
    code = main(["run", str(SAMPLE), "--persona", "mochi", "--base", "tiny", "--out", str(out),
                 "--epochs", "1", "--val-share", "0"])  # fmt: skip
    captured = capsys.readouterr()
    assert code == 0, captured.err
    assert "eval skipped: the dataset has no val examples" in captured.out
    assert (out / "model.safetensors").is_file()
    assert (out / "private" / "dataset" / "train.jsonl").is_file()
    assert json.loads((out / "catgpt.json").read_text())["evaluation"] is None
    # `eval` alone still says plainly that there is nothing to evaluate on.
    assert main(["eval", str(out), "--no-base"]) == 1
    assert "no val examples" in capsys.readouterr().err


def test_run_refuses_an_output_that_is_the_exports(tmp_path, capsys):
    exports = tmp_path / "exports"
    shutil.copytree(SAMPLE, exports)
    before = sorted(p.name for p in exports.iterdir())
    code = main(["run", str(exports), "--persona", "mochi", "--base", "tiny", "--out",
                 str(exports), "--overwrite"])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 1 and err.count("\n") == 1
    assert "Choose a separate --out folder" in err
    assert sorted(p.name for p in exports.iterdir()) == before
    assert [p.name for p in tmp_path.iterdir()] == ["exports"]


@pytest.mark.slow
def test_the_model_folder_is_safe_to_publish_outside_private(tmp_path, capsys):
    """No absolute path, export name or other person's name outside private/ (contract 4)."""
    exports = tmp_path / "Alice's exports"
    shutil.copytree(SAMPLE, exports)
    out = tmp_path / "models" / "mochi"
    code = main(["run", str(exports), "--persona", "mochi", "--base", "tiny", "--out", str(out),
                 "--epochs", "1", "--eval-samples", "4", "--exclude-author", "Chen"])  # fmt: skip
    assert code == 0
    others = set()
    for path in exports.glob("*.json"):
        for message in json.loads(path.read_text())["messages"]:
            author = message["author"]
            if author["name"] != "mochi":
                others |= {author["name"], author.get("nickname") or author["name"]}
    assert others  # the sample has other speakers
    # The tiny base's tokenizer is fitted on the dataset itself (docs/training.md): its vocab is
    # data, like the weights. Everything else that is text must be clean.
    public = [p for p in out.rglob("*") if p.is_file() and "private" not in p.parts
              and p.suffix in {".json", ".md", ".jinja", ".jsonl", ".txt", ".log"}
              and p.name not in {"tokenizer.json", "tokenizer_config.json"}]
    assert {p.name for p in public} >= {"catgpt.json", "README.md", "generation_config.json"}
    for path in public:
        text = path.read_text(encoding="utf-8")
        assert str(tmp_path) not in text, path
        assert "Alice's exports" not in text and "The Cat Cafe" not in text, path
        for name in others:
            assert f'"{name}"' not in text and f" {name}:" not in text, (path, name)
    private = out / "private"
    assert (private / "dataset" / "train.jsonl").is_file()
    assert (private / "eval_samples.json").is_file() and (private / "train.log").is_file()
    assert "Not for sharing" in (private / "README.md").read_text()
    # eval still finds everything it needs (the dataset, in private/) without --data.
    assert main(["eval", str(out), "--eval-samples", "2"]) == 0
    # ... and the bot needs none of it.
    shutil.rmtree(private)
    from bot.engines.local import LocalEngine

    engine = LocalEngine.from_folder(out, device="cpu")
    try:
        assert isinstance(engine.submit([{"role": "user", "name": "x", "content": "hi"}])
                          .result(timeout=60), str)
    finally:
        engine.close()
