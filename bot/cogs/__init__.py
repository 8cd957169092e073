"""One cog per feature: mentions, the /catgpt command, owner-only admin, the tree's error handler.

`chat.py` holds what the two chat cogs (mentions, /catgpt) share. Cogs import no torch: they
talk to the engine only through `await engine.reply(messages)` and its persona's names.
"""

from __future__ import annotations

import discord
from discord import app_commands

from bot.errors import EngineBusy, EngineClosed, GenerationError, ServerUnavailable

# What every message the bot sends passes: it never pings anyone.
NO_MENTIONS = discord.AllowedMentions.none()


class Refused(app_commands.CheckFailure):
    """A command that cannot go ahead, with the line that says why: the tree's error handler
    (cogs/errors.py) sends `user_message` ephemerally."""

    def __init__(self, user_message: str):
        super().__init__(user_message)
        self.user_message = user_message


COOLDOWN_NOTICE = "Give me a few seconds to catch my breath, then ask again."
NOT_HERE_NOTICE = "I'm not allowed to chat here."

# What the bot itself says that is not the persona talking; kept out of the context.
NOTICES = frozenset(
    {
        COOLDOWN_NOTICE,
        NOT_HERE_NOTICE,
        EngineBusy.user_message,
        EngineClosed.user_message,
        GenerationError.user_message,
        ServerUnavailable.user_message,
    }
)
