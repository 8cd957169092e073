"""The remote backend's reply path is the local one's: same bounds, prompts, cut and cleaning.

No server here (test_remote.py has one): what the bot reads from the folder without its weights
is compared with what the weights loaded in this process give.
"""

from __future__ import annotations

import json
import shutil

import pytest
from tokenizers.processors import TemplateProcessing

from bot.engines.completions_client import CompletionResult
from bot.engines.remote import RemoteEngine, load_remote_replier
from bot.errors import ModelLoadError
from catgpt.local_backend import load_replier
from catgpt.reply import Completion, Reply

from .test_reply_path import bounded_folder, chat


class ScriptedServer:
    """Stands in for CompletionsClient: answers from a script, records what was asked."""

    def __init__(self, answers=()):
        self.answers = list(answers)
        self.asked = 0
        self.max_tokens: list[int] = []

    async def complete(self, prompt, *, stop, max_tokens, sampling):
        self.asked += 1
        self.max_tokens.append(max_tokens)
        return CompletionResult(self.answers.pop(0), "stop")

    async def aclose(self):
        pass


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
    remote = load_remote_replier(folder, ScriptedServer(), **settings)
    assert remote.max_new_tokens == local.max_new_tokens
    assert remote.prompts.max_tokens == local.prompts.max_tokens
    assert remote.prompts.max_turns == local.prompts.max_turns
    assert remote.prompts.persona_names == local.prompts.persona_names == ("mochi", "mochi-chan")
    assert remote.prompts.build(LONG) == local.prompts.build(LONG)


def test_a_completion_ends_as_a_local_row_does(tiny_model_dir):
    replier = load_remote_replier(tiny_model_dir, ScriptedServer())
    prompt = replier.prompts.build(chat("alice: hi mochi"))
    # The persona's own label at the start is stripped, the next speaker's turn is cut off ...
    ended = replier.finish(prompt, Completion(" mochi: meow meow\nalice: more fish", "eos"))
    assert ended == Reply("meow meow", "label")
    # ... and what is sent is cleaned: no mention survives.
    assert replier.finish(prompt, Completion(" hi @everyone", "length")).text == (
        "hi @\u200beveryone"
    )


def test_a_bos_the_server_adds_takes_room_from_the_prompt(tiny_model_dir, tmp_path):
    folder = shutil.copytree(tiny_model_dir, tmp_path / "bos")
    tokenizer = json.loads((folder / "tokenizer.json").read_text())
    eos = "<|endoftext|>"
    eos_id = next(t["id"] for t in tokenizer["added_tokens"] if t["content"] == eos)
    processor = TemplateProcessing(single=f"{eos} $A", special_tokens=[(eos, eos_id)])
    tokenizer["post_processor"] = json.loads(processor.__getstate__())
    (folder / "tokenizer.json").write_text(json.dumps(tokenizer))

    remote = load_remote_replier(folder, ScriptedServer())
    assert remote.prompts.tokenizer("")["input_ids"] == [eos_id]
    local = load_replier(tiny_model_dir, device="cpu")
    assert remote.prompts.max_tokens == local.prompts.max_tokens - 1


def test_a_folder_that_cannot_render_prompts_is_one_line_naming_it(tiny_model_dir, tmp_path):
    no_fast = shutil.copytree(tiny_model_dir, tmp_path / "no-fast")
    (no_fast / "tokenizer.json").unlink()
    with pytest.raises(ModelLoadError) as missing:
        load_remote_replier(no_fast, ScriptedServer())
    assert str(missing.value).startswith(f"{no_fast}: no tokenizer.json")
    assert "CATGPT_BACKEND=local" in str(missing.value)

    broken = shutil.copytree(tiny_model_dir, tmp_path / "broken")
    (broken / "chat_template.jinja").write_text("{% for m in messages %}{{ m.content ")
    with pytest.raises(ModelLoadError) as template:
        load_remote_replier(broken, ScriptedServer())
    assert str(template.value).startswith(f"{broken / 'chat_template.jinja'}: the chat template")
    for error in (missing.value, template.value):
        assert "\n" not in str(error)


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
    folder = bounded_folder(tiny_model_dir, tmp_path)
    server = ScriptedServer(answers)
    replier = load_remote_replier(folder, server, copy_guard=False)
    replier.guard = RecitedGuard("my secret diary", retries=3 if sampling["temperature"] else 0)
    engine = RemoteEngine(replier)
    try:
        assert engine.submit(chat("bob: what did you write?")).result(timeout=30) == sent
        assert server.asked == asked
    finally:
        engine.close(5.0)


def test_one_replier_serves_the_server_from_any_thread(tiny_model_dir, tmp_path):
    # The remote backend is a backend of the one reply path: the Replier's own `replies` (what
    # eval and the local engine call) asks the server through the engine's loop, guard included.
    folder = bounded_folder(tiny_model_dir, tmp_path)
    server = ScriptedServer(["my secret diary", " mochi: purr\nalice: no", "something new"])
    replier = load_remote_replier(folder, server, copy_guard=False)
    replier.guard = RecitedGuard("my secret diary")
    engine = RemoteEngine(replier)
    try:
        first, second = replier.replies([chat("bob: hi"), chat("alice: hi")])
        assert (first.text, first.candidates, first.first.text) == ("something new", 2,
                                                                    "my secret diary")
        assert (second.text, second.finish) == ("purr", "label")
        assert server.max_tokens == [replier.max_new_tokens] * 3
    finally:
        engine.close(5.0)


def test_a_huge_completion_is_cut_to_the_reply_budget_before_the_guard(tiny_model_dir, tmp_path):
    # A server that ignores max_tokens: what is cleaned, guarded and sent is what max_new_tokens
    # tokens can hold, so the guard's work is bounded whatever the server sends.
    folder = bounded_folder(tiny_model_dir, tmp_path)
    huge = "nya " * 250_000  # 1 MB
    server = ScriptedServer([huge, huge])
    replier = load_remote_replier(folder, server, copy_guard=False)
    guarded: list[int] = []

    class Counting(RecitedGuard):
        def copied(self, text):
            guarded.append(len(text))
            return 0

    replier.guard = Counting("x")
    engine = RemoteEngine(replier)
    try:
        text = engine.submit(chat("bob: talk")).result(timeout=30)
    finally:
        engine.close(5.0)
    budget = replier.reply_chars
    assert budget < len(huge) and 0 < len(text) <= budget
    assert guarded and max(guarded) <= budget
    tokens = len(replier.prompts.tokenizer(text, add_special_tokens=False)["input_ids"])
    assert tokens >= replier.max_new_tokens  # the budget never cuts what the model may write
