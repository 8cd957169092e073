"""Where the bot talks and to whom: the guild, channel and thread allow-lists, the DM policy
(mentions and /catgpt, and where Discord offers /catgpt), and its permissions in a channel."""

from __future__ import annotations

import logging

import discord
import discord.ext.test as dpytest
import pytest
from discord.ext.test import backend, factories

from bot.cogs import NOT_HERE_NOTICE
from bot.settings import DMS_ANYONE, DMS_MEMBERS, DMS_OFF, Settings

from .conftest import FakeEngine, config, make_thread, mention, post, started
from .test_slash import EPHEMERAL, RecordingAdapter, command_data, interaction_for, run, webhooks_to

GUILD_CONTEXT, DM_CONTEXT, PRIVATE_CHANNEL_CONTEXT = 0, 1, 2
GUILD_INSTALL = 0


@pytest.fixture
def adapter():
    with webhooks_to(RecordingAdapter()) as recorder:
        yield recorder


async def bot_with(tmp_path, **settings) -> tuple[discord.Client, FakeEngine]:
    engine = FakeEngine()
    client = await started(Settings(model=tmp_path, cooldown=0, **settings), engine)
    return client, engine


def restrict(client, tmp_path, **settings) -> None:
    """New settings for both chat cogs (dpytest's ids exist only once the bot is started)."""
    for name in ("Mentions", "Slash"):
        client.get_cog(name).settings = Settings(model=tmp_path, cooldown=0, **settings)


@pytest.fixture(autouse=True)
async def _empty_queue():
    yield
    await dpytest.empty_queue()


def stranger() -> discord.User:
    """Someone in none of the bot's servers."""
    return backend.make_user("stranger", "0099")


@pytest.fixture
def member_lookups(monkeypatch):
    """Discord's GET /guilds/{guild}/members/{user}: 404 for a non-member, as Discord says."""
    asked: list[int] = []

    async def get_member(self, guild_id, member_id):
        asked.append(member_id)
        guild = dpytest.get_config().guilds[0]
        member = guild.get_member(member_id)
        if member is None or guild.id != guild_id:
            raise discord.NotFound(_Response(404), "Unknown Member")
        return factories.dict_from_member(member)

    monkeypatch.setattr(backend.FakeHttp, "get_member", get_member)
    return asked


class _Response:
    reason = "Not Found"

    def __init__(self, status: int):
        self.status = status


async def dm_from(user, text: str) -> None:
    channel = await user.create_dm()
    await post(channel, user, text)


# Guilds, channels and threads ----------------------------------------------------------------


async def test_only_allowed_guilds_are_answered(tmp_path):
    client, engine = await bot_with(tmp_path, allowed_guilds=frozenset({123456789012345678}))
    guild, channel, (alice, _) = config()
    await dpytest.message(f"{mention(client)} hi", channel, alice)
    assert dpytest.verify().message().nothing() and engine.calls == []

    restrict(client, tmp_path, allowed_guilds=frozenset({guild.id}))
    await dpytest.message(f"{mention(client)} hi", channel, alice)
    assert dpytest.verify().message().contains().content("nya~")


async def test_what_is_said_outside_the_allow_list_is_not_even_remembered(tmp_path):
    client, engine = await bot_with(tmp_path, allowed_guilds=frozenset({123456789012345678}))
    _, channel, (alice, _) = config()
    await dpytest.message("a private matter", channel, alice)
    assert channel.id not in client.get_cog("Mentions").mention_context.memory


async def test_allowing_a_channel_allows_its_threads_only(tmp_path):
    client, engine = await bot_with(tmp_path)
    guild, channel, (alice, _) = config()
    restrict(client, tmp_path, allowed_channels=frozenset({channel.id}))
    # The bot may post in threads under `channel` (dpytest's default role lacks the right).
    await dpytest.set_permission_overrides(
        guild.default_role, channel, send_messages_in_threads=True
    )
    other = backend.make_text_channel("other", guild)
    await dpytest.set_permission_overrides(guild.default_role, other, send_messages_in_threads=True)
    inside, outside = make_thread(channel, "inside"), make_thread(other, "outside")

    await post(outside, alice, f"{mention(client)} hi from outside")
    assert engine.calls == []
    await post(inside, alice, f"{mention(client)} hi from inside")
    assert engine.calls[-1][-1]["content"] == "@mochi hi from inside"


# DMs -----------------------------------------------------------------------------------------


async def test_dms_off_means_no_dm_is_read_or_answered(tmp_path):
    client, engine = await bot_with(tmp_path, dms=DMS_OFF)
    _, _, (alice, _) = config()
    await dm_from(alice, "hello?")
    assert engine.calls == []
    assert dpytest.verify().message().nothing()


async def test_with_an_allow_list_only_members_of_an_allowed_guild_may_dm(tmp_path, member_lookups):
    client, engine = await bot_with(tmp_path)
    guild, _, (alice, _) = config()
    restrict(client, tmp_path, allowed_guilds=frozenset({guild.id}))
    assert client.get_cog("Mentions").settings.dms == DMS_MEMBERS  # follows the allow-list

    outsider = stranger()
    await dm_from(outsider, "hi, we have never met")
    await dm_from(outsider, "hello??")
    assert engine.calls == []
    assert member_lookups == [outsider.id]  # asked Discord once, then remembered

    await dm_from(alice, "hi, it's alice")
    assert engine.calls[-1][-1]["content"] == "hi, it's alice"


async def test_dms_open_to_anyone_when_said_so(tmp_path, member_lookups):
    client, engine = await bot_with(tmp_path)
    guild, _, _ = config()
    restrict(client, tmp_path, allowed_guilds=frozenset({guild.id}), dms=DMS_ANYONE)
    await dm_from(stranger(), "hi from nowhere")
    assert engine.calls[-1][-1]["content"] == "hi from nowhere"
    assert member_lookups == []


def dm_interaction_for(
    client, user: discord.User, prompt: str, data: dict | None = None
) -> discord.Interaction:
    payload = {
        "id": str(factories.make_id()),
        "application_id": str(client.user.id),
        "type": 2,
        "token": "interaction-token",
        "version": 1,
        "channel_id": "1200000000000000001",
        "channel": {
            "id": "1200000000000000001",
            "type": 1,
            "recipients": [factories.make_user_dict(user.name, user.discriminator, None, user.id)],
        },
        "user": factories.make_user_dict(user.name, user.discriminator, None, id_num=user.id),
        "app_permissions": "2147483647",
        "attachment_size_limit": 8 * 1024 * 1024,
        "locale": "en-US",
        "context": DM_CONTEXT,
        "data": data or command_data("say", prompt=prompt),
    }
    return discord.Interaction(data=payload, state=client._connection)


@pytest.mark.parametrize(
    ("dms", "who", "answered"),
    [
        (DMS_OFF, "alice", False),
        (DMS_MEMBERS, "stranger", False),
        (DMS_MEMBERS, "alice", True),
        (DMS_ANYONE, "stranger", True),
    ],
)
async def test_catgpt_in_a_dm_follows_the_dm_policy(
    tmp_path, adapter, member_lookups, dms, who, answered
):
    client, engine = await bot_with(tmp_path)
    guild, _, (alice, _) = config()
    restrict(client, tmp_path, allowed_guilds=frozenset({guild.id}), dms=dms)
    user = alice._user if who == "alice" else stranger()
    await run(client, dm_interaction_for(client, user, "hi"))
    if answered:
        assert [kind for kind, _ in adapter.calls] == ["response", "followup"]
        assert engine.calls[-1][-1]["content"] == "hi"
    else:
        kind, payload = adapter.calls[-1]
        assert kind == "response" and payload["data"]["content"] == NOT_HERE_NOTICE
        assert payload["data"]["flags"] & EPHEMERAL
        assert engine.calls == []


async def test_catgpt_outside_the_allowed_channels_is_refused(tmp_path, adapter):
    client, engine = await bot_with(tmp_path)
    _, channel, _ = config()
    restrict(client, tmp_path, allowed_channels=frozenset({channel.id + 1}))
    await run(client, interaction_for(client, "hi"))
    kind, payload = adapter.calls[-1]
    assert payload["data"]["content"] == NOT_HERE_NOTICE and engine.calls == []


@pytest.mark.parametrize(
    ("dms", "contexts"),
    [
        (DMS_ANYONE, [GUILD_CONTEXT, DM_CONTEXT]),
        (DMS_MEMBERS, [GUILD_CONTEXT, DM_CONTEXT]),
        (DMS_OFF, [GUILD_CONTEXT]),
    ],
)
async def test_the_command_declares_where_it_may_be_used(tmp_path, dms, contexts):
    client, _ = await bot_with(tmp_path, dms=dms)
    # What `sync` sends Discord for the command.
    (payload,) = [command.to_dict(client.tree) for command in client.tree.get_commands()]
    assert sorted(payload["contexts"]) == contexts  # never a group DM
    assert payload["integration_types"] == [GUILD_INSTALL]  # a server app, not a user install
    assert payload["dm_permission"] is (DM_CONTEXT in contexts)


# Permissions ---------------------------------------------------------------------------------


async def test_no_send_permission_no_attempt_and_one_log_line(bot, fake_engine, caplog):
    guild, channel, (alice, bob) = config()
    await dpytest.set_permission_overrides(guild.default_role, channel, send_messages=False)
    with caplog.at_level(logging.WARNING, logger="bot.cogs.mentions"):
        await dpytest.message(f"{mention(bot)} hi", channel, alice)
        await dpytest.message(f"{mention(bot)} hello?", channel, bob)
    assert dpytest.verify().message().nothing()
    assert fake_engine.calls == []  # nothing generated for a reply it cannot post
    lines = [r for r in caplog.records if r.name == "bot.cogs.mentions"]
    assert len(lines) == 1 and str(channel.id) in lines[0].getMessage()
    assert lines[0].exc_info is None  # a line, not a traceback


async def test_a_thread_needs_send_messages_in_threads(bot, fake_engine):
    guild, channel, (alice, _) = config()
    thread = make_thread(channel)
    # Send Messages in the parent says nothing about its threads.
    await dpytest.set_permission_overrides(
        guild.default_role, channel, send_messages=True, send_messages_in_threads=False
    )
    await post(thread, alice, f"{mention(bot)} hi")
    assert fake_engine.calls == []
    await dpytest.set_permission_overrides(
        guild.default_role, channel, send_messages_in_threads=True
    )
    await post(thread, alice, f"{mention(bot)} hi again")
    # alice's two quick lines are one turn (catgpt/turns.py); the new one ends it.
    assert fake_engine.calls[-1][-1]["content"].split("\n")[-1] == "@mochi hi again"


async def test_without_read_message_history_it_answers_without_the_reply(
    bot, fake_engine, payloads, monkeypatch
):
    guild, channel, (alice, _) = config()
    await dpytest.set_permission_overrides(guild.default_role, channel, read_message_history=False)
    reads = []
    monkeypatch.setattr(bot.http, "logs_from", lambda *a, **k: reads.append(a))
    await dpytest.message(f"{mention(bot)} hi", channel, alice)
    assert dpytest.verify().message().contains().content("nya~")
    assert "message_reference" not in payloads[-1] or not payloads[-1]["message_reference"]
    assert reads == []  # and it does not try to read what it may not
