"""Output folders are written whole or not at all (training/outputs.py)."""

import os

import pytest

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
