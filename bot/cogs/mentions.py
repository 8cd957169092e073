"""Answer @mentions and replies to the bot in guild channels and DMs (DESIGN.md: "The bot's path
for one mention"), and keep the channel memory true to what people edit and delete.

When it answers, after whose burst, and unasked where (free talk, threads it is part of): the
turn-taking (bot/turn_taking.py); in whose name: the webhook voice (bot/webhook_voice.py)."""

from __future__ import annotations

import logging

import discord
from discord.ext import commands

from bot.bounded import LRU
from bot.cogs import COOLDOWN_NOTICE, NO_MENTIONS
from bot.cogs.chat import ChatCog, can_send, channel_ids, permissions_in
from bot.conversation import MentionContext
from bot.errors import EngineError
from bot.turn_taking import CALL, TurnTaking, turn_taking_for
from bot.webhook_voice import WebhookVoice

log = logging.getLogger(__name__)


class Mentions(ChatCog):
    def __init__(
        self,
        bot: commands.Bot,
        *,
        mention_context: MentionContext,
        voice: WebhookVoice | None = None,
        turn_taking: TurnTaking | None = None,
        **chat,
    ):
        super().__init__(bot, **chat)  # engine, settings, cooldown, inflight... (ChatCog)
        self.mention_context = mention_context
        card = self.engine.card
        self.voice = voice or WebhookVoice(bot, persona=card.name, avatar=None, enabled=False)
        mention_context.persona_webhooks = self.voice  # its messages are the persona's
        self.turn_taking = turn_taking or turn_taking_for(self.settings, card, self.is_mine)
        # Channels where the bot may not post, already logged: one line each, not per mention.
        # Forgotten when a send there works again, so losing the right again is logged again.
        self._muted: LRU[int, None] = LRU(1000)

    async def allowed_here(self, message: discord.Message) -> bool:
        guild_id = message.guild.id if message.guild else None
        # In a DM the policy is about the person the bot talks with, whoever wrote this line.
        person = getattr(message.channel, "recipient", None) or message.author
        return await self.allowed(guild_id, channel_ids(message.channel), person)

    def is_call(self, message: discord.Message) -> bool:
        """A person @mentioned the bot itself (not @everyone/@here/a role), replied to one of its
        messages (with or without the ping), or wrote in a DM."""
        me = self.bot.user
        if me is None or message.author.bot or message.author.id == me.id:
            return False
        if message.type not in (discord.MessageType.default, discord.MessageType.reply):
            return False
        if message.guild is None:
            return True  # in a DM everything is said to the bot; nobody @mentions there
        # Not mentioned_in(): that is also true for @everyone and for roles the bot holds.
        return me in message.mentions or self.replies_to_me(message)

    def replies_to_me(self, message: discord.Message) -> bool:
        reference = message.reference
        if reference is None or reference.type is not discord.MessageReferenceType.reply:
            return False
        # Discord sends the replied-to message along (`resolved`); else the cache or memory.
        parent = reference.resolved or reference.cached_message
        if isinstance(parent, discord.Message):
            return self.is_mine(parent)
        seen = self.mention_context.memory.get(message.channel.id, reference.message_id or 0)
        return seen is not None and seen.is_persona

    def is_mine(self, message: discord.Message) -> bool:
        """The bot's own message: its account's, or its webhook's (the persona's voice)."""
        return message.author.id == self.bot.user.id or self.voice.is_ours(message)

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if self.bot.user is None or not await self.allowed_here(message):
            return
        self.mention_context.observe(message, self.bot.user)
        called = self.is_call(message)
        if called:
            # `@bot sync` from the owner is the admin command, not a chat line.
            ctx = await self.bot.get_context(message)
            if ctx.valid and await self.bot.is_owner(message.author):
                return
        why = self.turn_taking.why(message, called)
        if why is None:
            return
        # Paused here (the persona's or the server's veto), or the caller opted out (consent.py).
        guild_id = message.guild.id if message.guild else None
        if await self.bot.consent.keeps_quiet(guild_id, message.author.id):
            return
        self.inflight.track_current()
        try:
            # After the person's burst (CATGPT_DEBOUNCE_SECONDS): its newest message is answered.
            latest, now = await self.turn_taking.settle(message, why)
            if latest is not None:
                await self.answer(latest, called=now == CALL)
        finally:
            self.turn_taking.done(message, why)

    # Raw events: messages outside discord.py's cache (older, or from before a restart) count.
    @commands.Cog.listener()
    async def on_raw_message_delete(self, payload: discord.RawMessageDeleteEvent) -> None:
        self.mention_context.forget(payload.channel_id, (payload.message_id,))

    @commands.Cog.listener()
    async def on_raw_bulk_message_delete(self, payload: discord.RawBulkMessageDeleteEvent) -> None:
        self.mention_context.forget(payload.channel_id, payload.message_ids)

    @commands.Cog.listener()
    async def on_raw_message_edit(self, payload: discord.RawMessageUpdateEvent) -> None:
        # discord.py (2.5+) builds `payload.message` from the full message Discord sends with
        # every update, content included (blank without the intent: see revise), so there is
        # nothing to fetch.
        if self.bot.user is not None:
            self.mention_context.revise(payload.message, self.bot.user)

    async def answer(self, message: discord.Message, *, called: bool = True) -> None:
        """Answer `message`. called=False: a turn nobody asked for (free talk, a thread), so a
        cooldown or an engine error says nothing."""
        permissions = permissions_in(message.channel, message.guild)
        if not can_send(message.channel, permissions):
            self._muted_here(message.channel, "no permission to send messages")
            return
        # Replying to a message (the reference) and reading back both need Read Message History.
        read_history = permissions is None or permissions.read_message_history
        if self.cooldown.hit(message.author.id):
            if called and self.cooldown.should_notice(message.author.id):
                await self.send(message, [COOLDOWN_NOTICE], reply=read_history)
            return
        hook = await self.voice.webhook_for(message.channel)
        # A webhook cannot send a Discord reply, and an unasked turn is none: either is the
        # conversation's next line, and its context is read as such.
        as_reply = read_history and called and hook is None
        try:
            async with message.channel.typing():
                chat = await self.mention_context.build(
                    message, self.bot.user, read_history=read_history, reply=as_reply
                )
                text = await self.engine.reply(chat)
        except EngineError as error:
            # GenerationError was logged with its traceback by the engine.
            log.info("mention %s not answered: %s", message.id, type(error).__name__)
            if called:
                await self.send(message, [error.user_message], reply=read_history)
            return
        except discord.Forbidden as error:  # e.g. timed out: typing is refused as well
            self._muted_here(message.channel, f"Discord refused: {error.text or error.status}")
            return
        except discord.HTTPException:
            log.exception("Discord refused a call while answering %s", message.id)
            return
        chunks = self.reply_chunks(text, message.guild)
        await self.send(message, chunks, reply=as_reply, hook=hook)

    async def send(
        self, message: discord.Message, chunks: list[str], *, reply: bool, hook=None
    ) -> None:
        """The first chunk replies to `message` (still fine if it was deleted); no pings, ever.

        reply: send the first chunk as a reply (needs Read Message History); else plainly.
        hook: the webhook to speak through as the persona (bot/webhook_voice.py), or None.
        """
        reference = message.to_reference(fail_if_not_exists=False) if reply else None
        try:
            for index, chunk in enumerate(chunks):
                if index and self.settings.bursts:
                    await self.before_burst(chunk, message.channel)
                if hook is not None:
                    await self.voice.send(hook, message.channel, chunk)
                    continue
                await message.channel.send(
                    chunk,
                    reference=reference if index == 0 else None,
                    allowed_mentions=NO_MENTIONS,
                    suppress_embeds=True,  # no link previews of what the model wrote
                )
        except discord.Forbidden as error:
            self._muted_here(message.channel, f"Discord refused: {error.text or error.status}")
            return
        except discord.HTTPException:
            log.exception("could not send the reply to %s", message.id)
            if hook is not None:  # deleted by someone? found or made again next time
                self.voice.forget(message.channel)
            return
        self._muted.pop(message.channel.id, None)

    def _muted_here(self, channel, why: str) -> None:
        if channel.id in self._muted:
            return
        self._muted[channel.id] = None
        log.warning(
            "not answering in #%s (%s): %s. Give the bot Send Messages there (in a thread: "
            "Send Messages in Threads), or list only other channels in CATGPT_ALLOWED_CHANNELS.",
            getattr(channel, "name", "?"),
            channel.id,
            why,
        )
