"""Replies in Discord: channel mentions by name, masked links shown, no link previews."""

from __future__ import annotations

import discord.ext.test as dpytest

from .conftest import config, mention
from .test_slash import adapter, interaction_for, run  # noqa: F401 (adapter is a fixture)

SUPPRESS_EMBEDS = 1 << 2  # the message flag that turns link previews off


async def test_a_mention_reply_names_channels_and_shows_links(bot, fake_engine, payloads):
    _, channel, (alice, _) = config()
    fake_engine.respond = lambda m: (
        f"mochi: see <#{channel.id}> and <#999999999999999999>, [free nitro](https://evil.example/x)"
    )
    await dpytest.message(f"{mention(bot)} where?", channel, alice)
    reply = dpytest.get_message()
    assert reply.content == (
        f"see #{channel.name} and <\u200b#999999999999999999>, free nitro (https://evil.example/x)"
    )
    assert payloads[-1]["flags"] & SUPPRESS_EMBEDS


async def test_an_invisible_reply_gets_the_fallback_line(bot, fake_engine):
    from catgpt.reply_cleaning import FALLBACK

    _, channel, (alice, _) = config()
    fake_engine.respond = lambda m: "\u200b\u2060 \ufeff"
    await dpytest.message(f"{mention(bot)} say nothing", channel, alice)
    assert dpytest.get_message().content == FALLBACK


async def test_catgpt_followups_suppress_link_previews(bot, fake_engine, adapter):  # noqa: F811
    fake_engine.respond = lambda m: "[click](https://evil.example)"
    await run(bot, interaction_for(bot, "a link?"))
    followup = adapter.calls[-1][1]
    assert followup["content"] == "click (https://evil.example)"
    assert followup["flags"] & SUPPRESS_EMBEDS
