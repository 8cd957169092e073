"""`run`: prepare + train + eval from the shipped sample export, on the tiny base."""

import json
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
    assert card["dataset"]["path"] == "dataset"
    assert card["evaluation"]["samples"] == 4
    assert (out / "dataset" / "train.jsonl").is_file()
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


def test_run_with_a_missing_export_writes_nothing(tmp_path, capsys):
    out = tmp_path / "m"
    code = main(["run", str(tmp_path / "nope.json"), "--persona", "mochi", "--base", "tiny",
                 "--out", str(out)])  # fmt: skip
    assert code == 1
    assert capsys.readouterr().err.startswith("catgpt-train: error: ")
    assert list(tmp_path.iterdir()) == []
