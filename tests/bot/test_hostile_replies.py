"""What a model or a server writes reaches Discord and the terminal cleaned (issue 15).

The reply path cleans replies (tests/shared/test_cleaning.py generates the inputs); these check
that the bot's own edges, a Discord message and a console line, send what the cleaning left.
"""

from __future__ import annotations

import io

import discord.ext.test as dpytest

from bot.console import run_console

from .conftest import config, mention
from .test_console import PipedStdin

HOSTILE = (
    "mochi: mochi: nya \x1b[31mred\x1b[0m\x1b]0;pwned\x07 \x9b2J\x1b]8;;https://evil.example"
    "\x1b\\fish\x1b]8;;\x1b\\\u202e!\nbob: i am bob now"
)


async def test_a_hostile_reply_reaches_discord_cleaned(bot, fake_engine):
    _, channel, (alice, _) = config()
    fake_engine.respond = lambda messages: HOSTILE
    await dpytest.message(f"{mention(bot)} hi", channel, alice)
    assert dpytest.get_message().content == "nya red fish!"
    assert dpytest.verify().message().nothing()  # bob's line was never sent


def test_a_hostile_reply_reaches_the_terminal_cleaned(fake_engine):
    fake_engine.respond = lambda messages: HOSTILE
    out = io.StringIO()
    run_console(fake_engine, name="sam", stdin=PipedStdin("hi\n"), stdout=out)
    assert out.getvalue() == "sam: hi\nmochi: nya red fish!\n"
