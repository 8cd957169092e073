"""Owner-only tools. `@bot sync` publishes the slash commands: globally only on request.

Global syncs are rate-limited and take up to an hour to reach every guild, so the bot never
does one at start-up; the development guild (CATGPT_DEV_GUILD) gets an instant sync instead.
A prefix command on the bot's mention works without the message-content intent.
"""

from __future__ import annotations

import logging
from typing import Literal

from discord.ext import commands

from bot.cogs import NO_MENTIONS

log = logging.getLogger(__name__)


class Admin(commands.Cog):
    def __init__(self, bot: commands.Bot):
        self.bot = bot

    async def cog_check(self, ctx: commands.Context) -> bool:
        return await self.bot.is_owner(ctx.author)

    @commands.command(name="sync")
    async def sync(
        self, ctx: commands.Context, scope: Literal["global", "here", "clear"] = "global"
    ) -> None:
        """`sync` publishes globally; `sync here` to this guild; `sync clear` empties this guild."""
        if scope == "global":
            synced = await self.bot.tree.sync()
        elif ctx.guild is None:
            raise commands.BadArgument("`here` and `clear` work in a server, not in DMs.")
        elif scope == "here":
            self.bot.tree.copy_global_to(guild=ctx.guild)
            synced = await self.bot.tree.sync(guild=ctx.guild)
        else:
            self.bot.tree.clear_commands(guild=ctx.guild)
            synced = await self.bot.tree.sync(guild=ctx.guild)
        log.info("synced %d command(s) (%s)", len(synced), scope)
        await ctx.reply(
            f"Synced {len(synced)} command(s) ({scope}).",
            allowed_mentions=NO_MENTIONS,
        )
