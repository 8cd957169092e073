"""The one error handler for the application-command tree, and for the owner's prefix command."""

from __future__ import annotations

import logging

import discord
from discord import app_commands
from discord.ext import commands

from bot.cogs import NO_MENTIONS
from bot.errors import EngineError

log = logging.getLogger(__name__)

GENERIC = "Sorry, something broke on my side. It has been logged."


def user_text(error: Exception) -> str:
    original = getattr(error, "original", error)  # CommandInvokeError wraps the real one
    if isinstance(original, EngineError):
        return original.user_message
    text = getattr(error, "user_message", None)
    if text:
        return text
    if isinstance(error, app_commands.CheckFailure):
        return "You can't use that here."
    return GENERIC


class ErrorHandler(commands.Cog):
    def __init__(self, bot: commands.Bot):
        self.bot = bot
        self._previous = None

    async def cog_load(self) -> None:
        self._previous = self.bot.tree.on_error
        self.bot.tree.on_error = self.on_app_command_error

    async def cog_unload(self) -> None:
        self.bot.tree.on_error = self._previous

    async def on_app_command_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        original = getattr(error, "original", error)
        if not isinstance(original, EngineError | app_commands.CheckFailure):
            command = interaction.command.qualified_name if interaction.command else "?"
            log.error("/%s failed", command, exc_info=original)
        await send_ephemeral(interaction, user_text(error))

    @commands.Cog.listener()
    async def on_command_error(self, ctx: commands.Context, error: commands.CommandError) -> None:
        # Prefix commands are owner-only admin tools; everyone else is ignored quietly.
        if isinstance(error, commands.CheckFailure | commands.CommandNotFound):
            return
        if isinstance(error, commands.UserInputError):
            await ctx.reply(str(error), allowed_mentions=NO_MENTIONS)
            return
        log.error("command %s failed", ctx.command, exc_info=getattr(error, "original", error))


async def send_ephemeral(interaction: discord.Interaction, text: str) -> None:
    try:
        if not interaction.response.is_done():
            await interaction.response.send_message(
                text, ephemeral=True, allowed_mentions=NO_MENTIONS
            )
            return
        # After a public "thinking..." defer the first followup would inherit its visibility;
        # removing the placeholder lets the error go to the user alone.
        try:
            await interaction.delete_original_response()
        except discord.HTTPException:
            pass
        await interaction.followup.send(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
    except discord.HTTPException:
        log.warning("could not tell the user about an error (interaction %s)", interaction.id)
