"""Discord messages -> the chat messages the model reads (role, name, content; oldest first).

The context of a mention is made as `catgpt-train prepare` makes a training example (contract
6, catgpt/turns.py, with the merge window, gap and turns catgpt.json records): the channel's
remembered messages become turns (a speaker's quick messages in a row are one turn, the bot's
own burst of lines too), a silence longer than the gap ends the conversation, and the reply
chain of the mention is kept in front of the newest turns. "Remembered" means what the gateway
delivered since start-up (kept per channel in `ChannelMemory`), topped up once per channel
from the channel's history so a restart does not leave the bot without context; a reply
chain that reaches past that is fetched. Without the privileged message-content intent
Discord sends empty content for messages that do not mention the bot; those are skipped, so
the context is then the mentions and the bot's own replies.

What people delete is gone: a deleted message leaves the memory and ends any reply chain that
reaches it; an edited one is read again (docs/bot.md, "What the bot remembers"). What people
who opted out (`/catgpt forget`, bot/consent.py) wrote is never read: `read` is the one door
every message comes in by (the gateway, history reads, the reply chain, the quiz), and it
leaves theirs out entirely, as `prepare --opt-outs` does, so no placeholder marks where they
spoke.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Callable, Container, Iterable

import discord

from bot.memory import ChannelMemory, SeenMessage
from catgpt.folder import PersonaCard
from catgpt.labels import person_label
from catgpt.turns import MAX_CHAIN, ChannelTurns, TurnShape

log = logging.getLogger(__name__)

# Messages remembered per channel, per turn of context: turns merge a speaker's quick messages,
# so a context of n turns may need several times n messages.
MESSAGES_PER_TURN = 6
# One history page: what Discord returns for one request.
HISTORY_PAGE = 100

__all__ = ["MAX_CHAIN", "MentionContext", "label_for", "readable_text"]


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


def discord_ids(card: PersonaCard) -> frozenset[int]:
    """The card's `persona.account_ids` as Discord's integers."""
    raw = card.account_ids
    # Ids are written as strings (JSON numbers lose digits past 2**53) or numbers; an export
    # without ids has none to give, so anything else is skipped, not an error.
    ids = [v for v in raw if v.isascii() and v.isdigit()]
    if len(ids) < len(raw):
        log.warning(
            "catgpt.json: %d persona account id(s) are not Discord ids; ignored",
            len(raw) - len(ids),
        )
    return frozenset(int(v) for v in ids)


def label_for(
    user: discord.abc.User, persona_names: Iterable[str], account_ids: frozenset[int] = frozenset()
) -> str:
    """A person's speaker label: never the persona's own (the rule `catgpt-train prepare` uses).

    Labelled `<name> (not the persona)`: the persona's own accounts (`account_ids`, whatever
    name they show now: the real person talking to their bot), and anyone whose display name or
    username is one of the persona's names (a namesake).
    """
    known_as = (user.name, getattr(user, "global_name", None) or "")
    return person_label(user.display_name, known_as, persona_names, user.id in account_ids)


class MentionContext:
    """The chat a mention is answered from: memory, channel history and the reply chain.

    Owns the channel memory. One per bot.
    """

    def __init__(
        self,
        *,
        persona: str,
        aliases: tuple[str, ...] = (),
        account_ids: frozenset[int] = frozenset(),
        shape: TurnShape | None = None,
        skip_texts: frozenset[str] = frozenset(),
        max_channels: int = 1000,
        opted_out: Callable[[int], bool] | None = None,
    ):
        self.persona = persona
        self.persona_names = (persona, *aliases)
        self.account_ids = account_ids
        # The model folder's (PersonaCard.shape): turns, conversations and the context's size.
        self.shape = shape or TurnShape()
        # The bot's own notices (busy, cooldown...) are not things the persona said.
        self.skip_texts = skip_texts
        # Whether an account opted out (bot/consent.py's set lookup): their messages are never read.
        self.opted_out = opted_out or (lambda _user_id: False)
        per_channel = max(self.shape.context_turns * MESSAGES_PER_TURN, 50)
        self.memory = ChannelMemory(per_channel=per_channel, max_channels=max_channels)
        # Ids of the webhooks the persona speaks through (bot/webhook_voice.py; the mention
        # cog shares its own): their messages are the persona's.
        self.persona_webhooks: Container[int] = frozenset()

    def read(self, message: discord.Message, me: discord.abc.User) -> SeenMessage | None:
        """`message` as the model will read it; None for no text, one of the bot's notices, or
        the message of someone who opted out."""
        if self.opted_out(message.author.id):
            return None
        is_persona = message.author.id == me.id or (
            message.webhook_id is not None and message.webhook_id in self.persona_webhooks
        )
        if is_persona and message.content in self.skip_texts:
            return None
        text = readable_text(message, me.id, self.persona)
        if not text:
            return None
        reference = message.reference
        is_reply = reference is not None and reference.type is discord.MessageReferenceType.reply
        reply_to = reference.message_id if is_reply else None
        return SeenMessage(
            message.id, self.label(message.author), text, is_persona, reply_to, message.author.id
        )

    def label(self, author: discord.abc.User) -> str:
        """The speaker label of a person: never the persona's, even for a namesake."""
        return label_for(author, self.persona_names, self.account_ids)

    def observe(
        self, message: discord.Message, me: discord.abc.User, *, from_history: bool = False
    ) -> None:
        """Remember a message the gateway delivered (anyone's, the bot's own included), or one
        read from the history (which never overrides a fresher reading)."""
        seen = self.read(message, me)
        if seen is not None:
            self.memory.add(message.channel.id, seen, replace=not from_history)

    def revise(self, message: discord.Message, me: discord.abc.User) -> None:
        """An edit: the remembered text becomes the new one; unreadable now, it is forgotten.

        Without the message-content intent an edit that no longer mentions the bot arrives
        blank: the bot cannot know what it says now, so it keeps nothing rather than the old
        words. A message it did not remember stays unremembered.
        """
        channel_id = message.channel.id
        if self.memory.get(channel_id, message.id) is None:
            return
        seen = self.read(message, me)
        if seen is None:
            self.memory.forget(channel_id, [message.id])
        else:
            self.memory.replace(channel_id, seen)

    def forget(self, channel_id: int, message_ids: Iterable[int]) -> None:
        """Deleted messages leave the memory (and so every context and reply chain after)."""
        self.memory.forget(channel_id, message_ids)

    def forget_author(self, author_id: int) -> None:
        """Someone opted out: all they said leaves the memory (reading keeps it out after)."""
        self.memory.forget_author(author_id)

    async def _backfill(self, message: discord.Message, me: discord.abc.User) -> None:
        """Read the channel's history once; concurrent builds wait for that one read."""
        channel = message.channel
        task = self.memory.backfill(channel.id, lambda: self._read_history(channel, message, me))
        # Shielded: one waiter cancelled (shutdown) must not cancel the read the others await.
        await asyncio.shield(task)

    async def _read_history(self, channel, before: discord.Message, me: discord.abc.User) -> None:
        try:
            limit = min(self.memory.per_channel, HISTORY_PAGE)
            async for older in channel.history(limit=limit, before=before):
                self.observe(older, me, from_history=True)
        except discord.Forbidden as error:  # no Read Message History: it will not come back
            log.info("cannot read history of channel %s: %s", channel.id, error)
        except discord.HTTPException as error:  # a hiccup: the next mention tries again
            log.info("reading history of channel %s failed, will retry: %s", channel.id, error)
            self.memory.retry_backfill(channel.id)
        except Exception:  # a bug: every waiter sees it, and the next mention tries again
            self.memory.retry_backfill(channel.id)
            raise

    async def _chain(
        self, message: discord.Message, me: discord.abc.User, fetch: bool
    ) -> list[SeenMessage]:
        """The messages this one replies to, oldest first, from memory or fetched."""
        chain: list[SeenMessage] = []
        channel_id = message.channel.id
        reference = message.reference
        visited = {message.id}
        while reference is not None and len(chain) < MAX_CHAIN:
            parent_id = reference.message_id
            if (
                parent_id is None
                or parent_id in visited
                or reference.channel_id != channel_id
                or reference.type is not discord.MessageReferenceType.reply  # a forward
                or self.memory.is_deleted(channel_id, parent_id)  # deleted: the chain ends
            ):
                break
            visited.add(parent_id)
            seen = self.memory.get(channel_id, parent_id)
            if seen is None:
                parent = reference.resolved or reference.cached_message
                if not isinstance(parent, discord.Message):
                    if not fetch:
                        break
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

    def _left_out(self, seen: SeenMessage) -> bool:
        return seen.author_id is not None and self.opted_out(seen.author_id)

    async def build(
        self,
        message: discord.Message,
        me: discord.abc.User,
        *,
        read_history: bool = True,
        reply: bool | None = None,
    ) -> list[dict]:
        """Chat messages for answering `message`: the context training reads for the reply.

        read_history: whether the bot may read the channel's history (Read Message History);
        without it, the context is what it saw arrive, and the reply (sent plainly, not as a
        Discord reply) keeps no chain in front, as training would read it.
        reply: whether the answer goes out as a Discord reply to `message` (default: when it
        may read the history); a webhook's or an unasked answer is the next line instead.
        """
        if read_history:
            await self._backfill(message, me)
        channel_id = message.channel.id
        current = self.read(message, me) or SeenMessage(
            message.id, self.label(message.author), f"@{self.persona}", False, None,
            message.author.id,
        )  # fmt: skip
        remembered = self.memory.before(channel_id, message.id, self.memory.per_channel)
        chain = await self._chain(message, me, fetch=read_history)
        by_id = {seen.id: seen for seen in [*chain, *remembered]}
        by_id.pop(message.id, None)
        # A message deleted while the chain was being fetched is left out all the same, and so
        # is one of someone who opted out meanwhile.
        stream = [
            by_id[key] for key in sorted(by_id)
            if not self.memory.is_deleted(channel_id, key) and not self._left_out(by_id[key])
        ]  # fmt: skip
        turns = ChannelTurns(self.shape, str(channel_id))
        for seen in [*stream, current]:
            turns.add(
                str(seen.id), seen.speaker, seen.name, seen.is_persona, seen.created_at,
                seen.content, str(seen.reply_to) if seen.reply_to else None,
            )  # fmt: skip
        # The reply goes out as a Discord reply to `message` (when it may read the history):
        # its context is that of a persona turn replying to it.
        reply_to = str(message.id) if (read_history if reply is None else reply) else None
        context = turns.reply_context(reply_to, current.created_at)
        return [turn.as_chat_message() for turn in context]
