"""`/catgpt forget|remember|pause|resume|about` (issue 17) and the bot's status line.

The commands are declared in the `/catgpt` group (bot/cogs/slash.py) and land here; the
state they change is bot/consent.py's. Every answer is one ephemeral line (about: a few).

- forget / remember: the caller's own opt-out. The persona's accounts cannot opt out (prepare
  refuses an opt-out file that names the persona); they have pause.
- pause / resume: the persona's accounts (catgpt.json's account ids) everywhere; a server's
  admins (Manage Server or Administrator) in that server only; anyone else is refused.
"""

from __future__ import annotations

import logging

import discord
from discord.ext import commands
from discord.utils import escape_markdown

from bot.about import about_text, status_line
from bot.cogs import NO_MENTIONS, Refused
from bot.consent import Consent
from catgpt.folder import PersonaCard

log = logging.getLogger(__name__)

NOT_CONFIGURED = "Opt-outs and pauses need the bot's database, and this bot runs without one."
FORGOTTEN = (
    "Done: I forgot your messages and won't read any more of them (nor answer you) until you "
    "use /catgpt remember."
)
REMEMBERED = "Done: I read your messages again from now on; what I forgot stays forgotten."
PERSONA_FORGET = (
    "You are {persona}, the person this model imitates: /catgpt pause stops the bot; "
    "forgetting your messages here would not untrain it."
)
OPTED_OUT = "You asked me to forget your messages, so I read none: /catgpt remember undoes it."
PAUSE_REFUSED = (
    "Only {persona} (the person this bot imitates) or this server's admins (Manage Server) can "
    "pause or resume it."
)
PAUSED_EVERYWHERE = "Paused everywhere: I answer nobody until you use /catgpt resume."
PAUSED_HERE = "Paused in this server: I answer nobody here until an admin uses /catgpt resume."
RESUMED_EVERYWHERE = "Resumed: I answer again (servers whose admins paused me stay paused)."
RESUMED_HERE = "Resumed in this server."
STILL_PAUSED = " {persona} has paused me everywhere, though, and only they can lift that."
PAUSED_NOTICE = "I'm paused here ({why}), so I'm not answering."
BY_PERSONA = "by {persona}, everywhere"
BY_ADMINS = "by this server's admins"


def forget_cached_messages(bot: discord.Client, user_id: int) -> None:
    """discord.py keeps the last messages it saw (text included) for its own use: drop theirs.

    The cache is the connection state's `_messages` deque (discord.py has no public call to
    remove a message from it); without one (max_messages=None) there is nothing to drop.
    """
    cached = getattr(getattr(bot, "_connection", None), "_messages", None)
    if not cached:
        return
    kept = [message for message in cached if message.author.id != user_id]
    if len(kept) != len(cached):
        cached.clear()
        cached.extend(kept)


class ConsentCommands(commands.Cog):
    def __init__(
        self,
        bot: commands.Bot,
        *,
        consent: Consent,
        card: PersonaCard,
        persona_accounts: frozenset[int],
    ):
        self.bot = bot
        self.consent = consent
        self.card = card
        self.persona_accounts = persona_accounts

    @property
    def persona(self) -> str:
        return escape_markdown(self.card.name)

    # ---- forget / remember --------------------------------------------------------------------

    async def forget(self, interaction: discord.Interaction) -> None:
        self._check_configured()
        if interaction.user.id in self.persona_accounts:
            raise Refused(PERSONA_FORGET.format(persona=self.persona))
        await self.consent.forget(interaction.user.id)
        await _tell(interaction, FORGOTTEN)

    async def remember(self, interaction: discord.Interaction) -> None:
        self._check_configured()
        await self.consent.remember(interaction.user.id)
        await _tell(interaction, REMEMBERED)

    # ---- pause / resume ------------------------------------------------------------------------

    async def pause(self, interaction: discord.Interaction) -> None:
        scope = self._scope(interaction)
        await self.consent.pause(scope)
        await _tell(interaction, PAUSED_EVERYWHERE if scope is None else PAUSED_HERE)

    async def resume(self, interaction: discord.Interaction) -> None:
        scope = self._scope(interaction)
        await self.consent.resume(scope)
        if scope is None:
            await _tell(interaction, RESUMED_EVERYWHERE)
            return
        text = RESUMED_HERE
        if self.consent.paused_everywhere:
            text += STILL_PAUSED.format(persona=self.persona)
        await _tell(interaction, text)

    def _scope(self, interaction: discord.Interaction) -> int | None:
        """Where the caller's pause reaches: None (everywhere) for the persona's accounts, the
        server for its admins; anyone else is refused."""
        self._check_configured()
        if interaction.user.id in self.persona_accounts:
            return None
        rights = interaction.permissions
        if interaction.guild_id is not None and (rights.manage_guild or rights.administrator):
            return interaction.guild_id
        raise Refused(PAUSE_REFUSED.format(persona=self.persona))

    # ---- about and the status ------------------------------------------------------------------

    async def about(self, interaction: discord.Interaction) -> None:
        await self.consent.refresh()
        card = self.card
        shown = PersonaCard(name=self.persona, last_message=card.last_message)
        await _tell(interaction, about_text(shown, paused=self.why_paused(interaction.guild_id)))

    def why_paused(self, guild_id: int | None) -> str | None:
        """Why the bot is quiet in this server (None: it is not), from the cached state."""
        if self.consent.paused_everywhere:
            return BY_PERSONA.format(persona=self.persona)
        if self.consent.paused_here(guild_id):
            return BY_ADMINS
        return None

    def paused_notice(self, guild_id: int | None) -> str:
        return PAUSED_NOTICE.format(why=self.why_paused(guild_id) or BY_ADMINS)

    @commands.Cog.listener()
    async def on_ready(self) -> None:
        # Again after every reconnect: Discord forgets a presence when a session ends.
        activity = discord.CustomActivity(name=status_line(self.card))
        try:
            await self.bot.change_presence(activity=activity)
        except (discord.HTTPException, discord.ClientException, ConnectionError) as error:
            log.warning("could not set the bot's status: %s", error)

    def _check_configured(self) -> None:
        if not self.consent.configured:
            raise Refused(NOT_CONFIGURED)


async def _tell(interaction: discord.Interaction, text: str) -> None:
    await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS)
