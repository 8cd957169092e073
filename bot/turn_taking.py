"""When the persona takes a turn (issue 17): called, in a free-talk channel, in a thread it is
part of; and when, after the caller's burst (bot/debounce.py).

Every message the mention cog may see goes through `TurnTaking.why`, which says why the bot
answers it, or None:

- CALL: an @mention, a reply to one of its messages, a DM (bot/cogs/mentions.py decides).
- THREAD: a message in a thread where the bot itself spoke within the conversation gap (the
  model folder's, 60 min by default): a thread it was called in is a conversation it is part
  of, so it answers there as it would be answered, every turn, without a mention.
- FREE: a message in a CATGPT_FREE_CHANNELS channel (the channel itself, not its threads), at
  the rate the persona spoke after others' turns (bot/free_talk.py).

THREAD and FREE are turns nobody asked for, so they are conservative: only after someone
else's message (never on its own, never twice in a row: one such answer per channel at a
time, and the bot's own message in between makes the next one someone else's turn), at most
one per CATGPT_COOLDOWN seconds per channel, on top of the per-person cooldown, and silent when
refused (no cooldown notice, no "busy" line). Only a person's plain message or reply counts:
bots, webhooks and system messages never start one.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

import discord

from bot.bounded import LRU
from bot.cooldown import UserCooldown
from bot.debounce import Debounce
from bot.free_talk import FreeTalk
from bot.member_settings import DEBOUNCE_CAP

log = logging.getLogger(__name__)

CALL, THREAD, FREE = "call", "thread", "free talk"


class TurnTaking:
    def __init__(
        self,
        *,
        debounce: Debounce,
        free_talk: FreeTalk,
        gap: timedelta,
        cooldown: UserCooldown,
        is_mine: Callable[[discord.Message], bool],
    ):
        self.debounce = debounce
        self.free_talk = free_talk
        self.gap = gap  # a thread the bot spoke in longer ago than this: a new conversation
        self.cooldown = cooldown  # per channel, for the turns nobody asked for
        self.is_mine = is_mine  # the bot's own messages (its account's, or its webhook's)
        # channel -> (id, time) of the bot's last message there; ids, not Message objects
        self._spoke: LRU[int, tuple[int, datetime]] = LRU(10_000)
        self._unasked: set[int] = set()  # channels with an unasked answer under way
        # (channel, person) whose unasked wait a call joined: the answer is a call's after all.
        self._called: set[tuple[int, int]] = set()

    def why(self, message: discord.Message, called: bool) -> str | None:
        """Why to answer `message` (CALL, THREAD, FREE), or None; records what it sees."""
        channel_id = message.channel.id
        if self.is_mine(message):
            self._spoke[channel_id] = (message.id, message.created_at)
            return None
        author = message.author
        if author.bot or message.webhook_id is not None:
            return None
        if message.type not in (discord.MessageType.default, discord.MessageType.reply):
            return None
        if self.debounce.heard(channel_id, author.id, message):
            if called:
                self._called.add((channel_id, author.id))
            return None  # the wait for this person's burst takes it in
        if called:
            return CALL
        if channel_id in self._unasked or self._spoke_last(message):
            return None
        if self._in_thread_conversation(message):
            why = THREAD
        elif self.free_talk.speaks(channel_id):  # draws only where free talk is on
            why = FREE
        else:
            return None
        if self.cooldown.hit(channel_id):
            return None
        return why

    def _spoke_last(self, message: discord.Message) -> bool:
        """The bot's own message is the newest before this one in the channel (a race: two
        messages arrive while its answer is on its way); it waits for someone else's turn."""
        own = self._spoke.get(message.channel.id)
        return own is not None and own[0] > message.id

    def _in_thread_conversation(self, message: discord.Message) -> bool:
        if not isinstance(message.channel, discord.Thread):
            return False
        own = self._spoke.get(message.channel.id)
        return own is not None and message.created_at - own[1] <= self.gap

    async def settle(
        self, message: discord.Message, why: str
    ) -> tuple[discord.Message | None, str]:
        """The message to answer once the author's burst is over (None: a wait already running
        for them here answers it), and why: a call that came during an unasked wait makes it
        a call's answer. An unasked answer holds its channel meanwhile."""
        key = (message.channel.id, message.author.id)
        if why != CALL:
            self._unasked.add(key[0])
        try:
            latest = await self.debounce.settle(*key, message)
        except BaseException:
            self.done(message, why)
            raise
        finally:
            called = key in self._called
            self._called.discard(key)
        return latest, CALL if called else why

    def done(self, message: discord.Message, why: str) -> None:
        """The answer went out (or was given up): the channel may have another unasked turn."""
        if why != CALL:
            self._unasked.discard(message.channel.id)


def turn_taking_for(
    settings, card, is_mine: Callable[[discord.Message], bool], *, draw=None
) -> TurnTaking:
    """The bot's turn-taking from its settings (bot/member_settings.py) and the persona card's
    conversation gap and speaking rate. Tests swap `debounce.sleep`/`.clock` and
    `free_talk.draw` on the result, as they swap a cog's `pause`."""
    return TurnTaking(
        debounce=Debounce(settings.debounce, DEBOUNCE_CAP),
        free_talk=FreeTalk(settings.free_channels, card.free_talk_rate, draw=draw),
        gap=card.gap,
        cooldown=UserCooldown(settings.cooldown),  # keyed by channel id here
        is_mine=is_mine,
    )
