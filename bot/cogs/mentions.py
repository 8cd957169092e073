"""Answer @mentions in guild channels and DMs (DESIGN.md: "The bot's path for one mention")."""

from __future__ import annotations

import logging

import discord
from discord.ext import commands

from bot.cogs import COOLDOWN_NOTICE, NO_MENTIONS
from bot.cogs.chat import ChatCog, channel_ids
from bot.conversation import MentionContext
from bot.errors import EngineError

log = logging.getLogger(__name__)


class Mentions(ChatCog):
    def __init__(self, bot: commands.Bot, *, mention_context: MentionContext, **chat):
        super().__init__(bot, **chat)  # engine, settings, cooldown, inflight (ChatCog)
        self.mention_context = mention_context

    def allowed_here(self, message: discord.Message) -> bool:
        guild_id = message.guild.id if message.guild else None
        return self.settings.allows(guild_id, channel_ids(message.channel))

    def is_call(self, message: discord.Message) -> bool:
        """A person @mentioned the bot itself (not @everyone/@here/a role), or wrote in a DM."""
        me = self.bot.user
        if me is None or message.author.bot or message.author.id == me.id:
            return False
        if message.type not in (discord.MessageType.default, discord.MessageType.reply):
            return False
        if message.guild is None:
            return True  # in a DM everything is said to the bot; nobody @mentions there
        # Not mentioned_in(): that is also true for @everyone and for roles the bot holds.
        return me in message.mentions

    @commands.Cog.listener()
    async def on_message(self, message: discord.Message) -> None:
        if self.bot.user is None or not self.allowed_here(message):
            return
        self.mention_context.observe(message, self.bot.user)
        if not self.is_call(message):
            return
        # `@bot sync` from the owner is the admin command, not a chat line.
        ctx = await self.bot.get_context(message)
        if ctx.valid and await self.bot.is_owner(message.author):
            return
        self.inflight.track_current()
        await self.answer(message)

    async def answer(self, message: discord.Message) -> None:
        if self.cooldown.hit(message.author.id):
            if self.cooldown.should_notice(message.author.id):
                await self.send(message, [COOLDOWN_NOTICE])
            return
        try:
            async with message.channel.typing():
                chat = await self.mention_context.build(message, self.bot.user)
                text = await self.engine.reply(chat)
        except EngineError as error:
            # GenerationError was logged with its traceback by the engine.
            log.info("mention %s not answered: %s", message.id, type(error).__name__)
            await self.send(message, [error.user_message])
            return
        except discord.HTTPException:
            log.exception("Discord refused a call while answering %s", message.id)
            return
        await self.send(message, self.reply_chunks(text, message.guild))

    async def send(self, message: discord.Message, chunks: list[str]) -> None:
        """The first chunk replies to `message` (still fine if it was deleted); no pings, ever."""
        reference = message.to_reference(fail_if_not_exists=False)
        try:
            for index, chunk in enumerate(chunks):
                await message.channel.send(
                    chunk,
                    reference=reference if index == 0 else None,
                    allowed_mentions=NO_MENTIONS,
                    suppress_embeds=True,  # no link previews of what the model wrote
                )
        except discord.HTTPException:
            log.exception("could not send the reply to %s", message.id)
