"""The package's import boundaries (DESIGN.md): checked in a fresh interpreter."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

CHECK = """
import sys
import bot.engines.local, catgpt.local_backend, catgpt.reply, catgpt.reply_cleaning
import bot.quiz.console, bot.quiz.fingerprint  # the console quiz plays without Discord
assert "discord" not in sys.modules, "the engine side imported discord"
import bot.client, bot.cli, bot.console
for name in list(sys.modules):
    assert not name.startswith("training"), "the bot imported training/: " + name
print("ok")
"""

CHECK_SHARED = """
import sys
import catgpt.errors, catgpt.labels, catgpt.runtime, catgpt.folder, catgpt.prompt
import catgpt.reply_cleaning, catgpt.reply, catgpt.local_backend
for name in list(sys.modules):
    assert not name.startswith(("training", "bot", "discord")), "catgpt/ imported " + name
import training.cli, training.data.pipeline, training.model.trainer, training.commands.run
assert "discord" not in sys.modules, "training/ imported discord"
print("ok")
"""

CHECK_COGS = """
import sys
import bot.client, bot.cogs.mentions, bot.cogs.slash, bot.cogs.admin, bot.cogs.errors
import bot.cogs.quiz
assert "torch" not in sys.modules, "the Discord side imported torch"
print("ok")
"""

# What a bot that sends prompts to an inference server needs (DESIGN.md, "Scale"): the prompt
# and the cleaning, rendered with a tokenizer that is not AutoTokenizer (which pulls torch).
CHECK_NO_TORCH = """
import sys
from catgpt.reply_cleaning import clean_reply
from catgpt.folder import read_card
from catgpt.prompt import PromptBuilder
from catgpt.reply import Completion, Replier
from transformers import PreTrainedTokenizerFast

folder = sys.argv[1]
card = read_card(folder)
tokenizer = PreTrainedTokenizerFast.from_pretrained(folder)
prompts = PromptBuilder(tokenizer, persona_names=card.names, max_tokens=100, max_turns=4)
prompts.probe()
prompt = prompts.build([{"role": "user", "name": "alice", "content": "hi"}])
assert prompt.text == "alice: hi<|endoftext|>mochi:", prompt.text
assert clean_reply("mochi: hi @everyone", card.names) == "hi @\u200beveryone"
assert "torch" not in sys.modules, "rendering a prompt imported torch"
from bot.engines.completions_client import CompletionsClient
from bot.engines.remote import load_remote_replier  # the folder's bounds and template, no weights
replier = load_remote_replier(folder, CompletionsClient("http://127.0.0.1:9/v1"), history=4)
assert replier.prompts.build([{"role": "user", "name": "alice", "content": "hi"}]) == prompt
assert replier.finish(prompt, Completion(" mochi: hi\\nalice: x", "eos")).text == "hi"
assert "torch" not in sys.modules, "the remote backend's reply path imported torch"
print("ok")
"""


def run(code: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-c", code, *args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
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


def test_prompt_and_cleaning_need_no_torch(tiny_model_dir):
    result = run(CHECK_NO_TORCH, str(tiny_model_dir))
    assert result.stdout.strip() == "ok", result.stderr
