"""The `/catgpt` command group: `/catgpt say prompt:<text>` (defer at once, Discord's 3-second
rule, then follow up) and `/catgpt quiz start|stats` (bot/cogs/quiz.py).

A group, not a command: Discord cannot have a command and a group of one name, and the
commands that come next (forget, pause, about) are subcommands too. Where the group may be used
(servers, DMs per the settings) and the allow-lists hold for every subcommand; the cooldown
for the ones that make the model talk (extras["cooldown"]).
"""

from __future__ import annotations

import logging

import discord
from discord import app_commands

from bot.cogs import COOLDOWN_NOTICE, NO_MENTIONS, NOT_HERE_NOTICE
from bot.cogs.chat import ChatCog, channel_ids
from bot.cogs.quiz import NOT_CONFIGURED, Quiz, QuizRefused
from bot.settings import DMS_OFF

log = logging.getLogger(__name__)


class NotAllowedHere(app_commands.CheckFailure):
    user_message = NOT_HERE_NOTICE


class OnCooldown(app_commands.CheckFailure):
    user_message = COOLDOWN_NOTICE

    def __init__(self, retry_after: float):
        super().__init__(f"on cooldown for {retry_after:.1f}s")
        self.retry_after = retry_after


# A subcommand whose extras hold this key counts against the user's cooldown.
COOLDOWN = "cooldown"


class Slash(ChatCog):
    catgpt = app_commands.Group(name="catgpt", description="Talk to the persona, or play its quiz.")
    quiz = app_commands.Group(
        name="quiz", description="Real or bot? Guess which reply the persona wrote.", parent=catgpt
    )

    def __init__(self, bot, *, quiz: Quiz | None = None, **chat):
        super().__init__(bot, **chat)
        self.quiz_game = quiz  # None: the quiz commands say results are not configured
        # Where Discord offers the command, from the settings: servers always, the bot's DMs
        # unless DMs are off; never group DMs or a user install (the bot is a server app).
        dms = self.settings.dms != DMS_OFF
        self.catgpt.allowed_contexts = app_commands.AppCommandContext(
            guild=True, dm_channel=dms, private_channel=False
        )
        self.catgpt.allowed_installs = app_commands.AppInstallationType(guild=True, user=False)
        self.catgpt.guild_only = not dms  # the older `dm_permission` field, said the same way

    async def interaction_check(self, interaction: discord.Interaction) -> bool:
        # Raised errors reach the tree's one error handler, which answers ephemerally.
        # Checked here too: a command synced under older settings may still be offered.
        channel = interaction.channel
        ids = channel_ids(channel) if channel is not None else (interaction.channel_id or 0,)
        if not await self.allowed(interaction.guild_id, ids, interaction.user):
            raise NotAllowedHere()
        command = interaction.command
        if command is None or not command.extras.get(COOLDOWN):
            return True
        retry_after = self.cooldown.hit(interaction.user.id)
        if retry_after:
            raise OnCooldown(retry_after)
        return True

    @catgpt.command(
        name="say", description="Say something to the persona.", extras={COOLDOWN: True}
    )
    @app_commands.describe(prompt="What you say to it")
    async def say(
        self, interaction: discord.Interaction, prompt: app_commands.Range[str, 1, 1500]
    ) -> None:
        # Tracked until the task ends, so the tree's error handler (which tells the user when
        # shutdown cut the reply short) also runs before the bot disconnects.
        self.inflight.track_current()
        # Generation takes longer than the 3 seconds Discord waits for a first answer.
        await interaction.response.defer(thinking=True)
        # Labelled as in the mention path: never the persona's label, even for a namesake.
        name = self.label(interaction.user)
        chat = [{"role": "user", "name": name, "content": prompt}]
        text = await self.engine.reply(chat)  # EngineError -> the tree's error handler
        for index, chunk in enumerate(self.reply_chunks(text, interaction.guild)):
            if index and self.settings.bursts:
                await self.before_burst(chunk)  # a followup shows no typing; a pause all the same
            await interaction.followup.send(
                chunk, allowed_mentions=NO_MENTIONS, suppress_embeds=True
            )

    @quiz.command(
        name="start",
        description="Post a real message of the persona's next to the bot's: which is which?",
        extras={COOLDOWN: True},  # it makes the model talk
    )
    async def quiz_start(self, interaction: discord.Interaction) -> None:
        await self._quiz().start(interaction)

    @quiz.command(name="stats", description="Rounds, votes and how often the bot fooled people.")
    async def quiz_stats(self, interaction: discord.Interaction) -> None:
        await self._quiz().stats(interaction)

    def _quiz(self) -> Quiz:
        if self.quiz_game is None:
            raise QuizRefused(NOT_CONFIGURED)
        return self.quiz_game
