"""The remote backend against a real OpenAI-compatible server (`transformers serve`).

One server for the whole file (tests/bot/serving.py); only the crash test restarts it.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil

import discord.ext.test as dpytest
import pytest

from bot.cogs import NOTICES
from bot.engines.completions_client import CompletionsClient
from bot.engines.remote import RemoteEngine
from bot.errors import BackendError, EngineBusy, EngineClosed, ServerUnavailable
from bot.settings import Settings

from .conftest import ROOT, config, mention, run_python, started, until, wait_until
from .serving import chatty_model_dir_fixture, free_port, serve_fixture  # noqa: F401
from .slim_install import base_requirements, closure, distributions_of, slim_site

KEY = "sk-test-0123456789abcdef-SECRET"

CONVERSATIONS = [
    [{"role": "user", "name": "alice", "content": "hi mochi"}],
    [{"role": "user", "name": "bob", "content": "what game tonight?"}],
    [
        {"role": "user", "name": "carol", "content": "good night everyone"},
        {"role": "assistant", "content": "meow"},
        {"role": "user", "name": "alice", "content": "did you eat the fish already"},
    ],
]


def is_a_reply(text: str) -> bool:
    """The persona talking, not one of the bot's apologies."""
    return bool(text) and text not in NOTICES


def remote(folder, server, **options) -> RemoteEngine:
    options.setdefault("api_base", server.api_base)
    return RemoteEngine.from_folder(folder, **options)


@pytest.fixture(scope="module")
def engine(chatty_model_dir, serve):
    engine = remote(chatty_model_dir, serve)
    yield engine
    assert engine.close(5.0)


def test_reply_matches_the_local_backend_under_greedy(engine, chatty_model_dir):
    from catgpt.local_backend import load_replier  # the local backend, in this (test) process

    local = load_replier(chatty_model_dir, device="cpu")
    remote_path = engine.replier
    # do_sample false in generation_config.json: greedy
    assert engine.backend.sampling == {"temperature": 0.0}
    assert engine.client.model == str(chatty_model_dir)  # the one model the server serves
    # The bounds read from the folder's JSON are the ones the loaded model gives.
    assert remote_path.max_new_tokens == local.max_new_tokens == 16
    assert remote_path.prompts.max_tokens == local.prompts.max_tokens == 128 - 16
    assert remote_path.prompts.max_turns == local.prompts.max_turns
    for chat in CONVERSATIONS:
        assert engine.submit(chat).result() == local.generate([chat])[0]
    # Past the context window both drop the same oldest turns.
    long = [{"role": "user", "name": "alice", "content": f"fish number {n}"} for n in range(40)]
    prompt = remote_path.prompts.build(long)
    assert prompt.text == local.prompts.tokenizer.decode(local.prompts.build(long).ids)
    assert prompt.text.startswith("alice: fish number ") and "number 0<" not in prompt.text
    assert engine.submit(long).result() == local.generate([long])[0]
    # One turn longer than the whole window keeps its newest words, within the budget, as the
    # server counts it (it tokenizes the text with the tokenizer's defaults).
    huge = [{"role": "user", "name": "alice", "content": "meow " * 300}]
    text = remote_path.prompts.build(huge).text
    assert text.endswith("meow <|endoftext|>mochi:")
    tokenizer = remote_path.prompts.tokenizer
    assert len(tokenizer(text)["input_ids"]) <= remote_path.prompts.max_tokens


async def test_stop_cuts_at_the_next_speaker(engine, serve):
    # Asked raw, the model writes alice's next turn itself after its own ...
    prompt = engine.replier.prompts.build(CONVERSATIONS[0]).text
    raw = CompletionsClient(serve.api_base, model=serve.model)
    try:
        text = (await raw.complete(prompt, stop=[], max_tokens=12)).text
        assert text.startswith(" meow meow\nalice:")
        # ... the server stops there but leaves the stop string in; the client cuts it off.
        stopped = await raw.complete(prompt, stop=["\nalice:"], max_tokens=12)
        assert stopped.text == " meow meow" and stopped.finish_reason == "stop"
    finally:
        await raw.aclose()
    # And the engine stops at the next speaker on its own.
    assert await engine.reply(CONVERSATIONS[0]) == "meow meow"


async def test_busy_when_every_slot_and_the_queue_are_taken(chatty_model_dir, serve):
    engine = remote(chatty_model_dir, serve, concurrency=1, queue_size=0)
    serve.freeze()
    try:
        first = engine.submit(CONVERSATIONS[0])
        assert wait_until(engine.client._slots.locked)
        with pytest.raises(EngineBusy):
            await engine.reply(CONVERSATIONS[1])
    finally:
        serve.thaw()
    assert first.result(timeout=30) == "meow meow"
    assert engine.stats == {"served": 1, "failed": 0, "busy": 1}
    assert engine.close(5.0)


async def test_a_server_that_stops_answering_times_out_with_an_apology(chatty_model_dir, serve):
    engine = remote(chatty_model_dir, serve, timeout=1.0)
    serve.freeze()
    try:
        with pytest.raises(ServerUnavailable):
            await engine.reply(CONVERSATIONS[0])
    finally:
        serve.thaw()
    assert await engine.reply(CONVERSATIONS[0]) == "meow meow"
    assert engine.close(5.0)


def test_shutdown_cuts_a_stuck_request_short_with_going_to_sleep(chatty_model_dir, serve):
    engine = remote(chatty_model_dir, serve)
    serve.freeze()
    try:
        stuck = engine.submit(CONVERSATIONS[0])
        assert wait_until(serve.request_arrived, timeout=30)
        engine.stop_accepting()
        with pytest.raises(EngineClosed):
            engine.submit(CONVERSATIONS[1])  # no new work once closing
        assert engine.close(timeout=0.5)  # the request in flight gets half a second
        with pytest.raises(EngineClosed):  # ... and its user hears "going to sleep"
            stuck.result(timeout=5)
    finally:
        serve.thaw()


async def test_the_server_dies_mid_request_the_bot_apologises_and_recovers(
    chatty_model_dir,
    serve,
):
    engine = remote(chatty_model_dir, serve)
    client = await started(Settings(model=chatty_model_dir, cooldown=0, bursts=False), engine)
    _, channel, (alice, _) = config()
    try:
        await dpytest.message(f"{mention(client)} hi mochi", channel, alice)
        assert is_a_reply(dpytest.get_message().content)

        serve.freeze()  # the request reaches the server and waits there ...
        said = dpytest.message(f"{mention(client)} hi mochi", channel, alice)
        talking = asyncio.create_task(said)
        assert await until(serve.request_arrived, timeout=30)
        serve.kill()  # ... when it dies: the connection is reset, retries are refused
        await asyncio.wait_for(talking, 60)
        assert dpytest.verify().message().content(ServerUnavailable.user_message)

        serve.start()  # same port; the bot was left alone and simply tries again
        await dpytest.message(f"{mention(client)} hi mochi", channel, alice)
        assert is_a_reply(dpytest.get_message().content)
        assert engine.stats["served"] == 2 and engine.stats["failed"] == 1
    finally:
        if serve.process.poll() is not None:
            serve.start()  # the other tests share this server
        await client.close()


def test_start_up_check_names_the_url_and_what_failed(chatty_model_dir, serve):
    nowhere = f"http://127.0.0.1:{free_port()}/v1"
    with pytest.raises(BackendError) as unreachable:
        RemoteEngine.from_folder(chatty_model_dir, api_base=nowhere, api_key=KEY)
    assert str(unreachable.value).startswith(f"{nowhere}: cannot reach the inference server (")
    assert "CATGPT_API_BASE" in str(unreachable.value)

    with pytest.raises(BackendError) as wrong_model:
        remote(chatty_model_dir, serve, api_model="gpt-4", api_key=KEY)
    message = str(wrong_model.value)
    assert message.startswith("CATGPT_API_MODEL: the server at " + serve.api_base)
    assert "does not serve 'gpt-4'" in message and repr(serve.model) in message

    with pytest.raises(BackendError, match=r"models answered HTTP 404"):
        remote(chatty_model_dir, serve, api_model=serve.model, api_base=serve.url + "/nope")
    for error in (unreachable.value, wrong_model.value):
        assert KEY not in str(error) and "\n" not in str(error)


def test_the_api_key_never_shows(chatty_model_dir, serve, caplog):
    caplog.set_level(logging.DEBUG)  # every logger, the SDK's and httpx's included
    engine = remote(chatty_model_dir, serve, api_key=KEY)
    try:
        assert engine.submit(CONVERSATIONS[0]).result() == "meow meow"
        assert KEY not in repr(engine) and KEY not in repr(engine.client)
    finally:
        engine.close(5.0)
    settings = Settings(model=chatty_model_dir, api_key=KEY)
    assert KEY not in repr(settings)
    # The HTTP layer's own debug lines were captured too (request lines, header traces).
    assert any(r.name.startswith(("openai", "httpx", "httpcore")) for r in caplog.records)
    assert KEY not in caplog.text


def test_console_on_the_openai_backend_never_imports_torch(chatty_model_dir, serve, tmp_path):
    """A fresh interpreter: settings, the bot's modules, the remote engine, a reply; no torch.

    The bot's copy of the folder has no weights: only the server needs them.
    """
    weightless = shutil.copytree(
        chatty_model_dir, tmp_path / "no-weights", ignore=shutil.ignore_patterns("*.safetensors")
    )
    env_file = tmp_path / "remote.env"
    env_file.write_text(
        f"CATGPT_MODEL={weightless}\nCATGPT_BACKEND=openai\n"
        f"CATGPT_API_BASE={serve.api_base}\nCATGPT_API_KEY={KEY}\n"
    )
    slim = closure(base_requirements())
    assert "torch" not in slim
    site = slim_site(tmp_path / "slim", slim)  # torch, peft, PIL...: not installed there
    code = (
        "import sys\n"
        "import bot.client, bot.cli\n"  # the Discord side is loaded too, as in the real bot
        f"argv = ['--console', '--name', 'alice', '--env-file', {str(env_file)!r}]\n"
        "status = bot.cli.main(argv)\n"
        "print('torch loaded:', sorted(m for m in sys.modules if m.split('.')[0] == 'torch')[:3],"
        " file=sys.stderr)\n"
        "import json\n"
        "print('modules:', json.dumps(sorted(sys.modules)), file=sys.stderr)\n"
        "sys.exit(status)\n"
    )
    result = run_python("-S", "-c", code, stdin="hi mochi\n", path=[site, ROOT])
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["alice: hi mochi", "mochi: meow meow"]
    assert "torch loaded: []" in result.stderr
    assert KEY not in result.stdout + result.stderr
    # It ran on the slim install's modules alone.
    (line,) = [ln for ln in result.stderr.splitlines() if ln.startswith("modules: ")]
    imported = distributions_of(json.loads(line.removeprefix("modules: ")))
    assert all(dists & slim for dists in imported.values()), imported
    assert {"discord-py", "openai", "transformers"} <= set().union(*imported.values())


def test_cli_start_up_failure_is_one_line_naming_the_url(chatty_model_dir, tmp_path):
    nowhere = f"http://127.0.0.1:{free_port()}/v1"
    env_file = tmp_path / "remote.env"
    env_file.write_text(
        f"CATGPT_MODEL={chatty_model_dir}\nCATGPT_BACKEND=openai\n"
        f"CATGPT_API_BASE={nowhere}\nCATGPT_API_KEY={KEY}\n"
    )
    result = run_python("-m", "bot", "--console", "--env-file", str(env_file), stdin="hi\n")
    assert result.returncode == 1
    lines = result.stderr.splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith(f"catgpt-bot: error: {nowhere}: cannot reach the inference server (")
    assert "Start the server, or fix CATGPT_API_BASE." in result.stderr
    assert KEY not in result.stdout + result.stderr and "Traceback" not in result.stderr


def test_the_slim_install_says_in_one_line_what_the_other_parts_need(tiny_model_dir, tmp_path):
    # A bot host with `pip install catgpt` only: the local backend and catgpt-train name the
    # extra to install instead of a ModuleNotFoundError traceback.
    site = slim_site(tmp_path / "slim", closure(base_requirements()))
    env_file = tmp_path / "local.env"
    env_file.write_text(f"CATGPT_MODEL={tiny_model_dir}\nCATGPT_BACKEND=local\n")
    runs = {
        "catgpt-bot": run_python("-S", "-m", "bot", "--console", "--env-file", str(env_file),
                                 stdin="hi\n", path=[site, ROOT]),
        "catgpt-train": run_python("-S", "-m", "training", "prepare", "--help", stdin="",
                                   path=[site, ROOT]),
    }
    for prog, result in runs.items():
        extra = "local" if prog == "catgpt-bot" else "train"
        assert result.returncode == 1, result.stderr
        (line,) = result.stderr.strip().splitlines()
        assert line.startswith(f"{prog}: error: ") and ", which is not installed" in line
        assert line.endswith(f"pip install 'catgpt[{extra}]'")
