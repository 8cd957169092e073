"""CATGPT_WEBHOOK=on (issue 17 §3): replies through a channel webhook under the persona's name,
always labelled as a bot. Discord's webhook endpoints are replaced at the adapter level (as
test_slash.py does for interactions) and the channel's webhook list/creation at the HTTP
client, so every payload the bot would send is recorded."""

from __future__ import annotations

import logging

import discord.ext.test as dpytest
import pytest
from discord.ext.test import backend, factories
from hypothesis import given
from hypothesis import strategies as st

from bot.settings import Settings
from bot.webhook_voice import AVATAR, LABEL, WEBHOOK_NAME, persona_username, read_avatar

from .conftest import FakeEngine, config, make_thread, mention, message_data, post, started
from .test_slash import webhooks_to

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 16  # enough of a PNG for Discord's type check


class WebhookAdapter:
    """Stands in for AsyncWebhookAdapter: records each execute, answers with the message."""

    def __init__(self):
        self.sent: list[tuple[dict, int | None]] = []  # (payload, thread_id)

    async def execute_webhook(self, webhook_id, token, *, payload=None, thread_id=None, **_):
        self.sent.append((payload, thread_id))
        channel = dpytest.get_config().channels[0]
        data = {
            "id": str(factories.make_id()),
            "channel_id": str(thread_id or channel.id),
            "webhook_id": str(webhook_id),
            "author": {
                "id": str(webhook_id),
                "username": payload.get("username"),
                "discriminator": "0000",
                "avatar": None,
                "bot": True,
            },  # fmt: skip
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
            "flags": 0,
            "guild_id": str(channel.guild.id),
        }
        # Discord then delivers the post to every bot in the channel, this one included.
        backend.get_state().parse_message_create(dict(data))
        return data


class ChannelWebhooks:
    """The channel's webhooks as Discord keeps them: listed and created through bot.http."""

    def __init__(self, client, existing: list[dict] | None = None):
        self.client = client
        self.hooks = list(existing or [])
        self.created: list[dict] = []

    async def channel_webhooks(self, channel_id):
        return [hook for hook in self.hooks if hook["channel_id"] == str(channel_id)]

    async def create_webhook(self, channel_id, *, name, avatar=None, reason=None):
        hook = webhook_payload(channel_id, self.client.user.id, name)
        self.created.append({"name": name, "avatar": avatar})
        self.hooks.append(hook)
        return hook


def webhook_payload(channel_id, user_id, name=WEBHOOK_NAME) -> dict:
    guild = dpytest.get_config().guilds[0]
    return {
        "id": str(factories.make_id()),
        "type": 1,
        "channel_id": str(channel_id),
        "guild_id": str(guild.id),
        "name": name,
        "avatar": None,
        "token": "webhook-token",
        "application_id": None,
        "user": {"id": str(user_id), "username": "catgpt", "discriminator": "0", "avatar": None},
    }


@pytest.fixture
def adapter():
    with webhooks_to(WebhookAdapter()) as recorder:
        yield recorder


async def voiced_bot(tmp_path, monkeypatch, existing=None, **settings):
    engine = FakeEngine(lambda messages: "nya~ hello\nsecond line")
    client = await started(Settings(model=tmp_path, cooldown=0.0, webhook=True, **settings), engine)
    guild, channel, _ = config()
    await dpytest.set_permission_overrides(guild.default_role, channel, manage_webhooks=True)
    assert channel.permissions_for(guild.me).manage_webhooks
    hooks = ChannelWebhooks(client, existing)
    monkeypatch.setattr(client.http, "channel_webhooks", hooks.channel_webhooks, raising=False)
    monkeypatch.setattr(client.http, "create_webhook", hooks.create_webhook, raising=False)
    client.get_cog("Mentions").pause = _no_pause
    return client, engine, hooks


async def _no_pause(seconds: float) -> None:
    pass


def usernames(adapter) -> list[str]:
    return [payload["username"] for payload, _ in adapter.sent]


async def test_replies_go_through_one_webhook_under_the_labelled_persona(
    tmp_path, monkeypatch, adapter
):
    (tmp_path / AVATAR).write_bytes(PNG)
    client, engine, hooks = await voiced_bot(tmp_path, monkeypatch)
    _, channel, (alice, bob) = config()
    try:
        await dpytest.message(f"{mention(client)} hi", channel, alice)
        await dpytest.message(f"{mention(client)} me too", channel, bob)
        assert dpytest.sent_queue.empty()  # nothing through the bot account
        contents = [payload["content"] for payload, _ in adapter.sent]
        assert contents == ["nya~ hello", "second line"] * 2  # bursts, each through the hook
        assert usernames(adapter) == ["mochi (bot)"] * 4
        for payload, thread_id in adapter.sent:
            assert payload["allowed_mentions"]["parse"] == []  # pings no one
            assert not payload["allowed_mentions"].get("users")
            assert "message_reference" not in payload and thread_id is None
        # One webhook, made once, with the model folder's picture; found again afterwards.
        assert [c["name"] for c in hooks.created] == [WEBHOOK_NAME]
        assert hooks.created[0]["avatar"].startswith("data:image/png;base64,")
        # The persona's webhook messages are its own turns in the next context.
        assert {"role": "assistant", "content": "nya~ hello\nsecond line"} in engine.calls[-1]
    finally:
        await dpytest.empty_queue()


async def test_a_webhook_it_made_before_a_restart_is_reused(tmp_path, monkeypatch, adapter):
    client, _, _ = await voiced_bot(tmp_path, monkeypatch)
    _, channel, (alice, _) = config()
    mine = webhook_payload(channel.id, client.user.id)
    someone_elses = webhook_payload(channel.id, alice.id)
    client, _, hooks = await voiced_bot(tmp_path, monkeypatch, [someone_elses, mine])
    _, channel, (alice, _) = config()
    mine["channel_id"] = someone_elses["channel_id"] = str(channel.id)
    mine["user"]["id"] = str(client.user.id)
    try:
        await dpytest.message(f"{mention(client)} hi", channel, alice)
        assert hooks.created == []
        assert usernames(adapter) == ["mochi (bot)"] * 2
    finally:
        await dpytest.empty_queue()


async def test_without_manage_webhooks_it_answers_as_itself_with_one_line(
    tmp_path, monkeypatch, adapter, caplog
):
    client, engine, hooks = await voiced_bot(tmp_path, monkeypatch)
    guild, channel, (alice, _) = config()
    await dpytest.set_permission_overrides(guild.default_role, channel, manage_webhooks=False)
    assert not channel.permissions_for(guild.me).manage_webhooks
    caplog.set_level(logging.WARNING, logger="bot.webhook_voice")
    try:
        await dpytest.message(f"{mention(client)} hi", channel, alice)
        await dpytest.message(f"{mention(client)} again", channel, alice)
        assert adapter.sent == [] and hooks.created == []
        sent = []
        while not dpytest.sent_queue.empty():
            sent.append((await dpytest.sent_queue.get()).content)
        assert sent == ["nya~ hello", "second line"] * 2  # the bot account's usual replies
        lines = [r.getMessage() for r in caplog.records if r.name == "bot.webhook_voice"]
        assert len(lines) == 1 and "Manage Webhooks" in lines[0] and "\n" not in lines[0]
    finally:
        await dpytest.empty_queue()


async def test_a_reply_to_a_webhook_message_is_a_call(tmp_path, monkeypatch, adapter):
    client, engine, _ = await voiced_bot(tmp_path, monkeypatch)
    _, channel, (alice, bob) = config()
    try:
        await dpytest.message(f"{mention(client)} hi", channel, alice)
        hook_id = client.get_cog("Mentions").voice._hooks[channel.id].id
        # What Discord delivers for the webhook's post: a bot author, the webhook's id.
        data = message_data(channel, alice, "a line the persona said")
        data["author"] = {"id": str(hook_id), "username": "mochi (bot)", "discriminator": "0000",
                          "avatar": None, "bot": True}  # fmt: skip
        data["webhook_id"] = str(hook_id)
        data.pop("member", None)
        state = backend.get_state()
        state.parse_message_create(data)
        await dpytest.run_all_events()
        said = state._get_message(int(data["id"]))
        before = len(engine.calls)
        await post(channel, bob, "no ping, just a reply", reply_to=said)
        assert len(engine.calls) == before + 1
        # Read as the persona's own line (one turn with its reply just before).
        persona_turn = engine.calls[-1][-2]
        assert persona_turn["role"] == "assistant"
        assert persona_turn["content"].endswith("\na line the persona said")
    finally:
        await dpytest.empty_queue()


async def test_in_a_thread_the_parent_s_webhook_posts_into_the_thread(
    tmp_path, monkeypatch, adapter
):
    client, _, hooks = await voiced_bot(tmp_path, monkeypatch)
    guild, channel, (alice, _) = config()
    await dpytest.set_permission_overrides(
        guild.default_role,
        channel,
        send_messages=True,
        send_messages_in_threads=True,
        manage_webhooks=True,
    )
    thread = make_thread(channel, "chat")
    try:
        await post(thread, alice, f"{mention(client)} hi in a thread")
        assert [thread_id for _, thread_id in adapter.sent] == [thread.id, thread.id]
        assert len(hooks.created) == 1 and hooks.hooks[0]["channel_id"] == str(channel.id)
    finally:
        await dpytest.empty_queue()


@given(st.text(min_size=1, max_size=200))
def test_every_username_carries_the_label(name):
    username = persona_username(name)
    assert username.endswith(LABEL) and len(username) <= 80
    # Discord refuses a webhook username that holds either word.
    assert "discord" not in username.lower() and "clyde" not in username.lower()


def test_the_avatar_is_the_model_folder_s_if_there_is_one(tmp_path):
    assert read_avatar(tmp_path) is None
    (tmp_path / AVATAR).write_bytes(PNG)
    assert read_avatar(tmp_path) == PNG
