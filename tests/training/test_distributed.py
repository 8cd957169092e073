"""`train` under torchrun, run for real: two CPU processes (gloo) against one process.

What a distributed run must keep (issue 18): the first process alone writes the folder and
prints the summary; --batch-size is the batch of one optimizer step, so both runs take the
same steps; the model learns about as well; nothing is left beside the folder.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
TORCHRUN = Path(sys.executable).with_name("torchrun")
pytestmark = [pytest.mark.slow, pytest.mark.skipif(not TORCHRUN.exists() and not
                                                   shutil.which("torchrun"),
                                                   reason="torchrun comes with torch")]


def train(data: Path, out: Path, *launcher: str, batch: int = 4) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k not in ("RANK", "WORLD_SIZE", "LOCAL_RANK")}
    return subprocess.run(
        [*launcher, "-m", "training", "train", "--data", str(data), "--base", "tiny",
         "--out", str(out), "--epochs", "2", "--batch-size", str(batch), "--seed", "7"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600, check=False,
    )  # fmt: skip


def torchrun(processes: int) -> list[str]:
    # A free port each time (0 = the OS picks), so parallel test runs cannot collide.
    return [str(TORCHRUN if TORCHRUN.exists() else shutil.which("torchrun")), "--standalone",
            "--nproc_per_node", str(processes)]


def test_two_processes_train_as_one_does(make_dataset, tmp_path):
    data = make_dataset(tmp_path / "dataset", n_train=64, n_val=16)
    one = train(data, tmp_path / "one", sys.executable)
    assert one.returncode == 0, one.stderr
    two = train(data, tmp_path / "two", *torchrun(2))
    assert two.returncode == 0, two.stderr[-3000:]

    # One summary, one "model folder:" line, one log line per step report: the first process's.
    assert two.stdout.count("model folder: ") == 1 and two.stdout.count("trained ") == 1
    assert two.stderr.count("model folder written") == 1
    assert "find_unused_parameters=True" not in two.stderr
    # The folder is whole, and nothing else is left beside it (no second staging folder).
    assert sorted(p.name for p in tmp_path.iterdir()) == ["dataset", "one", "two"]
    for name in ("catgpt.json", "copy_index.json", "model.safetensors", "README.md"):
        assert (tmp_path / "two" / name).is_file(), name
    assert not (tmp_path / "two" / "checkpoints").exists()

    card_one = json.loads((tmp_path / "one" / "catgpt.json").read_text())["training"]
    card_two = json.loads((tmp_path / "two" / "catgpt.json").read_text())["training"]
    assert card_two["steps"] == card_one["steps"]  # the same effective batch
    assert card_two["best_val_loss"] == pytest.approx(card_one["best_val_loss"], rel=0.1)


def test_a_batch_that_does_not_split_is_one_line(make_dataset, tmp_path):
    data = make_dataset(tmp_path / "dataset", n_train=16, n_val=4)
    result = train(data, tmp_path / "model", *torchrun(2), batch=3)
    assert result.returncode != 0
    said = [line for line in result.stderr.splitlines() if "catgpt-train: error:" in line]
    assert said and "--batch-size 3 does not split evenly over 2 processes" in said[0]
    # torchrun reports the failed workers with its own traceback; none comes from our code.
    assert f'File "{ROOT / "training"}' not in result.stderr
    assert not (tmp_path / "model").exists()
