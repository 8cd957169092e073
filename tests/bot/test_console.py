"""Console mode: the same engine and sanitising over stdin/stdout."""

from __future__ import annotations

import io
import subprocess
from pathlib import Path

from bot.console import DEMO_LINES, run_console

from .conftest import run_python


def run_bot_cli(*flags: str, stdin: str, env_file: Path) -> subprocess.CompletedProcess:
    if not env_file.exists():
        env_file.write_text("")  # a named settings file must exist; this one sets nothing
    return run_python("-m", "bot", *flags, "--env-file", str(env_file), stdin=stdin)


def test_console_through_a_pipe(tiny_model_dir, tmp_path):
    result = run_bot_cli(
        "--console",
        "--model",
        str(tiny_model_dir),
        stdin="hi mochi\n\n/reset\nwhat game tonight?\n",
        env_file=tmp_path / "no.env",
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0] == "you: hi mochi"
    assert lines[1].startswith("mochi: ") and len(lines[1]) > len("mochi: ")
    assert lines[2] == "(conversation forgotten)"
    assert lines[3] == "you: what game tonight?"
    assert lines[4].startswith("mochi: ")
    assert len(lines) == 5


def test_demo_without_a_token_chats_in_the_console(tiny_model_dir, tmp_path):
    result = run_bot_cli(
        "--demo", "--model", str(tiny_model_dir), stdin="", env_file=tmp_path / "no.env"
    )
    assert result.returncode == 0, result.stderr
    said = [line for line in result.stdout.splitlines() if line.startswith("you: ")]
    assert said == [f"you: {line}" for line in DEMO_LINES]


def test_demo_with_a_token_goes_to_discord(tiny_model_dir, tmp_path):
    # A token in .env means the user set Discord up: --demo must try to connect, not chat.
    # Offline here, so it stops at the login with a one-line error (network or token).
    env_file = tmp_path / "with-token.env"
    token = "M" * 24 + "." + "a" * 6 + "." + "b" * 27
    env_file.write_text(f"DISCORD_TOKEN={token}\n")
    result = run_bot_cli("--demo", "--model", str(tiny_model_dir), stdin="", env_file=env_file)
    assert result.returncode != 0
    assert token not in result.stdout + result.stderr
    assert "you: " not in result.stdout
    assert result.stderr.strip().splitlines()[-1].startswith("catgpt-bot: error: ")
    assert "Traceback" not in result.stderr


class PipedStdin(io.StringIO):
    def isatty(self) -> bool:
        return False


def test_demo_plays_its_lines_when_stdin_is_not_a_terminal(fake_engine):
    out = io.StringIO()
    run_console(fake_engine, demo=True, stdin=PipedStdin("ignored\n"), stdout=out)
    said = [c[-1]["content"] for c in fake_engine.calls]
    assert said == list(DEMO_LINES)
    assert out.getvalue().count("mochi: nya~ you said: ") == len(DEMO_LINES)


def test_console_keeps_the_conversation_and_names_the_speaker(fake_engine):
    out = io.StringIO()
    run_console(fake_engine, name="sam", stdin=PipedStdin("one\ntwo\n"), stdout=out)
    assert fake_engine.calls[-1] == [
        {"role": "user", "name": "sam", "content": "one"},
        {"role": "assistant", "content": "nya~ you said: one"},
        {"role": "user", "name": "sam", "content": "two"},
    ]


def test_console_user_named_like_the_persona_is_not_the_persona(fake_engine):
    run_console(fake_engine, name="Mochi", stdin=PipedStdin("hi\n"), stdout=io.StringIO())
    assert fake_engine.calls[-1] == [
        {"role": "user", "name": "Mochi (not the persona)", "content": "hi"}
    ]
