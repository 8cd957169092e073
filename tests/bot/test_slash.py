"""`/catgpt` through the real command tree: an Interaction from a gateway payload, with the
webhook adapter (Discord's interaction HTTP endpoints) replaced by a recorder."""

from __future__ import annotations

import itertools

import discord
import discord.ext.test as dpytest
import pytest
from discord import app_commands
from discord.ext.test import factories
from discord.webhook.async_ import async_context

from bot.cogs import COOLDOWN_NOTICE
from bot.errors import EngineBusy, GenerationError

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


@pytest.fixture
def adapter():
    recorder = RecordingAdapter()
    reset = async_context.set(recorder)
    yield recorder
    async_context.reset(reset)


def interaction_for(bot, prompt: str, member=None) -> discord.Interaction:
    config = dpytest.get_config()
    guild, channel = config.guilds[0], config.channels[0]
    member = member or config.members[0]
    payload = {
        "id": str(next(_ids)),
        "application_id": str(bot.user.id),
        "type": 2,  # application command
        "token": "interaction-token",
        "version": 1,
        "guild_id": str(guild.id),
        "channel_id": str(channel.id),
        "channel": {"id": str(channel.id), "type": 0, "guild_id": str(guild.id)},
        "member": {
            "user": factories.make_user_dict(
                member.name, member.discriminator, None, id_num=member.id
            ),
            "nick": member.nick,
            "roles": [],
            "joined_at": "2024-01-01T00:00:00+00:00",
            "deaf": False,
            "mute": False,
            "flags": 0,
            "permissions": "2147483647",
        },
        "app_permissions": "2147483647",
        "attachment_size_limit": 8 * 1024 * 1024,
        "locale": "en-US",
        "data": {
            "id": "1",
            "name": "catgpt",
            "type": 1,
            "options": [{"name": "prompt", "type": 3, "value": prompt}],
        },
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
