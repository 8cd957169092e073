"""The package's import boundaries (DESIGN.md): checked in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CHECK = """
import sys
import bot.engine, bot.generator, bot.sanitize
assert "discord" not in sys.modules, "the engine side imported discord"
import bot.client, bot.cli, bot.console
for name in list(sys.modules):
    assert not name.startswith("training"), "the bot imported training/: " + name
print("ok")
"""

CHECK_SHARED = """
import sys
import catgpt.errors, catgpt.labels, catgpt.runtime
for name in list(sys.modules):
    assert not name.startswith(("training", "bot", "discord")), "catgpt/ imported " + name
import training.cli, training.data.pipeline, training.model.trainer, training.commands.run
assert "discord" not in sys.modules, "training/ imported discord"
print("ok")
"""

CHECK_COGS = """
import sys
import bot.client, bot.cogs.mentions, bot.cogs.slash, bot.cogs.admin, bot.cogs.errors
assert "torch" not in sys.modules, "the Discord side imported torch"
print("ok")
"""


def run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=False
    )


def test_engine_imports_no_discord_and_bot_no_training():
    result = run(CHECK)
    assert result.stdout.strip() == "ok", result.stderr


def test_cogs_and_client_import_no_torch():
    result = run(CHECK_COGS)
    assert result.stdout.strip() == "ok", result.stderr


def test_shared_code_imports_neither_half_and_training_no_discord():
    result = run(CHECK_SHARED)
    assert result.stdout.strip() == "ok", result.stderr
