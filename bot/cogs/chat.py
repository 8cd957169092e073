"""What the two chat cogs (@mentions and /catgpt) share: their dependencies and their replies."""

from __future__ import annotations

import discord
from discord.ext import commands

from bot.cooldown import UserCooldown
from bot.inflight import InFlight
from bot.settings import Settings
from catgpt.cleaning import prepare_reply


def channel_ids(channel) -> tuple[int, ...]:
    """The channel, and its parent when it is a thread (allowing a channel allows its threads)."""
    parent_id = getattr(channel, "parent_id", None)
    return (channel.id, parent_id) if parent_id else (channel.id,)


class ChatCog(commands.Cog):
    """A cog that talks to the engine; both share one cooldown and one in-flight tracker."""

    def __init__(
        self,
        bot: commands.Bot,
        *,
        engine,
        settings: Settings,
        cooldown: UserCooldown,
        inflight: InFlight | None = None,
    ):
        self.bot = bot
        self.engine = engine
        self.settings = settings
        self.cooldown = cooldown
        # Handlers in progress, shared by both cogs: shutdown lets them send what they write.
        self.inflight = inflight if inflight is not None else InFlight()

    def reply_chunks(self, text: str, guild: discord.Guild | None) -> list[str]:
        """The messages that say `text`, without a `name:` prefix of the persona or the bot.

        The model may open with any name the bot goes by: the persona's, its aliases, the bot
        account's, or the bot's nickname in this server.
        """
        me = self.bot.user
        display = getattr(guild.me, "display_name", me.name) if guild else me.name
        # <#id> in a reply reads as #name, as the server shows it (catgpt.cleaning).
        lookup = guild.get_channel_or_thread if guild else None
        channels = (lambda i: getattr(lookup(i), "name", None)) if lookup else None
        return prepare_reply(
            text, [*self.engine.persona_names, me.name, display], channel_names=channels
        )
