"""Output folders are written whole or not at all (training/outputs.py)."""

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from training.outputs import move_into_place, scratch_folder, staging_folder


def folder_with(path, name, text):
    path.mkdir()
    (path / name).write_text(text)
    return path


def test_move_into_place_replaces_the_old_folder(tmp_path):
    out = folder_with(tmp_path / "out", "old.txt", "old")
    new = folder_with(tmp_path / ".out.new", "new.txt", "new")
    move_into_place(new, out)
    assert [p.name for p in out.iterdir()] == ["new.txt"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]  # nothing set aside is left


def test_a_failed_move_puts_the_old_folder_back(tmp_path, monkeypatch):
    out = folder_with(tmp_path / "out", "old.txt", "old")
    new = folder_with(tmp_path / ".out.new", "new.txt", "new")
    real = os.replace

    def fail_moving_new(source, target):
        if str(source) == str(new):
            raise OSError("disk trouble")
        real(source, target)

    monkeypatch.setattr(os, "replace", fail_moving_new)
    with pytest.raises(OSError):
        move_into_place(new, out)
    assert (out / "old.txt").read_text() == "old"


def test_scratch_folder_is_removed_even_on_failure(tmp_path):
    out = tmp_path / "sub" / "out"
    with pytest.raises(KeyError), scratch_folder(out, "dataset-") as scratch:
        assert scratch.parent == out.parent and scratch.name.startswith(".out.dataset-")
        (scratch / "half.jsonl").write_text("{")
        raise KeyError("stop")
    assert list(out.parent.iterdir()) == []


def test_staging_folder_is_a_hidden_sibling(tmp_path):
    assert staging_folder(tmp_path / "models" / "mochi") == tmp_path / "models" / ".mochi.partial"


# ---- a full disk: one line, staged files removed, the old output intact ----------------------

SAMPLE = Path(__file__).parents[2] / "data" / "sample"


def _no_space(*_args, **_kwargs):
    raise OSError(errno.ENOSPC, "No space left on device")


def _one_line(err: str) -> str:
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in err, err
    return lines[0]


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_a_full_disk_during_prepare_is_one_line_and_the_old_dataset_stays(
        tmp_path, monkeypatch, capsys):
    from training.cli import main
    from training.data import dataset

    out = tmp_path / "ds"
    argv = ["prepare", str(SAMPLE), "--persona", "mochi", "--out", str(out)]
    assert main(argv) == 0
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    capsys.readouterr()
    real_finish = dataset.ExampleWriter.finish

    def finish_then_fill(self, *args):
        real_finish(self, *args)  # train.jsonl and val.jsonl written: then the disk is full
        _no_space()

    monkeypatch.setattr(dataset.ExampleWriter, "finish", finish_then_fill)
    assert main([*argv, "--overwrite"]) == 1
    line = _one_line(capsys.readouterr().err)
    assert line.startswith(f"catgpt-train: error: {out}: the disk is full: writing the dataset "
                           "stopped after ")
    assert " is free now" in line and "the previous one is untouched" in line
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert _hidden(tmp_path) == []  # the scratch folder is gone


def test_a_full_disk_while_train_saves_the_weights_is_one_line_and_nothing_is_left(
        tmp_path, monkeypatch, capsys, make_dataset):
    from safetensors import SafetensorError
    from transformers import modeling_utils

    from training.cli import main

    data = make_dataset(tmp_path / "dataset")
    out = tmp_path / "model"

    def full(*_args, **_kwargs):  # safetensors' own words for ENOSPC (a Rust io::Error)
        raise SafetensorError('Error while serializing: IoError(Os { code: 28, kind: '
                              'StorageFull, message: "No space left on device" })')

    monkeypatch.setattr(modeling_utils, "safe_save_file", full)
    code = main(["train", "--base", "tiny", "--data", str(data), "--out", str(out),
                 "--epochs", "1", "--max-steps", "1"])
    assert code == 1
    line = _one_line(capsys.readouterr().err)
    assert line.startswith(f"catgpt-train: error: {out}: the disk is full: writing the model "
                           "folder stopped after ")
    assert not out.exists() and _hidden(tmp_path) == []  # no .model.partial left behind


def test_a_full_disk_is_recognised_however_it_is_worded():
    from training.outputs import is_disk_full

    assert is_disk_full(OSError(errno.ENOSPC, "No space left on device"))
    assert is_disk_full(OSError(errno.EDQUOT, "Disk quota exceeded"))
    wrapped = RuntimeError("saving failed")
    wrapped.__cause__ = OSError(errno.ENOSPC, "full")
    assert is_disk_full(wrapped)
    assert not is_disk_full(OSError(errno.EACCES, "Permission denied"))
    assert not is_disk_full(ValueError("bad value"))


# ---- kill -9: the next run removes what the killed one left, and only that -------------------

_KILLED = """
import os, signal, sys
from pathlib import Path
from training.outputs import scratch_folder
with scratch_folder(Path(sys.argv[1])) as scratch:
    (scratch / "half.jsonl").write_text("{")
    print(scratch, flush=True)
    if sys.argv[2] == "kill":
        os.kill(os.getpid(), signal.SIGKILL)
    sys.stdin.readline()  # a live run: holds its scratch folder until told to go
"""


def _run_scratch(out: Path, how: str) -> subprocess.Popen:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[2])}
    return subprocess.Popen([sys.executable, "-c", _KILLED, str(out), how], env=env,
                            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)


@pytest.mark.skipif(sys.platform == "win32", reason="flock")
def test_the_next_run_removes_a_killed_runs_scratch_folder_and_nothing_else(tmp_path):
    out = tmp_path / "ds"
    killed = _run_scratch(out, "kill")
    left = Path(killed.stdout.readline().strip())
    killed.wait(timeout=60)
    assert killed.returncode == -9 and left.is_dir()  # what kill -9 leaves today
    live = _run_scratch(out, "live")
    live_folder = Path(live.stdout.readline().strip())
    not_ours = tmp_path / ".ds.mine"  # named like ours, but no lock file: never touched
    not_ours.mkdir()
    (not_ours / "notes.txt").write_text("mine")
    try:
        with scratch_folder(out) as scratch:
            assert not left.exists(), "the killed run's folder is still there"
            assert live_folder.is_dir(), "a live run's folder was removed"
            assert (not_ours / "notes.txt").read_text() == "mine"
            assert scratch.is_dir()
    finally:
        live.communicate("go\n", timeout=60)
    assert not live_folder.exists()
    assert _hidden(tmp_path) == [".ds.mine"]


def test_an_output_carries_no_scratch_lock(tmp_path):
    out = tmp_path / "out"
    with scratch_folder(out) as scratch:
        (scratch / "train.jsonl").write_text("")
        move_into_place(scratch, out)
    assert sorted(p.name for p in out.iterdir()) == ["train.jsonl"]


# ---- a full disk at any write of prepare, at any point of the stream (generated) -------------

# Every place prepare writes into its scratch folder: (module, class or None, function).
_PREPARE_WRITES = [
    ("training.data.dataset", "ExampleWriter", "add"),  # the examples, as the stream goes
    ("training.data.dataset", "ExampleWriter", "finish"),  # train.jsonl and val.jsonl
    ("training.data.pipeline", None, "write_stats"),
    ("training.data.pipeline", None, "write_report"),  # report.png
    ("training.commands.prepare", None, "mark_ours"),
]


@pytest.fixture(scope="module")
def prepared(tmp_path_factory) -> Path:
    """data/sample prepared once: the old dataset each generated case must leave intact."""
    from training.cli import main

    out = tmp_path_factory.mktemp("prepared") / "ds"
    assert main(["prepare", str(SAMPLE), "--persona", "mochi", "--out", str(out)]) == 0
    return out


@settings(max_examples=12, deadline=None)
@given(write=st.sampled_from(_PREPARE_WRITES), nth=st.integers(1, 40))
def test_a_full_disk_at_any_write_of_prepare_is_one_line_and_leaves_nothing(prepared, write,
                                                                            nth):
    import contextlib
    import importlib
    import io
    import shutil
    import tempfile
    from unittest import mock

    from training.cli import main

    module, owner, name = write
    where = importlib.import_module(module)
    where = getattr(where, owner) if owner else where
    real = getattr(where, name)
    calls = []

    def full(*args, **kwargs):  # the disk fills at the nth example, or at the first other write
        calls.append(1)
        if name != "add" or len(calls) >= nth:
            _no_space()
        return real(*args, **kwargs)

    with tempfile.TemporaryDirectory() as folder:
        out = Path(folder) / "ds"
        shutil.copytree(prepared, out)
        before = {p.name: p.read_bytes() for p in out.iterdir()}
        argv = ["prepare", str(SAMPLE), "--persona", "mochi", "--out", str(out), "--overwrite"]
        err = io.StringIO()
        with mock.patch.object(where, name, full), contextlib.redirect_stderr(err), \
                contextlib.redirect_stdout(io.StringIO()):
            assert main(argv) == 1
        line = _one_line(err.getvalue())
        assert line.startswith(f"catgpt-train: error: {out}: the disk is full: writing the "
                               "dataset stopped after ")
        assert {p.name: p.read_bytes() for p in out.iterdir()} == before
        assert _hidden(Path(folder)) == []  # nothing staged is left
