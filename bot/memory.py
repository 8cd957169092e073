"""What the bot remembers of each channel: recent messages, deletions, and the one backfill.

Everything here is bounded: `max_channels` channels (the least recently active one is forgotten
first, with its messages, its deletions and its backfill mark, so it backfills again when it
comes back) and `per_channel` messages in each. Nothing is written to disk; a restart forgets all.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone

from bot.bounded import LRU

# Discord ids are snowflakes: milliseconds since 2015-01-01 in the bits above the 22nd.
_DISCORD_EPOCH = datetime(2015, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class SeenMessage:
    """A channel message the bot remembers, as the model will read it (catgpt/turns.py then
    makes turns of these as prepare does of an export's messages)."""

    id: int
    name: str
    content: str
    is_persona: bool
    reply_to: int | None = None
    author_id: int | None = None  # who spoke: their messages in a row are one turn

    @property
    def speaker(self) -> str:
        return str(self.author_id) if self.author_id is not None else f"name:{self.name}"

    @property
    def created_at(self) -> datetime:
        """When it was sent: what the id says, as Discord (and an export) reads it."""
        return _DISCORD_EPOCH + timedelta(milliseconds=self.id >> 22)  # exact, unlike floats


@dataclass
class _Channel:
    messages: OrderedDict[int, SeenMessage] = field(default_factory=OrderedDict)
    # Ids deleted lately: a history page read before the delete arrived must not bring one back.
    deleted: LRU[int, None] = field(default_factory=lambda: LRU(200))
    # The one history read for this channel; every build in the channel waits for it.
    backfill: asyncio.Task | None = None


class ChannelMemory:
    """The last `per_channel` messages of the `max_channels` most recently active channels."""

    def __init__(self, per_channel: int = 50, max_channels: int = 1000):
        self.per_channel = per_channel
        self._channels: LRU[int, _Channel] = LRU(max_channels)

    @property
    def max_channels(self) -> int:
        return self._channels.maxsize

    def __contains__(self, channel_id: int) -> bool:
        return channel_id in self._channels

    def _entry(self, channel_id: int) -> _Channel:
        """The channel's entry, created if new; either way it becomes the most recent."""
        entry = self._channels.get(channel_id)
        if entry is None:
            entry = self._channels[channel_id] = _Channel()
        else:
            self._channels.touch(channel_id)
        return entry

    def add(self, channel_id: int, seen: SeenMessage, *, replace: bool = True) -> None:
        """Remember `seen`; replace=False keeps a reading already there (a history page may
        have been read before an edit the gateway has already delivered)."""
        entry = self._entry(channel_id)
        if seen.id in entry.deleted or (not replace and seen.id in entry.messages):
            return
        messages = entry.messages
        messages[seen.id] = seen
        # Gateway order is nearly but not strictly time order; ids are time-ordered snowflakes.
        if len(messages) > 1 and next(reversed(messages)) != max(messages):
            for key in sorted(messages):
                messages.move_to_end(key)
        while len(messages) > self.per_channel:
            messages.popitem(last=False)

    def get(self, channel_id: int, message_id: int) -> SeenMessage | None:
        entry = self._channels.get(channel_id)
        return entry.messages.get(message_id) if entry else None

    def before(self, channel_id: int, message_id: int, limit: int) -> list[SeenMessage]:
        entry = self._channels.get(channel_id)
        older = [t for key, t in entry.messages.items() if key < message_id] if entry else []
        return older[-limit:] if limit else []

    def replace(self, channel_id: int, seen: SeenMessage) -> bool:
        """Put an edited message's new reading in place of the old one; False if not remembered."""
        entry = self._channels.get(channel_id)
        if entry is None or seen.id not in entry.messages:
            return False
        entry.messages[seen.id] = seen  # same key: its place in time order is kept
        return True

    def forget(self, channel_id: int, message_ids) -> None:
        """Deleted messages leave the memory, and are kept out of it from now on."""
        entry = self._channels.get(channel_id)
        if entry is None:
            return  # a channel the bot keeps nothing of (nor is reading the history of)
        for message_id in message_ids:
            entry.messages.pop(message_id, None)
            entry.deleted[message_id] = None

    def forget_author(self, author_id: int) -> int:
        """Every remembered message of `author_id` leaves the memory, in every channel (an
        opt-out: bot/consent.py); returns how many. Keeping them out from now on is the
        reader's job (MentionContext.read), so they are not marked as deleted."""
        dropped = 0
        for entry in self._channels.values():
            gone = [key for key, seen in entry.messages.items() if seen.author_id == author_id]
            for key in gone:
                del entry.messages[key]
            dropped += len(gone)
        return dropped

    def is_deleted(self, channel_id: int, message_id: int) -> bool:
        entry = self._channels.get(channel_id)
        return entry is not None and message_id in entry.deleted

    def backfill(self, channel_id: int, read: Callable[[], Coroutine]) -> asyncio.Task:
        """The channel's one history read: started by the first caller, shared by the others.

        The mark lives in the channel's entry, so it goes when the channel is evicted.
        """
        entry = self._entry(channel_id)
        if entry.backfill is None:
            entry.backfill = asyncio.ensure_future(read())
        return entry.backfill

    def retry_backfill(self, channel_id: int) -> None:
        """Forget a failed backfill, so the next mention in the channel tries again."""
        entry = self._channels.get(channel_id)
        if entry is not None:
            entry.backfill = None
