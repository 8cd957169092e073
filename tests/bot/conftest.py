"""Fixtures for the bot's tests: a tiny real model folder, a fake engine, a dpytest bot.

Most tests use FakeEngine (no weights, instant, records what it was asked). The engine tests
and the console test use `tiny_model_dir`: a 2-layer GPT-2 with a byte-level BPE tokenizer
trained on the fly and our chat template, saved like `catgpt-train train` saves a model.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import discord
import discord.ext.test as dpytest
import pytest
from discord.ext.test import backend, factories

from bot.client import CatGPTBot
from bot.errors import EngineClosed
from bot.settings import Settings
from catgpt.folder import PersonaCard

PERSONA = "mochi"

CORPUS = [
    "hi mochi! how are you today?",
    "nya~ i am sleepy, the sun is warm",
    "did you eat the fish already",
    "meow. yes. all of it. no regrets",
    "what game are we playing tonight?",
    "alice: bob: mochi: good night everyone",
] * 20


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    import torch

    # Tests may use training/ to build a model folder; the bot itself never imports it.
    from training.model.bases import train_tiny_tokenizer
    from training.model.chat_template import install_chat_template

    folder = tmp_path_factory.mktemp("tiny-model")
    tokenizer = train_tiny_tokenizer(CORPUS, vocab_size=400)
    install_chat_template(tokenizer, PERSONA)

    torch.manual_seed(0)
    model = tiny_gpt2(tokenizer)
    model.resize_token_embeddings(len(tokenizer))
    return save_model_folder(model, tokenizer, folder, max_new_tokens=12)


def save_model_folder(model, tokenizer, folder, *, max_new_tokens: int):
    """A servable folder: greedy decoding (tests compare exact replies), the persona card."""
    from transformers import GenerationConfig

    # save_pretrained writes model.generation_config: set it, or our values are lost.
    model.generation_config = GenerationConfig(
        do_sample=False,
        max_new_tokens=max_new_tokens,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    (folder / "catgpt.json").write_text(
        json.dumps({"persona": {"name": PERSONA, "aliases": ["mochi-chan"]}})
    )
    return folder


# How long a test waits for something that should happen at once. Generous: it is a deadline for
# a slow CI machine, never a measurement (no timed assertions in tests).
DEADLINE = 5.0


def wait_until(condition, timeout: float = DEADLINE) -> bool:
    """Poll `condition` from a plain thread until it holds or the deadline passes."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.001)
    return True


async def until(condition, timeout: float = DEADLINE) -> bool:
    """`wait_until` for the event loop: polls between other tasks' steps."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.001)
    return True


class FakeEngine:
    """Stands in for bot.engines.local.LocalEngine: same surface, answers from `respond()`."""

    def __init__(self, respond=None, card: PersonaCard | None = None):
        self.card = card or PersonaCard(name=PERSONA, aliases=("mochi-chan",))
        self.respond = respond or (lambda messages: f"nya~ you said: {messages[-1]['content']}")
        self.calls: list[list[dict]] = []
        self.closed = False

    def submit(self, messages) -> concurrent.futures.Future:
        future: concurrent.futures.Future = concurrent.futures.Future()
        self.calls.append(list(messages))
        try:
            if self.closed:
                raise EngineClosed()
            future.set_result(self.respond(list(messages)))
        except Exception as error:  # the future carries it, as the engine's does
            future.set_exception(error)
        return future

    async def reply(self, messages) -> str:
        return await asyncio.wrap_future(self.submit(messages))

    def stop_accepting(self) -> None:
        self.closed = True

    def close(self, timeout: float = 10.0) -> bool:
        self.closed = True
        return True

    async def aclose(self, timeout: float = 10.0) -> bool:
        return self.close(timeout)


@pytest.fixture
def fake_engine():
    return FakeEngine()


@pytest.fixture
def settings(tmp_path):
    return Settings(model=tmp_path, cooldown=0.0, history=10)


async def connect(client: CatGPTBot) -> CatGPTBot:
    """Wire `client` to dpytest: one guild, one text channel, members alice and bob."""
    await client._async_setup_hook()
    with pytest.MonkeyPatch.context() as patch:
        # dpytest 0.7 refuses sharded clients by an isinstance check on AutoShardedClient;
        # hidden from that one check, it swaps in its own state and nothing connects.
        patch.setattr(discord, "AutoShardedClient", type("NotSharded", (), {}))
        dpytest.configure(client, members=["alice", "bob"])
    # dpytest swaps in its own connection state, which does not know the loop yet.
    client._connection.loop = asyncio.get_running_loop()
    return client


async def started(settings: Settings, engine=None, **options) -> CatGPTBot:
    """A CatGPTBot wired to dpytest, past its setup_hook (engine loaded, cogs added)."""
    client = CatGPTBot(settings, engine=engine, intents=discord.Intents.all(), **options)
    await connect(client)
    await client.setup_hook()
    return client


@pytest.fixture
async def bot(fake_engine, settings):
    yield await started(settings, fake_engine)
    await dpytest.empty_queue()


@pytest.fixture
def payloads(monkeypatch):
    """Every message payload the bot builds (content, allowed_mentions, message_reference)."""
    recorded: list[dict] = []
    original = discord.abc.handle_message_parameters

    def recording(*args, **kwargs):
        params = original(*args, **kwargs)
        recorded.append(params.payload)
        return params

    monkeypatch.setattr(discord.abc, "handle_message_parameters", recording)
    return recorded


def config():
    """dpytest's world: the guild, its text channel, and the members (alice, bob)."""
    cfg = dpytest.get_config()
    return cfg.guilds[0], cfg.channels[0], cfg.members


def mention(client: discord.Client) -> str:
    return f"<@{client.user.id}>"


async def send_reply(content: str, member, channel, reply_to: discord.Message) -> discord.Message:
    """dpytest cannot send replies; build the gateway payload with a message_reference."""
    data = factories.make_message_dict(
        channel,
        member,
        content=content,
        mentions=backend.find_user_mentions(content, channel.guild),
        type=discord.MessageType.reply.value,
        guild_id=channel.guild.id,
    )
    data["message_reference"] = {
        "type": 0,
        "message_id": reply_to.id,
        "channel_id": channel.id,
        "guild_id": channel.guild.id,
    }
    state = backend.get_state()
    state.parse_message_create(data)
    backend._cur_config.messages.setdefault(channel.id, []).append(data)
    await dpytest.run_all_events()
    return state._get_message(data["id"])


def message_data(channel, author, content: str, *, id_num: int = -1, reply_to=None) -> dict:
    """A MESSAGE_CREATE/UPDATE payload as Discord sends it (full message, content included)."""
    guild = getattr(channel, "guild", None)
    data = factories.make_message_dict(
        channel,
        author,
        id_num=id_num,
        content=content,
        mentions=backend.find_user_mentions(content, guild),
        type=(discord.MessageType.reply if reply_to else discord.MessageType.default).value,
    )
    if guild is not None:
        data["guild_id"] = guild.id  # make_message_dict leaves it out for threads
    if guild is None:
        data.pop("member", None)  # a DM has no server member
    elif isinstance(author, discord.Member):  # the partial member Discord sends with a message
        data["member"] = {
            "nick": author.nick,
            "roles": [str(role.id) for role in author.roles if role != guild.default_role],
            "joined_at": "2024-01-01T00:00:00+00:00",
            "deaf": False,
            "mute": False,
            "flags": 0,
        }
    if reply_to is not None:
        data["message_reference"] = {
            "type": 0,
            "message_id": reply_to.id,
            "channel_id": channel.id,
            "guild_id": guild.id if guild else None,
        }
    return data


async def post(channel, author, content: str, *, reply_to=None) -> discord.Message:
    """A message arriving through the gateway (dpytest's `message` cannot reply or use threads)."""
    data = message_data(channel, author, content, reply_to=reply_to)
    state = backend.get_state()
    state.parse_message_create(data)
    backend._cur_config.messages.setdefault(channel.id, []).append(data)
    await dpytest.run_all_events()
    return state._get_message(data["id"])


async def edit(message: discord.Message, content: str) -> None:
    """A MESSAGE_UPDATE: what Discord sends when someone edits `message`."""
    data = message_data(message.channel, message.author, content, id_num=message.id)
    data["edited_timestamp"] = "2024-01-01T00:00:00+00:00"
    stored = backend._cur_config.messages.get(message.channel.id, [])
    stored[:] = [data if int(old["id"]) == message.id else old for old in stored]
    backend.get_state().parse_message_update(data)
    await dpytest.run_all_events()


async def delete(*messages: discord.Message, settle: bool = True) -> None:
    """MESSAGE_DELETE (one) or MESSAGE_DELETE_BULK (several), as Discord sends them; the
    messages are gone from the channel too (a fetch gets 404).

    settle: wait for every event handler to finish (False while one is held on purpose).
    """
    channel = messages[0].channel
    payload = {"channel_id": str(channel.id)}
    if getattr(channel, "guild", None) is not None:
        payload["guild_id"] = str(channel.guild.id)
    state = backend.get_state()
    if len(messages) == 1:
        state.parse_message_delete({**payload, "id": str(messages[0].id)})
    else:
        state.parse_message_delete_bulk({**payload, "ids": [str(m.id) for m in messages]})
    gone = {m.id for m in messages}
    stored = backend._cur_config.messages.get(channel.id, [])
    stored[:] = [data for data in stored if int(data["id"]) not in gone]
    if settle:
        await dpytest.run_all_events()


def restart_memory(client: CatGPTBot) -> None:
    """What a restart forgets: the bot's channel memory and discord.py's message cache."""
    from bot.memory import ChannelMemory

    context = client.get_cog("Mentions").mention_context
    context.memory = ChannelMemory(
        per_channel=context.memory.per_channel, max_channels=context.memory.max_channels
    )
    client._connection._messages.clear()


def make_thread(parent: discord.TextChannel, name: str = "thread") -> discord.Thread:
    """A public thread under `parent` (dpytest has none), known to the guild."""
    guild = parent.guild
    data = {
        "id": str(factories.make_id()),
        "guild_id": str(guild.id),
        "parent_id": str(parent.id),
        "owner_id": str(guild.owner_id or guild.me.id),
        "name": name,
        "type": discord.ChannelType.public_thread.value,
        "last_message_id": None,
        "rate_limit_per_user": 0,
        "message_count": 0,
        "member_count": 1,
        "thread_metadata": {
            "archived": False,
            "auto_archive_duration": 1440,
            "archive_timestamp": "2024-01-01T00:00:00+00:00",
            "locked": False,
        },
    }
    thread = discord.Thread(guild=guild, state=backend.get_state(), data=data)
    guild._add_thread(thread)
    return thread


ROOT = Path(__file__).resolve().parents[2]


def run_python(*args: str, stdin: str, path: list | None = None) -> subprocess.CompletedProcess:
    """`python ARGS` in a fresh process at the project root, with none of the host's bot
    settings (CATGPT_*, DISCORD_TOKEN) in its environment: only what the test passes counts.
    `path`: the folders for PYTHONPATH."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CATGPT_", "DISCORD_"))}
    if path is not None:
        env["PYTHONPATH"] = os.pathsep.join(map(str, path))
    return subprocess.run(
        [sys.executable, *args],
        input=stdin,
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=120,
        check=False,
    )


def tiny_gpt2(tokenizer):
    """A 2-layer GPT-2 sized for `tokenizer` (random weights: seed torch first)."""
    from transformers import GPT2Config, GPT2LMHeadModel

    return GPT2LMHeadModel(
        GPT2Config(
            vocab_size=len(tokenizer),
            n_positions=128,
            n_embd=64,
            n_layer=2,
            n_head=2,
            bos_token_id=tokenizer.eos_token_id,
            eos_token_id=tokenizer.eos_token_id,
        )
    )


@pytest.fixture
def quiz_store_factory():
    """Opens the quiz's results store: each call a new store over the same data, as a bot
    opening its database again after a restart. In memory, so tests can look into the rounds;
    the real database (bot.store.BotStore) is tested in test_store.py on SQLite and
    PostgreSQL, and under the game in test_quiz.py's restart test and the console quiz's."""
    from .quiz_store import FakeQuizStore, QuizData

    data = QuizData()

    async def open_store():
        return FakeQuizStore(data)

    open_store.data = data  # what the tests look into
    return open_store
