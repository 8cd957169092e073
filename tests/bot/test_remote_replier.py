"""The remote backend's reply path is the local one's: same bounds, prompts, cut and cleaning.

No server here (test_remote.py has one): what the bot reads from the folder without its weights
is compared with what the weights loaded in this process give.
"""

from __future__ import annotations

import json
import shutil

import pytest
from tokenizers.processors import TemplateProcessing

from bot.errors import ModelLoadError
from bot.remote_engine import load_remote_replier
from catgpt.generator import load_replier
from catgpt.reply import Completion, Reply

from .test_reply_path import bounded_folder, chat

LONG = chat(*[f"{'alice' if n % 2 else 'bob'}: fish number {n} in the sun" for n in range(30)])


@pytest.mark.parametrize(("context", "settings"), [
    ({}, {}),  # a foreign or older folder: the window (config.json) and generation_config.json
    ({}, {"history": 4, "max_new_tokens": 20}),  # the settings lower them
    ({"max_length": 40, "context_turns": 3}, {"history": 20}),  # trained bounds cap the setting
    ({"max_length": 40, "context_turns": 3}, {"max_new_tokens": 100, "history": 2}),
])
def test_the_same_bounds_and_prompts_as_the_loaded_model(tiny_model_dir, tmp_path, context,
                                                          settings):  # fmt: skip
    folder = bounded_folder(tiny_model_dir, tmp_path, **context)
    local = load_replier(folder, device="cpu", **settings)
    remote = load_remote_replier(folder, **settings)
    assert remote.max_new_tokens == local.max_new_tokens
    assert remote.prompts.max_tokens == local.prompts.max_tokens
    assert remote.prompts.max_turns == local.prompts.max_turns
    assert remote.prompts.persona_names == local.prompts.persona_names == ("mochi", "mochi-chan")
    assert remote.prompts.build(LONG) == local.prompts.build(LONG)


def test_a_completion_ends_as_a_local_row_does(tiny_model_dir):
    replier = load_remote_replier(tiny_model_dir)
    prompt = replier.prompts.build(chat("alice: hi mochi"))
    # The persona's own label at the start is stripped, the next speaker's turn is cut off ...
    ended = replier.finish(prompt, Completion(" mochi: meow meow\nalice: more fish", "eos"))
    assert ended == Reply("meow meow", "label")
    # ... and what is sent is cleaned: no mention survives.
    assert replier.finish(prompt, Completion(" hi @everyone", "length")).text == (
        "hi @\u200beveryone"
    )
    with pytest.raises(TypeError, match="finish"):  # the server is asked by the engine, async
        replier.replies([chat("alice: hi")])


def test_a_bos_the_server_adds_takes_room_from_the_prompt(tiny_model_dir, tmp_path):
    folder = shutil.copytree(tiny_model_dir, tmp_path / "bos")
    tokenizer = json.loads((folder / "tokenizer.json").read_text())
    eos = "<|endoftext|>"
    eos_id = next(t["id"] for t in tokenizer["added_tokens"] if t["content"] == eos)
    processor = TemplateProcessing(single=f"{eos} $A", special_tokens=[(eos, eos_id)])
    tokenizer["post_processor"] = json.loads(processor.__getstate__())
    (folder / "tokenizer.json").write_text(json.dumps(tokenizer))

    remote = load_remote_replier(folder)
    assert remote.prompts.tokenizer("")["input_ids"] == [eos_id]
    local = load_replier(tiny_model_dir, device="cpu")
    assert remote.prompts.max_tokens == local.prompts.max_tokens - 1


def test_a_folder_that_cannot_render_prompts_is_one_line_naming_it(tiny_model_dir, tmp_path):
    no_fast = shutil.copytree(tiny_model_dir, tmp_path / "no-fast")
    (no_fast / "tokenizer.json").unlink()
    with pytest.raises(ModelLoadError) as missing:
        load_remote_replier(no_fast)
    assert str(missing.value).startswith(f"{no_fast}: no tokenizer.json")
    assert "CATGPT_BACKEND=local" in str(missing.value)

    broken = shutil.copytree(tiny_model_dir, tmp_path / "broken")
    (broken / "chat_template.jinja").write_text("{% for m in messages %}{{ m.content ")
    with pytest.raises(ModelLoadError) as template:
        load_remote_replier(broken)
    assert str(template.value).startswith(f"{broken / 'chat_template.jinja'}: the chat template")
    for error in (missing.value, template.value):
        assert "\n" not in str(error)


class ScriptedServer:
    """Stands in for CompletionsClient: answers from a script, records what was asked."""

    def __init__(self, answers):
        self.answers = list(answers)
        self.asked = 0

    async def complete(self, prompt, *, stop, max_tokens, sampling):
        from bot.remote import CompletionResult

        self.asked += 1
        return CompletionResult(self.answers.pop(0), "stop")

    async def aclose(self):
        pass


class RecitedGuard:
    """A copy guard that counts how often `recited` is in a reply."""

    def __init__(self, recited: str, retries: int = 3):
        self.recited = recited
        self.retries = retries

    def copied(self, text: str) -> int:
        return text.count(self.recited)


@pytest.mark.parametrize(("sampling", "answers", "sent", "asked"), [
    # A copying reply is asked for again; the first that does not copy is sent.
    ({"temperature": 0.8}, ["my secret diary", "something new"], "something new", 2),
    # All draws copy: the least copying one goes out.
    ({"temperature": 0.8}, ["my secret diary my secret diary", "my secret diary", "my secret "
                            "diary x my secret diary", "my secret diary y my secret diary"],
     "my secret diary", 4),
    # Greedy decoding would only repeat itself: load_guard gives no retries, no second request.
    ({"temperature": 0.0}, ["my secret diary"], "my secret diary", 1),
])
def test_the_copy_guard_works_on_the_remote_path_too(tiny_model_dir, tmp_path, sampling,
                                                      answers, sent, asked):  # fmt: skip
    from bot.remote_engine import RemoteEngine

    folder = bounded_folder(tiny_model_dir, tmp_path)
    replier = load_remote_replier(folder, copy_guard=False)
    replier.guard = RecitedGuard("my secret diary", retries=3 if sampling["temperature"] else 0)
    server = ScriptedServer(answers)
    engine = RemoteEngine(server, replier, sampling=sampling)
    try:
        assert engine.submit(chat("bob: what did you write?")).result(timeout=30) == sent
        assert server.asked == asked
    finally:
        engine.close(5.0)
