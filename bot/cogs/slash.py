"""`/catgpt prompt:<text>`: defer at once (Discord's 3-second rule), then follow up."""

from __future__ import annotations

import logging

import discord
from discord import app_commands

from bot.cogs import COOLDOWN_NOTICE, NO_MENTIONS, NOT_HERE_NOTICE
from bot.cogs.chat import ChatCog, channel_ids
from catgpt.labels import speaker_label

log = logging.getLogger(__name__)


class NotAllowedHere(app_commands.CheckFailure):
    user_message = NOT_HERE_NOTICE


class OnCooldown(app_commands.CheckFailure):
    user_message = COOLDOWN_NOTICE

    def __init__(self, retry_after: float):
        super().__init__(f"on cooldown for {retry_after:.1f}s")
        self.retry_after = retry_after


class Slash(ChatCog):
    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        # Raised errors reach the tree's one error handler, which answers ephemerally.
        channel = interaction.channel
        ids = channel_ids(channel) if channel is not None else (interaction.channel_id or 0,)
        if not self.settings.allows(interaction.guild_id, ids):
            raise NotAllowedHere()
        retry_after = self.cooldown.hit(interaction.user.id)
        if retry_after:
            raise OnCooldown(retry_after)
        return True

    @app_commands.command(name="catgpt", description="Say something to the persona.")
    @app_commands.describe(prompt="What you say to it")
    async def catgpt(
        self, interaction: discord.Interaction, prompt: app_commands.Range[str, 1, 1500]
    ) -> None:
        # Tracked until the task ends, so the tree's error handler (which tells the user when
        # shutdown cut the reply short) also runs before the bot disconnects.
        self.inflight.track_current()
        # Generation takes longer than the 3 seconds Discord waits for a first answer.
        await interaction.response.defer(thinking=True)
        # Labelled as in the mention path: never the persona's label, even for a namesake.
        name = speaker_label(interaction.user.display_name, self.engine.persona_names)
        chat = [{"role": "user", "name": name, "content": prompt}]
        text = await self.engine.reply(chat)  # EngineError -> the tree's error handler
        for chunk in self.reply_chunks(text, interaction.guild):
            await interaction.followup.send(
                chunk, allowed_mentions=NO_MENTIONS, suppress_embeds=True
            )
