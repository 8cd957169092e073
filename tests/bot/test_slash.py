"""`/catgpt` through the real command tree: an Interaction from a gateway payload, with the
webhook adapter (Discord's interaction HTTP endpoints) replaced by a recorder."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import threading

import discord
import discord.ext.test as dpytest
import pytest
from discord import app_commands
from discord.ext import commands
from discord.ext.test import backend, factories
from discord.webhook.async_ import async_context

from bot.cogs import COOLDOWN_NOTICE
from bot.engines.local import LocalEngine
from bot.errors import EngineBusy, EngineClosed, GenerationError
from bot.settings import Settings
from catgpt.folder import PersonaCard

from .conftest import DEADLINE, started, until

EPHEMERAL = 64
DEFERRED_CHANNEL_MESSAGE = 5
_ids = itertools.count(1_100_000_000_000_000_000)


class RecordingAdapter:
    """Stands in for AsyncWebhookAdapter: records each call in order, answers like Discord."""

    def __init__(self):
        self.calls: list[tuple[str, dict | None]] = []

    async def create_interaction_response(self, interaction_id, token, *, params, **_):
        self.calls.append(("response", params.payload))
        return {"interaction": {"id": str(interaction_id), "type": 2}}

    async def execute_webhook(self, webhook_id, token, *, payload=None, **_):
        self.calls.append(("followup", payload))
        channel = dpytest.get_config().channels[0]
        return {  # the message Discord would create (followups wait for it)
            "id": str(next(_ids)),
            "channel_id": str(channel.id),
            "author": {
                "id": str(webhook_id),
                "username": "bot",
                "discriminator": "0",
                "avatar": None,
            },
            "content": payload.get("content", ""),
            "timestamp": "2024-01-01T00:00:00+00:00",
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [],
            "mention_roles": [],
            "attachments": [],
            "embeds": [],
            "pinned": False,
            "type": 0,
            "flags": payload.get("flags", 0),
        }

    async def delete_original_interaction_response(self, application_id, token, **_):
        self.calls.append(("delete_original", None))


@contextlib.contextmanager
def webhooks_to(recorder):
    """discord.py's webhook adapter (interaction responses, followups) replaced by `recorder`."""
    reset = async_context.set(recorder)
    try:
        yield recorder
    finally:
        async_context.reset(reset)


@pytest.fixture
def adapter():
    with webhooks_to(RecordingAdapter()) as recorder:
        yield recorder


def member_payload(member, permissions: int) -> dict:
    """`member` as an interaction carries it, with their permissions in the channel."""
    return {
        "user": factories.make_user_dict(member.name, member.discriminator, None, id_num=member.id),
        "nick": member.nick,
        "roles": [],
        "joined_at": "2024-01-01T00:00:00+00:00",
        "deaf": False,
        "mute": False,
        "flags": 0,
        "permissions": str(permissions),
    }


def command_data(*path: str, **options: str) -> dict:
    """The `data` of an application-command interaction for `/catgpt <path...>` with string
    `options`, nested as Discord sends subcommands (type 1) and subcommand groups (type 2)."""
    leaf: list[dict] = [{"name": k, "type": 3, "value": v} for k, v in options.items()]
    for depth, name in reversed(list(enumerate(path))):
        kind = 1 if depth == len(path) - 1 else 2
        leaf = [{"name": name, "type": kind, "options": leaf}]
    return {"id": "1", "name": "catgpt", "type": 1, "options": leaf}


def interaction_for(
    bot,
    prompt: str | None = None,
    member=None,
    *,
    path=("say",),
    channel=None,
    permissions: int | None = None,
    app_permissions: int | None = None,
    guild_id: int | None = None,
) -> discord.Interaction:
    """An interaction for `/catgpt say prompt:<prompt>` (or `path`) by `member` in `channel`.

    permissions, app_permissions: the member's and the bot's permissions in the channel, as
    Discord computes them and sends them along (default: all). guild_id: another server's id
    (the one a test played in before dpytest was configured again)."""
    config = dpytest.get_config()
    guild = config.guilds[0]
    channel = channel or config.channels[0]
    member = member or config.members[0]
    options = {"prompt": prompt} if prompt is not None else {}
    payload = {
        "id": str(next(_ids)),
        "application_id": str(bot.user.id),
        "type": 2,  # application command
        "token": "interaction-token",
        "version": 1,
        "guild_id": str(guild_id or guild.id),
        "channel_id": str(channel.id),
        "channel": {
            "id": str(channel.id),
            "type": 0,
            "guild_id": str(guild_id or guild.id),
            "name": channel.name,
            "position": 0,
        },
        "member": member_payload(member, permissions if permissions is not None else 2147483647),
        "app_permissions": str(app_permissions if app_permissions is not None else 2147483647),
        "attachment_size_limit": 8 * 1024 * 1024,
        "locale": "en-US",
        "data": command_data(*path, **options),
    }
    return discord.Interaction(data=payload, state=bot._connection)


async def run(bot, interaction):
    """What CommandTree._from_interaction schedules, awaited so the test can look after."""
    try:
        await bot.tree._call(interaction)
    except app_commands.AppCommandError as error:
        await bot.tree._dispatch_error(interaction, error)


async def test_catgpt_defers_first_then_follows_up(bot, fake_engine, adapter):
    fake_engine.respond = lambda messages: "mochi: purr @everyone"
    await run(bot, interaction_for(bot, "hello there"))

    kinds = [kind for kind, _ in adapter.calls]
    assert kinds == ["response", "followup"]
    defer = adapter.calls[0][1]
    assert defer["type"] == DEFERRED_CHANNEL_MESSAGE
    followup = adapter.calls[1][1]
    assert followup["content"] == "purr @\u200beveryone"
    assert followup["allowed_mentions"]["parse"] == []
    assert fake_engine.calls[-1] == [
        {"role": "user", "name": "alice_0_nick", "content": "hello there"}
    ]


@pytest.mark.parametrize("error", [GenerationError, EngineBusy])
async def test_engine_errors_come_back_ephemeral(bot, fake_engine, adapter, error):
    def fail(messages):
        raise error()

    fake_engine.respond = fail
    await run(bot, interaction_for(bot, "hi"))
    kinds = [kind for kind, _ in adapter.calls]
    # The public "thinking..." placeholder goes, the apology goes to the user alone.
    assert kinds == ["response", "delete_original", "followup"]
    followup = adapter.calls[-1][1]
    assert followup["content"] == error.user_message
    assert followup["flags"] & EPHEMERAL


async def test_cooldown_answers_ephemeral_without_deferring(bot, fake_engine, adapter):
    cooldown = bot.get_cog("Slash").cooldown
    cooldown.seconds = 60.0
    await run(bot, interaction_for(bot, "one"))
    await run(bot, interaction_for(bot, "two"))
    assert len(fake_engine.calls) == 1
    kind, payload = adapter.calls[-1]
    assert kind == "response"
    assert payload["data"]["content"] == COOLDOWN_NOTICE
    assert payload["data"]["flags"] & EPHEMERAL


async def test_command_is_registered_globally_not_synced_at_start(bot):
    assert [c.name for c in bot.tree.get_commands()] == ["catgpt"]
    (group,) = bot.tree.get_commands()
    names = sorted(c.qualified_name for c in group.walk_commands())
    assert names == [
        "catgpt about", "catgpt forget", "catgpt pause", "catgpt quiz", "catgpt quiz start",
        "catgpt quiz stats", "catgpt remember", "catgpt resume", "catgpt say",
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("nick", "label"),
    [
        ("sir: cat\nthe  great", "sir cat the great"),  # the mention path's label, not raw
        ("MOCHI", "MOCHI (not the persona)"),  # the persona's namesake
        ("mochi-chan", "mochi-chan (not the persona)"),  # or an alias's
    ],
)
async def test_the_speaker_is_labelled_like_in_the_mention_path(
    bot, fake_engine, adapter, nick, label
):
    guild = dpytest.get_config().guilds[0]
    member = backend.make_member(backend.make_user("someone", "0077"), guild, nick=nick)
    await run(bot, interaction_for(bot, "hello", member))
    assert fake_engine.calls[-1] == [{"role": "user", "name": label, "content": "hello"}]
    kinds = [kind for kind, _ in adapter.calls]
    assert kinds == ["response", "followup"]


class HeldGenerator:
    """Holds generate() until released, or until the engine aborts it at shutdown."""

    card = PersonaCard(name="mochi")

    def __init__(self):
        self.entered = threading.Event()
        self.release = threading.Event()

    def generate(self, conversations, should_stop=None):
        self.entered.set()
        while not self.release.wait(0.001):
            if should_stop is not None and should_stop():
                break
        return [f"re: {c[-1]['content']}" for c in conversations]


async def test_shutdown_tells_a_deferred_command_the_bot_is_going_to_sleep(
    tmp_path, adapter, monkeypatch
):
    generator = HeldGenerator()
    engine = LocalEngine(generator, queue_size=4, max_batch=4)
    # A shutdown timeout far shorter than the held generation: it is cut short.
    client = await started(Settings(model=tmp_path, cooldown=0, shutdown_timeout=0.01), engine)

    # What Discord had been told when the bot disconnected.
    told_at_disconnect = []
    base = commands.AutoShardedBot  # CatGPTBot's base: where its close() ends
    disconnect = base.close

    async def recording_close(self):
        told_at_disconnect.append(list(adapter.calls))
        await disconnect(self)

    monkeypatch.setattr(base, "close", recording_close)

    command = asyncio.create_task(run(client, interaction_for(client, "hi")))
    assert await until(generator.entered.is_set)
    assert command in client.inflight  # tracked like a mention
    client.ws = None  # dpytest's fake gateway cannot be closed; discord.py skips a missing one
    try:
        await asyncio.wait_for(client.close(), DEADLINE * 4)
    finally:
        generator.release.set()
    assert command.done()
    (calls,) = told_at_disconnect
    # Not left "thinking...": the placeholder went and the user was told, before disconnecting.
    assert [kind for kind, _ in calls] == ["response", "delete_original", "followup"]
    assert calls[-1][1]["content"] == EngineClosed.user_message
    assert calls[-1][1]["flags"] & EPHEMERAL


async def test_the_persona_s_own_account_is_labelled_apart(tmp_path, adapter):
    # (The ids come from catgpt.json at start-up: test_client checks that they arrive here.)
    from .conftest import FakeEngine, config

    engine = FakeEngine()
    client = await started(Settings(model=tmp_path, cooldown=0), engine)
    _, _, (alice, _) = config()
    client.get_cog("Slash").persona_accounts = frozenset({alice.id})
    await run(client, interaction_for(client, "it's me"))
    assert engine.calls[-1] == [
        {"role": "user", "name": "alice_0_nick (not the persona)", "content": "it's me"}
    ]
