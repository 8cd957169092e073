"""`/catgpt quiz start` and `/catgpt quiz stats`: the "real or bot?" game in a server channel.

The commands live in the `/catgpt` group (bot/cogs/slash.py) and land here. A round: check
that the asker and the bot may read the channel's history (and that Discord gives the bot the
text: the Message Content intent), pick one of the persona's real turns and its context
(bot/quiz/picking.py), ask the engine for its reply to that same context (the prompt a mention
there would get), post both in random order with two buttons, reveal after `seconds` or
`votes` votes, whichever comes first. Results go to the QuizStore, keyed by the model's
fingerprint (bot/quiz/fingerprint.py) and the server.
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import discord
from discord.ext import commands

from bot.bounded import LRU
from bot.cogs import NO_MENTIONS, Refused
from bot.conversation import MentionContext
from bot.inflight import InFlight
from bot.quiz.picking import HISTORY_LIMIT, pick
from bot.quiz.render import reveal_text, round_text, stats_text
from bot.quiz.round import QuizRound
from bot.quiz.rules import LETTERS, copy_check
from bot.quiz.view import VoteView
from bot.store import QuizStore
from catgpt.reply_cleaning import prepare_reply, unmask_links

log = logging.getLogger(__name__)

# A round's message is edited through its interaction's token, which Discord honours for 15
# minutes: a longer time limit would leave the answer unrevealed.
MAX_SECONDS = 14 * 60

SERVER_ONLY = "The quiz is played in a server channel, not in DMs."
NOT_CONFIGURED = "Quiz results are not configured for this bot, so there is no quiz here."
NEEDS_INTENT = (
    "The quiz reads the channel's messages, which needs the Message Content intent: turn on "
    "Developer Portal → Bot → Message Content Intent, and set CATGPT_MESSAGE_CONTENT=true."
)
BOT_CANNOT_READ = "I need the Read Message History permission in this channel to pick a message."
USER_CANNOT_READ = "You need Read Message History in this channel to start a quiz here."
NO_PERSONA_IDS = (
    "The model folder's catgpt.json lists no Discord account of the persona, so I cannot tell "
    "their messages: prepare the dataset with --persona <account id> and train again."
)
ALREADY_OPEN = "A round is already open in this channel: vote on it first."
NOTHING_TO_QUIZ = "Nothing to quiz on here: no recent message of {persona} long enough to judge."
ROUND_OVER = "This round is over."
OWN_WORDS = "You wrote one of these, so this round is not yours to vote on."
VOTED = "Your vote for {letter} counts (press the other button to change it)."


@dataclass
class _Open:
    """An open round and what reaches its message."""

    round: QuizRound
    text: str  # as posted
    view: VoteView
    message: discord.WebhookMessage | None = None
    timer: asyncio.Task | None = field(default=None, repr=False)


class Quiz(commands.Cog):
    def __init__(
        self,
        bot: commands.Bot,
        *,
        engine,
        store: QuizStore | None,
        model: str,
        mention_context: MentionContext,
        persona_accounts: frozenset[int],
        inflight: InFlight | None = None,
        seconds: float = 120,
        votes: int = 5,
        history: int = HISTORY_LIMIT,
        sleep: Callable[[float], Awaitable] = asyncio.sleep,
        rng: random.Random | None = None,
    ):
        if votes < 1 or seconds <= 0:
            raise ValueError("votes must be at least 1 and seconds above 0")
        self.bot = bot
        self.engine = engine
        self.store = store  # None: results not configured, the commands say so
        self.model = model  # the model folder's fingerprint: whose results these are
        self.mention_context = mention_context  # labels, mention text and the turn shape
        self.persona_ids = persona_accounts
        self.inflight = inflight if inflight is not None else InFlight()
        self.seconds = min(seconds, MAX_SECONDS)
        self.votes = votes
        self.history = history
        self.sleep = sleep  # tests pass one they release by hand: no real waiting
        self.rng = rng or random.Random()
        self.open: dict[int, _Open] = {}  # channel id -> its open round
        self._starting: set[int] = set()  # channels where a round is being prepared
        self._played: LRU[int, None] = LRU(5000)  # real messages used lately: not again soon

    # ---- commands (called by the /catgpt group) ------------------------------------------

    async def start(self, interaction: discord.Interaction) -> None:
        self.inflight.track_current()
        channel_id = interaction.channel_id or 0
        self._check_can_start(interaction)
        if channel_id in self.open or channel_id in self._starting:
            raise Refused(ALREADY_OPEN)
        self._starting.add(channel_id)
        try:
            # Reading up to five pages of history and generating take longer than the
            # 3 seconds Discord waits for a first answer.
            await interaction.response.defer(thinking=True)
            await self._play(interaction, channel_id)
        finally:
            self._starting.discard(channel_id)

    async def stats(self, interaction: discord.Interaction) -> None:
        if interaction.guild_id is None:
            raise Refused(SERVER_ONLY)
        if self.store is None:
            raise Refused(NOT_CONFIGURED)
        totals = await self.store.stats(model=self.model, guild_id=interaction.guild_id)
        # Public: the score is the server's, and the game is played together.
        await interaction.response.send_message(
            stats_text(self.engine.card.name, totals.rounds, totals.votes, totals.fooled_votes),
            allowed_mentions=NO_MENTIONS,
        )

    def _check_can_start(self, interaction: discord.Interaction) -> None:
        if interaction.guild_id is None:
            raise Refused(SERVER_ONLY)
        if self.store is None:
            raise Refused(NOT_CONFIGURED)
        if not self.bot.intents.message_content:
            raise Refused(NEEDS_INTENT)
        # Only what the asker can already read: they must see the channel and its history.
        asker = interaction.permissions
        if not (asker.view_channel and asker.read_message_history):
            raise Refused(USER_CANNOT_READ)
        mine = interaction.app_permissions
        if not (mine.view_channel and mine.read_message_history):
            raise Refused(BOT_CANNOT_READ)
        if not self.persona_ids:
            raise Refused(NO_PERSONA_IDS)

    # ---- a round ---------------------------------------------------------------------------

    async def _play(self, interaction: discord.Interaction, channel_id: int) -> None:
        channel = self.bot.get_channel(channel_id) or interaction.channel
        persona = self.engine.card.name
        try:
            chosen = await pick(
                channel,
                self.mention_context,
                persona_ids=self.persona_ids,
                me=self.bot.user,
                is_copy=copy_check(self.engine),
                exclude=self._played,
                rng=self.rng,
                history=self.history,
            )
        except discord.Forbidden:
            raise Refused(BOT_CANNOT_READ) from None
        if chosen is None:
            raise Refused(NOTHING_TO_QUIZ.format(persona=persona))
        text = await self.engine.reply(list(chosen.context))  # EngineError: the tree's handler
        guild = interaction.guild
        names = [*self.engine.card.names, self.bot.user.name]
        if guild is not None and guild.me is not None:
            names.append(guild.me.display_name)
        model_reply = "\n".join(prepare_reply(text, names))
        real = unmask_links(chosen.real)  # shown as the model's are (catgpt.reply_cleaning)
        bot_choice = self.rng.randrange(2)
        replies = (model_reply, real) if bot_choice == 0 else (real, model_reply)
        round_id = await self.store.start_round(
            model=self.model,
            guild_id=interaction.guild_id,
            channel_id=channel_id,
            real_message_id=chosen.message_id,
            bot_choice=bot_choice,
        )
        self._played[chosen.message_id] = None
        quiz_round = QuizRound(round_id, chosen, replies, bot_choice, self.votes)
        posted = round_text(persona, chosen.context, replies, self.seconds, self.votes)
        opened = _Open(quiz_round, posted, VoteView(lambda i, c: self.vote(opened, i, c)))
        self.open[channel_id] = opened
        # A round whose message never went out stays open in the store: stats count only
        # revealed rounds, so it counts nowhere.
        try:
            opened.message = await interaction.followup.send(
                posted, view=opened.view, allowed_mentions=NO_MENTIONS, wait=True
            )
        except BaseException:
            self.open.pop(channel_id, None)
            raise
        opened.timer = asyncio.create_task(self._time_limit(opened))

    async def vote(self, opened: _Open, interaction: discord.Interaction, choice: int) -> None:
        """A button press: count it, and reveal when it is the vote that was wanted."""
        quiz_round = opened.round
        if interaction.user.id in self.persona_ids:
            await self._tell(interaction, OWN_WORDS)
            return
        if not await quiz_round.vote(self.store, interaction.user.id, choice):
            await self._tell(interaction, ROUND_OVER)
            return
        if quiz_round.enough_votes:
            await self.reveal(opened, interaction)
        else:
            await self._tell(interaction, VOTED.format(letter=LETTERS[choice]))

    async def _time_limit(self, opened: _Open) -> None:
        await self.sleep(self.seconds)
        try:
            await self.reveal(opened)
        except Exception:  # a task nobody awaits: say it here, or it is lost
            log.exception("could not reveal quiz round %s", opened.round.round_id)

    async def reveal(self, opened: _Open, interaction: discord.Interaction | None = None) -> None:
        """Close the round and show the answer (once, whoever gets here first)."""
        result, closed_now = await opened.round.reveal(self.store)
        if not closed_now:
            if interaction is not None:
                await self._tell(interaction, ROUND_OVER)
            return
        channel_id = None
        for key, value in list(self.open.items()):
            if value is opened:
                channel_id = key
                del self.open[key]
        timer = opened.timer
        if timer is not None and timer is not asyncio.current_task():
            timer.cancel()
        text = reveal_text(opened.text, self.engine.card.name, result, opened.round.pick.jump_url)
        view = opened.view.closed()
        try:
            if interaction is not None:
                await interaction.response.edit_message(
                    content=text, view=view, allowed_mentions=NO_MENTIONS
                )
            elif opened.message is not None:
                await opened.message.edit(content=text, view=view, allowed_mentions=NO_MENTIONS)
        except discord.HTTPException as error:
            log.warning("could not show the quiz answer in channel %s: %s", channel_id, error)

    @staticmethod
    async def _tell(interaction: discord.Interaction, text: str) -> None:
        await interaction.response.send_message(text, ephemeral=True, allowed_mentions=NO_MENTIONS)

    # ---- shutdown --------------------------------------------------------------------------

    async def cog_unload(self) -> None:
        """On shutdown (discord.py removes the cogs before disconnecting): the open rounds are
        revealed with the votes they have, their timers stopped and awaited."""
        rounds = list(self.open.values())
        timers = [o.timer for o in rounds if o.timer is not None]
        for timer in timers:
            timer.cancel()
        await asyncio.gather(*timers, return_exceptions=True)
        for opened in rounds:
            try:
                await asyncio.wait_for(self.reveal(opened), 5.0)
            except Exception:  # one round that cannot be shown must not keep the others open
                log.warning("could not reveal quiz round %s", opened.round.round_id, exc_info=True)
        self.open.clear()
