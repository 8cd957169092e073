"""The CLI shell and the error type every command relies on."""

import subprocess
import sys

from training.cli import main
from training.errors import CatGPTError, ExportError


def test_error_message_names_place_and_fix():
    error = ExportError(
        "the file ends inside a message", where="chat.json:120", fix="Re-export it."
    )
    assert str(error) == "chat.json:120: the file ends inside a message. Re-export it."
    assert isinstance(error, CatGPTError)


def test_user_error_is_one_line_and_non_zero(monkeypatch, capsys):
    def fail(args):
        raise ExportError("no messages", where="empty.json", fix="Export a channel with messages.")

    monkeypatch.setattr("training.commands.eval.main", fail)
    monkeypatch.setattr("training.commands.eval.add_arguments", lambda parser: None)
    assert main(["eval"]) == 1
    err = capsys.readouterr().err
    assert err == "catgpt-train: error: empty.json: no messages. Export a channel with messages.\n"


def test_module_entry_point_prints_help():
    result = subprocess.run(
        [sys.executable, "-m", "training", "--help"], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0
    for command in ("prepare", "train", "eval", "run"):
        assert command in result.stdout


def test_training_never_imports_discord():
    # DESIGN.md: the offline half meets the bot only through the model folder.
    code = (
        "import pkgutil, importlib, sys, training\n"
        "for m in pkgutil.walk_packages(training.__path__, 'training.'):\n"
        "    if m.name != 'training.__main__':\n"
        "        importlib.import_module(m.name)\n"
        "bad = sorted(n for n in sys.modules if n == 'discord' or n.startswith('discord.'))\n"
        "print(bad or 'ok')\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert result.stdout.strip() == "ok", result.stdout + result.stderr
