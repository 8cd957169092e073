"""The `/catgpt` command group: `/catgpt say prompt:<text>` (defer at once, Discord's 3-second
rule, then follow up), `/catgpt quiz start|stats` (bot/cogs/quiz.py), and the consent commands
`forget`, `remember`, `pause`, `resume`, `about` (bot/cogs/consent.py).

A group, not a command: Discord cannot have a command and a group of one name, and the
commands that come next (forget, pause, about) are subcommands too. Where the group may be used
(servers, DMs per the settings) and the allow-lists hold for every subcommand; the cooldown
for the ones that make the model talk (extras["cooldown"]). While the bot is paused here
(bot/consent.py) only the consent commands answer; they also answer where the allow-lists
keep the bot quiet, so anyone can always opt out (extras["consent"]).
"""

from __future__ import annotations

import logging

import discord
from discord import app_commands

from bot.cogs import COOLDOWN_NOTICE, NO_MENTIONS, NOT_HERE_NOTICE, Refused
from bot.cogs.chat import ChatCog, channel_ids
from bot.cogs.consent import OPTED_OUT, ConsentCommands
from bot.cogs.quiz import NOT_CONFIGURED, Quiz
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
# A subcommand whose extras hold this key answers everywhere, paused or not (consent).
CONSENT = "consent"


class Slash(ChatCog):
    catgpt = app_commands.Group(name="catgpt", description="Talk to the persona, or play its quiz.")
    quiz = app_commands.Group(
        name="quiz", description="Real or bot? Guess which reply the persona wrote.", parent=catgpt
    )

    def __init__(
        self, bot, *, quiz: Quiz | None = None, consent: ConsentCommands | None = None, **chat
    ):
        super().__init__(bot, **chat)
        self.quiz_game = quiz  # None: the quiz commands say results are not configured
        self.consent = consent  # None: the consent commands say they are not configured
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
        command = interaction.command
        if command is not None and command.extras.get(CONSENT):
            return True  # opting out, pausing, reading what the bot is: anywhere, always
        channel = interaction.channel
        ids = channel_ids(channel) if channel is not None else (interaction.channel_id or 0,)
        if not await self.allowed(interaction.guild_id, ids, interaction.user):
            raise NotAllowedHere()
        consent = self._consent()
        if await consent.consent.paused(interaction.guild_id):
            raise Refused(consent.paused_notice(interaction.guild_id))
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
        if self._consent().consent.opted_out(interaction.user.id):
            raise Refused(OPTED_OUT)  # the prompt is their words, and none are read
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

    # ---- consent (bot/cogs/consent.py) -------------------------------------------------------

    @catgpt.command(
        name="forget",
        description="Stop the bot reading your messages; it forgets what it saw.",
        extras={CONSENT: True},
    )
    async def forget(self, interaction: discord.Interaction) -> None:
        await self._consent().forget(interaction)

    @catgpt.command(
        name="remember",
        description="Undo /catgpt forget: the bot reads your new messages again.",
        extras={CONSENT: True},
    )
    async def remember(self, interaction: discord.Interaction) -> None:
        await self._consent().remember(interaction)

    @catgpt.command(
        name="pause",
        description="Stop the bot answering: the persona everywhere, admins in their server.",
        extras={CONSENT: True},
    )
    async def pause(self, interaction: discord.Interaction) -> None:
        await self._consent().pause(interaction)

    @catgpt.command(
        name="resume", description="Undo /catgpt pause.", extras={CONSENT: True}
    )
    async def resume(self, interaction: discord.Interaction) -> None:
        await self._consent().resume(interaction)

    @catgpt.command(
        name="about",
        description="What this bot is, what it was trained on, and how to opt out.",
        extras={CONSENT: True},
    )
    async def about(self, interaction: discord.Interaction) -> None:
        await self._consent().about(interaction)

    def _consent(self) -> ConsentCommands:
        if self.consent is None:  # every bot has one (client.py); a cog built alone may not
            raise RuntimeError("the Slash cog was built without its consent commands")
        return self.consent

    def _quiz(self) -> Quiz:
        if self.quiz_game is None:
            raise Refused(NOT_CONFIGURED)
        return self.quiz_game
