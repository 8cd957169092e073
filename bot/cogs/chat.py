"""What the two chat cogs (@mentions and /catgpt) share: their dependencies, who may talk to
them where (allow-lists, the DM policy), the speaker label, and their replies."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable

import discord
from discord.ext import commands

from bot.bounded import LRU
from bot.conversation import label_for
from bot.cooldown import UserCooldown
from bot.inflight import InFlight
from bot.settings import DMS_MEMBERS, Settings
from catgpt.reply_cleaning import prepare_reply, typing_pause

log = logging.getLogger(__name__)


def channel_ids(channel) -> tuple[int, ...]:
    """The channel, and its parent when it is a thread (allowing a channel allows its threads)."""
    parent_id = getattr(channel, "parent_id", None)
    return (channel.id, parent_id) if parent_id else (channel.id,)


def permissions_in(channel, guild: discord.Guild | None) -> discord.Permissions | None:
    """The bot's permissions in `channel`; None in a DM, or where they cannot be worked out."""
    if guild is None:
        return None
    try:
        return channel.permissions_for(guild.me)
    except (discord.ClientException, AttributeError):  # a thread whose parent is not cached
        return None


def can_send(channel, permissions: discord.Permissions | None) -> bool:
    """Whether the bot may post in `channel` (None: unknown, so it tries)."""
    if permissions is None:
        return True
    if isinstance(channel, discord.Thread):
        # A thread's own right; the parent's Send Messages says nothing about it.
        return permissions.send_messages_in_threads
    return permissions.send_messages


class GuildMembers:
    """Whether a user belongs to one of some guilds, asked of Discord and remembered a while.

    Needs no Server Members intent: without it discord.py caches few members, so an unknown
    one is fetched (one request per guild), and the answer kept for `ttl` seconds, for at most
    `maxsize` users.
    """

    def __init__(
        self,
        bot: commands.Bot,
        *,
        ttl: float = 600.0,
        maxsize: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.bot = bot
        self.ttl = ttl
        self.clock = clock
        self._known: LRU[int, tuple[bool, float]] = LRU(maxsize)

    async def any_of(self, user_id: int, guild_ids: Iterable[int]) -> bool:
        known = self._known.get(user_id)
        if known is not None and known[1] > self.clock():
            return known[0]
        answer, sure = await self._ask(user_id, guild_ids)
        if sure:  # a failed request is asked again next time, not remembered
            self._known[user_id] = (answer, self.clock() + self.ttl)
        return answer

    async def _ask(self, user_id: int, guild_ids: Iterable[int]) -> tuple[bool, bool]:
        sure = True
        for guild_id in guild_ids:
            guild = self.bot.get_guild(guild_id)
            if guild is None:
                continue  # the bot is not in it
            if guild.get_member(user_id) is not None:
                return True, True
            try:
                await guild.fetch_member(user_id)
                return True, True
            except discord.NotFound:
                continue
            except discord.HTTPException as error:
                log.info("could not check membership in guild %s: %s", guild_id, error)
                sure = False
        return False, sure


class ChatCog(commands.Cog):
    """A cog that talks to the engine; both share one cooldown, one in-flight tracker and one
    membership cache."""

    def __init__(
        self,
        bot: commands.Bot,
        *,
        engine,
        settings: Settings,
        cooldown: UserCooldown,
        inflight: InFlight | None = None,
        members: GuildMembers | None = None,
        persona_accounts: frozenset[int] = frozenset(),
    ):
        self.bot = bot
        self.engine = engine
        self.settings = settings
        self.cooldown = cooldown
        # Handlers in progress, shared by both cogs: shutdown lets them send what they write.
        self.inflight = inflight if inflight is not None else InFlight()
        self.members = members if members is not None else GuildMembers(bot)
        # The persona's own Discord accounts (catgpt.json): labelled apart like a namesake.
        self.persona_accounts = persona_accounts
        self.pause = asyncio.sleep  # between bursts; tests swap it for one that records

    async def allowed(
        self, guild_id: int | None, channel_ids: tuple[int, ...], user: discord.abc.User
    ) -> bool:
        """Whether the bot talks to `user` here: the allow-lists, and in a DM the DM policy."""
        if not self.settings.allows(guild_id, channel_ids):
            return False
        if guild_id is None and self.settings.dms == DMS_MEMBERS:
            # Only people who share an allowed server with the bot (any of its servers when
            # no list is set): a stranger from elsewhere does not get a private chat.
            guilds = self.settings.allowed_guilds or [g.id for g in self.bot.guilds]
            return await self.members.any_of(user.id, guilds)
        return True

    def label(self, user: discord.abc.User) -> str:
        return label_for(user, self.engine.card.names, self.persona_accounts)

    def reply_chunks(self, text: str, guild: discord.Guild | None) -> list[str]:
        """The messages that say `text`, without a `name:` prefix of the persona or the bot.

        The model may open with any name the bot goes by: the persona's, its aliases, the bot
        account's, or the bot's nickname in this server.
        """
        me = self.bot.user
        display = getattr(guild.me, "display_name", me.name) if guild else me.name
        # <#id> in a reply reads as #name, as the server shows it (catgpt.reply_cleaning).
        lookup = guild.get_channel_or_thread if guild else None
        channels = (lambda i: getattr(lookup(i), "name", None)) if lookup else None
        return prepare_reply(
            text,
            [*self.engine.card.names, me.name, display],
            channel_names=channels,
            bursts=self.settings.bursts,
        )

    async def before_burst(self, message: str, channel=None) -> None:
        """CATGPT_BURSTS: "typing..." for a moment before each message after the first, as a
        person sending a thought in quick messages would (and within the channel rate limit)."""
        if channel is None:
            await self.pause(typing_pause(message))
            return
        async with channel.typing():
            await self.pause(typing_pause(message))
