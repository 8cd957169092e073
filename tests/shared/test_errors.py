"""catgpt.errors: one error shape and one CLI exit for both halves."""

import pytest

from bot.errors import BotError, ModelLoadError, SettingsError
from catgpt.errors import FixableError, run_cli
from training.errors import CatGPTError, ExportError


@pytest.mark.parametrize("kind", [BotError, SettingsError, CatGPTError, ExportError])
def test_both_halves_word_their_errors_alike(kind):
    error = kind("no such folder", where="models/x", fix="Train one first.")
    assert isinstance(error, FixableError)
    assert str(error) == "models/x: no such folder. Train one first."
    assert error.exit_code == 1


def test_where_filled_in_on_the_way_up_is_printed():
    error = ModelLoadError("the tokenizer has no chat template")
    error.where = "models/x"
    assert str(error) == "models/x: the tokenizer has no chat template"


def test_run_cli_prints_one_line_and_returns_the_exit_code(capsys):
    def fail() -> int:
        raise SettingsError("not a whole number", where="CATGPT_HISTORY")

    assert run_cli("catgpt-bot", fail) == 1
    assert capsys.readouterr().err == "catgpt-bot: error: CATGPT_HISTORY: not a whole number\n"
    assert run_cli("catgpt-bot", lambda: 0) == 0


def test_run_cli_keeps_the_traceback_of_a_bug():
    def bug() -> int:
        raise KeyError("oops")

    with pytest.raises(KeyError):
        run_cli("catgpt-train", bug)


def test_run_cli_says_interrupted_on_ctrl_c(capsys):
    def interrupted() -> int:
        raise KeyboardInterrupt

    assert run_cli("catgpt-train", interrupted) == 130
    assert capsys.readouterr().err == "catgpt-train: interrupted\n"
