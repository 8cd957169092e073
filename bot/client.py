"""The discord.py bot: start-up in `setup_hook`, one cog per feature, graceful shutdown."""

from __future__ import annotations

import asyncio
import logging
import signal
from collections.abc import Awaitable, Callable

import discord
from discord.ext import commands

from bot.cogs import NO_MENTIONS, NOTICES
from bot.cogs.admin import Admin
from bot.cogs.chat import GuildMembers
from bot.cogs.consent import ConsentCommands, forget_cached_messages
from bot.cogs.errors import ErrorHandler
from bot.cogs.mentions import Mentions
from bot.cogs.quiz import Quiz
from bot.cogs.slash import Slash
from bot.consent import Consent
from bot.conversation import MentionContext, discord_ids
from bot.cooldown import UserCooldown
from bot.engines import load_engine as engine_for
from bot.engines.local import LocalEngine
from bot.inflight import InFlight
from bot.quiz.fingerprint import model_fingerprint
from bot.settings import Settings
from bot.store import ConsentStore, QuizStore
from bot.webhook_voice import WebhookVoice, read_avatar
from catgpt.heap import trim_heap

log = logging.getLogger(__name__)


def intents_for(settings: Settings) -> discord.Intents:
    intents = discord.Intents.default()
    # Privileged: without it Discord blanks the text of messages that do not mention the bot,
    # so the context is only mentions and the bot's replies (docs/bot.md explains).
    intents.message_content = settings.message_content
    return intents


class CatGPTBot(commands.AutoShardedBot):
    """Dependencies come in: the settings, the engine or a function that loads one, and the
    quiz's results store or an async function that opens one (neither: the quiz commands say
    results are not configured). The bot closes the store when it shuts down. The same store,
    when it also keeps opt-outs and pauses (bot/store's ConsentStore: the bot's database
    does), is what `self.consent` (bot/consent.py) reads at start and changes.

    Sharded: one process runs the shards CATGPT_SHARD_IDS names out of CATGPT_SHARD_COUNT
    (both unset: all of Discord's recommended count), so several processes can split a big bot.
    """

    def __init__(
        self,
        settings: Settings,
        *,
        engine: LocalEngine | None = None,
        load_engine: Callable[[], LocalEngine] | None = None,
        quiz_store: QuizStore | None = None,
        open_quiz_store: Callable[[], Awaitable[QuizStore]] | None = None,
        **options,
    ):
        options.setdefault("intents", intents_for(settings))
        options.setdefault("shard_count", settings.shard_count)
        options.setdefault("shard_ids", list(settings.shard_ids) or None)
        super().__init__(
            # A mention prefix works without the message-content intent; only `sync` uses it.
            command_prefix=commands.when_mentioned,
            help_command=None,
            # Belt and braces: every send also passes NO_MENTIONS itself.
            allowed_mentions=NO_MENTIONS,
            owner_id=settings.owner_id,
            **options,
        )
        self.settings = settings
        self.engine = engine
        self._load_engine = load_engine or (lambda: engine_for(settings))
        self.quiz_store = quiz_store
        self._open_quiz_store = open_quiz_store
        self._shutdown: asyncio.Future | None = None
        # Mention and /catgpt handlers in progress; shutdown lets them finish (bounded).
        self.inflight = InFlight()
        # Opt-outs and pauses; without a database nobody is opted out and nothing is paused.
        self.consent = Consent()

    async def setup_hook(self) -> None:
        if self.engine is None:
            # Loading weights takes seconds. This runs after the HTTP login and before the
            # gateway connects; a thread keeps the event loop free meanwhile (signals).
            self.engine = await asyncio.to_thread(self._load_engine)
        # The persona card the engine read at load (catgpt.json, read once): the persona's own
        # accounts (labelled apart, like a namesake: catgpt/labels.py) and the conversation shape.
        card = self.engine.card
        account_ids = discord_ids(card)
        # One cooldown, one in-flight tracker and one membership cache (the DM policy) for
        # both ways of talking to the persona.
        chat = dict(
            engine=self.engine,
            settings=self.settings,
            cooldown=UserCooldown(self.settings.cooldown),
            inflight=self.inflight,
            members=GuildMembers(self),
            persona_accounts=account_ids,
        )
        mention_context = MentionContext(
            persona=card.name,
            aliases=card.aliases,
            account_ids=account_ids,
            # Turns as training made them (catgpt.json), at most CATGPT_HISTORY of them: the
            # same bound the engine's prompts get (catgpt.prompt.limits).
            shape=card.shape(self.settings.history),
            skip_texts=NOTICES,
            opted_out=self.consent.opted_out,  # never reads the messages of who opted out
        )
        quiz = await self._quiz(mention_context, account_ids)
        consent = await self._consent(mention_context, account_ids)
        await self.add_cog(ErrorHandler(self))
        # CATGPT_WEBHOOK: the persona's labelled voice, its picture from the model folder.
        avatar = await asyncio.to_thread(read_avatar, self.settings.model)
        voice = WebhookVoice(self, persona=card.name, avatar=avatar, enabled=self.settings.webhook)
        await self.add_cog(Mentions(self, mention_context=mention_context, voice=voice, **chat))
        await self.add_cog(quiz)
        await self.add_cog(consent)
        await self.add_cog(Slash(self, quiz=quiz, consent=consent, **chat))
        await self.add_cog(Admin(self))
        if self.settings.dev_guild is not None:
            guild = discord.Object(self.settings.dev_guild)
            self.tree.copy_global_to(guild=guild)
            synced = await self.tree.sync(guild=guild)
            log.info("synced %d command(s) to the development guild", len(synced))

    async def _quiz(self, mention_context: MentionContext, account_ids: frozenset[int]) -> Quiz:
        """The quiz game: the results store (opened here when a factory was given), the model's
        fingerprint (hashing reads files: a thread), the round's limits from the settings."""
        if self.quiz_store is None and self._open_quiz_store is not None:
            self.quiz_store = await self._open_quiz_store()
            trim_heap()  # the migrations' freed memory back to the OS (catgpt/heap.py)
        served = getattr(getattr(self.engine, "client", None), "model", None)  # remote backend
        model = await asyncio.to_thread(model_fingerprint, self.settings.model, served)
        return Quiz(
            self,
            engine=self.engine,
            store=self.quiz_store,
            model=model,
            mention_context=mention_context,
            persona_accounts=account_ids,
            inflight=self.inflight,
            seconds=self.settings.quiz_seconds,  # CATGPT_QUIZ_SECONDS
            votes=self.settings.quiz_votes,  # CATGPT_QUIZ_VOTES
        )

    async def _consent(
        self, mention_context: MentionContext, account_ids: frozenset[int]
    ) -> ConsentCommands:
        """Opt-outs and pauses from the bot's database (read once here, then cached), and what
        an opt-out empties: the mention memory and discord.py's message cache."""
        if isinstance(self.quiz_store, ConsentStore):
            self.consent.store = self.quiz_store
            await self.consent.load()
        self.consent.on_opt_out.append(mention_context.forget_author)
        self.consent.on_opt_out.append(lambda user_id: forget_cached_messages(self, user_id))
        return ConsentCommands(
            self, consent=self.consent, card=self.engine.card, persona_accounts=account_ids
        )

    async def process_commands(self, message: discord.Message) -> None:
        # Every mention parses as a command attempt ("@bot hi" -> command "hi"); only real
        # commands are invoked, so chat lines do not raise CommandNotFound.
        if message.author.bot:
            return
        ctx = await self.get_context(message)
        if ctx.command is not None:
            await self.invoke(ctx)

    async def on_ready(self) -> None:
        log.info("logged in as %s (%s) in %d guild(s)", self.user, self.user.id, len(self.guilds))

    async def close(self) -> None:
        """Stop taking mentions, let the ones in progress finish (bounded), then disconnect.

        Called by the signal handler and again by `async with bot` on the way out: the second
        call waits for the first instead of starting over.
        """
        if self._shutdown is None:
            self._shutdown = asyncio.ensure_future(self._graceful_close())
        await asyncio.shield(self._shutdown)

    async def _graceful_close(self) -> None:
        timeout = self.settings.shutdown_timeout
        if self.engine is not None:
            log.info("shutting down: finishing replies in progress (up to %.0fs)", timeout)
            self.engine.stop_accepting()
            await self.inflight.drain(timeout)
            # Generations still running are cut short: their handlers get EngineClosed and
            # say "going to sleep" (a mention's reply; a /catgpt followup, via the tree's
            # error handler), so no deferred command is left "thinking..." ...
            await self.engine.aclose(timeout=1.0)
            # ... given a moment to send that; whatever is still stuck then is cancelled.
            if not await self.inflight.drain(2.0):
                self.inflight.cancel()
        # Removes the cogs: the quiz reveals its open rounds (Quiz.cog_unload) meanwhile.
        await super().close()
        if self.quiz_store is not None:
            await self.quiz_store.close()


async def run_bot(settings: Settings, bot: CatGPTBot | None = None) -> None:
    """Connect and serve until SIGINT/SIGTERM, then shut down gracefully."""
    if bot is None:
        from bot.store.database import BotStore  # SQLAlchemy: only for the bot that serves

        bot = CatGPTBot(settings, open_quiz_store=lambda: BotStore.open(settings.database_url))
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(signum, lambda: asyncio.ensure_future(bot.close()))
        except (NotImplementedError, RuntimeError):  # Windows: Ctrl-C still raises there
            pass
    async with bot:
        await bot.start(settings.token)
