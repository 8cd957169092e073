"""Discord messages -> the chat messages the model reads (role, name, content; oldest first).

Context for one mention = the reply chain above it + the channel's recent messages the bot has
seen, without duplicates, in time order. "Seen" means what the gateway delivered since start-up
(kept per channel in `ChannelMemory`), topped up once per channel from the channel's history
so a restart does not leave the bot without context. Without the privileged message-content
intent Discord sends empty content for messages that do not mention the bot; those are
skipped, so the context is then the mentions and the bot's own replies.
"""

from __future__ import annotations

import logging
import re
from collections import OrderedDict
from dataclasses import dataclass

import discord

from catgpt.labels import speaker_label

log = logging.getLogger(__name__)

# Discord nests reply chains without limit; past a few levels they stop helping the reply.
MAX_CHAIN = 10


@dataclass(frozen=True)
class SeenMessage:
    """A channel message the bot remembers, as the model will read it."""

    id: int
    name: str
    content: str
    is_persona: bool
    reply_to: int | None = None


def to_chat(messages: list[SeenMessage]) -> list[dict]:
    """The dataset's shape (contract 3): the persona is `assistant`, the others `user` + `name`."""
    chat = []
    for seen in messages:
        if seen.is_persona:
            chat.append({"role": "assistant", "content": seen.content})
        else:
            chat.append({"role": "user", "name": seen.name, "content": seen.content})
    return chat


def readable_text(message: discord.Message, me_id: int, persona: str) -> str:
    """The text as people read it: mentions become @name, and a mention of the bot @persona."""
    # Names go in through a function: as a replacement *string* re.sub would read `\o/` as a
    # bad escape (re.error) and `\n` as a newline.
    text = re.sub(rf"<@!?{me_id}>", _literal(f"@{persona}"), message.content)
    for user in message.mentions:
        if user.id != me_id:
            text = re.sub(rf"<@!?{user.id}>", _literal(f"@{user.display_name}"), text)
    for role in message.role_mentions:
        text = text.replace(f"<@&{role.id}>", f"@{role.name}")
    for channel in message.channel_mentions:
        text = text.replace(f"<#{channel.id}>", f"#{getattr(channel, 'name', channel.id)}")
    return text.strip()


def _literal(text: str):
    return lambda _match: text


class ChannelMemory:
    """The last `per_channel` messages of the `max_channels` most recently active channels."""

    def __init__(self, per_channel: int = 50, max_channels: int = 1000):
        self.per_channel = per_channel
        self.max_channels = max_channels
        self._channels: OrderedDict[int, OrderedDict[int, SeenMessage]] = OrderedDict()

    def __contains__(self, channel_id: int) -> bool:
        return channel_id in self._channels

    def channel(self, channel_id: int) -> OrderedDict[int, SeenMessage]:
        messages = self._channels.get(channel_id)
        if messages is None:
            messages = self._channels[channel_id] = OrderedDict()
            if len(self._channels) > self.max_channels:
                self._channels.popitem(last=False)
        self._channels.move_to_end(channel_id)
        return messages

    def add(self, channel_id: int, seen: SeenMessage) -> None:
        messages = self.channel(channel_id)
        messages[seen.id] = seen
        # Gateway order is nearly but not strictly time order; ids are time-ordered snowflakes.
        if len(messages) > 1 and next(reversed(messages)) != max(messages):
            for key in sorted(messages):
                messages.move_to_end(key)
        while len(messages) > self.per_channel:
            messages.popitem(last=False)

    def get(self, channel_id: int, message_id: int) -> SeenMessage | None:
        messages = self._channels.get(channel_id)
        return messages.get(message_id) if messages else None

    def before(self, channel_id: int, message_id: int, limit: int) -> list[SeenMessage]:
        messages = self._channels.get(channel_id) or {}
        older = [t for key, t in messages.items() if key < message_id]
        return older[-limit:] if limit else []


class MentionContext:
    """The chat a mention is answered from: memory, channel history and the reply chain.

    Owns the channel memory. One per bot.
    """

    def __init__(
        self,
        *,
        persona: str,
        aliases: tuple[str, ...] = (),
        history: int = 20,
        skip_texts: frozenset[str] = frozenset(),
    ):
        self.persona = persona
        self.persona_names = (persona, *aliases)
        self.history = history
        # The bot's own notices (busy, cooldown...) are not things the persona said.
        self.skip_texts = skip_texts
        self.memory = ChannelMemory(per_channel=max(history * 2, 50))
        self._backfilled: set[int] = set()

    def read(self, message: discord.Message, me: discord.abc.User) -> SeenMessage | None:
        """`message` as the model will read it; None for no text or one of the bot's notices."""
        is_persona = message.author.id == me.id
        if is_persona and message.content in self.skip_texts:
            return None
        text = readable_text(message, me.id, self.persona)
        if not text:
            return None
        reference = message.reference
        is_reply = reference is not None and reference.type is discord.MessageReferenceType.reply
        reply_to = reference.message_id if is_reply else None
        return SeenMessage(message.id, self.label(message.author), text, is_persona, reply_to)

    def label(self, author: discord.abc.User) -> str:
        """The speaker label of a person: never the persona's, even for a namesake."""
        return speaker_label(author.display_name, self.persona_names)

    def observe(self, message: discord.Message, me: discord.abc.User) -> None:
        """Remember a message the gateway delivered (anyone's, the bot's own included)."""
        seen = self.read(message, me)
        if seen is not None:
            self.memory.add(message.channel.id, seen)

    async def _backfill(self, message: discord.Message, me: discord.abc.User) -> None:
        channel_id = message.channel.id
        if channel_id in self._backfilled:
            return
        self._backfilled.add(channel_id)
        try:
            async for older in message.channel.history(limit=self.history, before=message):
                self.observe(older, me)
        except discord.HTTPException as error:  # e.g. no Read Message History permission
            log.info("cannot read history of channel %s: %s", channel_id, error)

    async def _chain(self, message: discord.Message, me: discord.abc.User) -> list[SeenMessage]:
        """The messages this one replies to, oldest first, from memory or fetched."""
        chain: list[SeenMessage] = []
        channel_id = message.channel.id
        reference = message.reference
        seen = {message.id}
        while reference is not None and len(chain) < MAX_CHAIN:
            parent_id = reference.message_id
            if (
                parent_id is None
                or parent_id in seen
                or reference.channel_id != channel_id
                or reference.type is not discord.MessageReferenceType.reply  # a forward
            ):
                break
            seen.add(parent_id)
            seen = self.memory.get(channel_id, parent_id)
            if seen is None:
                parent = reference.resolved or reference.cached_message
                if not isinstance(parent, discord.Message):
                    try:
                        parent = await message.channel.fetch_message(parent_id)
                    except discord.HTTPException:
                        break  # deleted or unreadable: the chain ends here
                seen = self.read(parent, me)
                reference = parent.reference
                if seen is None:
                    continue
            else:
                reference = (
                    discord.MessageReference(message_id=seen.reply_to, channel_id=channel_id)
                    if seen.reply_to
                    else None
                )
            chain.append(seen)
        return chain[::-1]

    async def build(self, message: discord.Message, me: discord.abc.User) -> list[dict]:
        """Chat messages for answering `message`: reply chain + recent messages + the message."""
        await self._backfill(message, me)
        current = self.read(message, me) or SeenMessage(
            message.id, self.label(message.author), f"@{self.persona}", False
        )
        recent = self.memory.before(message.channel.id, message.id, self.history)
        chain = await self._chain(message, me)
        by_id = {t.id: t for t in [*chain, *recent]}
        by_id.pop(message.id, None)
        messages = [by_id[key] for key in sorted(by_id)]
        return to_chat([*messages, current])
