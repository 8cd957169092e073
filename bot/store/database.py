"""BotStore: the QuizStore and ConsentStore contracts (bot/store/__init__.py) on SQLAlchemy's
async engine.

`await BotStore.open(url)` turns the URL into an async driver's (bot/store/urls.py), makes the
engine (engine.py), migrates the tables and reads the voter key (migrate.py); any failure is
one StoreError line (failures.py). Each method is one short transaction.

Votes and the reveal cannot cross: a vote locks its round's row for share while it checks the
round is open and writes, and the reveal locks it for update before closing it and counting,
so every vote is either counted in the reveal or refused (PostgreSQL). SQLite has no row
locks; there each transaction holds the database's write lock from its start (engine.py), and
this process's transactions queue on an asyncio lock instead of spinning on SQLite's.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from datetime import datetime, timezone

from alembic.util import CommandError
from sqlalchemy import case, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.store import QuizStats, RoundResult
from bot.store.engine import create_engine
from bot.store.errors import StoreError
from bot.store.failures import explain
from bot.store.migrate import prepare
from bot.store.schema import EVERYWHERE, opt_outs, pauses, quiz_rounds, quiz_votes
from bot.store.urls import async_url, masked
from bot.store.voters import voter_hash

# What a driver may raise besides SQLAlchemy's wrapped errors: asyncpg lets socket errors and
# timeouts through at connect.
_FAILURES = (SQLAlchemyError, OSError, asyncio.TimeoutError)


class BotStore:
    """The bot's database. Open with `await BotStore.open(url)`; `await store.close()` at exit."""

    def __init__(self, engine: AsyncEngine, *, shown_url: str, voter_key: str):
        self._engine = engine
        self._voter_key = voter_key
        self.url = shown_url  # masked: safe for logs
        # SQLite takes one writer at a time anyway; queueing here is cheaper than SQLite's
        # busy-wait, and an in-memory database has one connection that must not interleave.
        self._serial = asyncio.Lock() if engine.dialect.name == "sqlite" else None

    @classmethod
    async def open(cls, url: str) -> BotStore:
        """Open (creating and migrating as needed) the database at `url`."""
        shown = masked(url)
        target = async_url(url)
        engine = create_engine(target, shown)
        try:
            key = await prepare(engine)
        except (*_FAILURES, CommandError) as error:  # CommandError: a revision we do not know
            await _dispose_quietly(engine)
            raise explain(error, url=shown, password=target.password) from None
        except BaseException:
            await _dispose_quietly(engine)
            raise
        return cls(engine, shown_url=shown, voter_key=key)

    async def close(self) -> None:
        await self._engine.dispose()

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncConnection]:
        """One transaction, committed at the end; a database failure is a StoreError."""
        lock = self._serial or contextlib.nullcontext()
        try:
            async with lock, self._engine.begin() as connection:
                yield connection
        except _FAILURES as error:
            raise explain(error, url=self.url, password=self._engine.url.password) from None

    async def start_round(
        self,
        *,
        model: str,
        guild_id: int | None,
        channel_id: int,
        real_message_id: int,
        bot_choice: int,
    ) -> int:
        _check_choice(bot_choice, "bot_choice")
        row = dict(
            model=model,
            guild_id=guild_id,
            channel_id=channel_id,
            real_message_id=real_message_id,
            bot_choice=bot_choice,
            started_at=_now(),
        )
        async with self._transaction() as connection:
            inserted = await connection.execute(
                quiz_rounds.insert().values(**row).returning(quiz_rounds.c.id)
            )
            return inserted.scalar_one()

    async def vote(self, round_id: int, voter_id: int, choice: int) -> bool:
        _check_choice(choice, "choice")
        voter = voter_hash(self._voter_key, voter_id)
        async with self._transaction() as connection:
            is_open = (
                select(quiz_rounds.c.revealed_at.is_(None))
                .where(quiz_rounds.c.id == round_id)
                .with_for_update(read=True)  # FOR SHARE: the reveal waits for this vote
            )
            if not (await connection.execute(is_open)).scalar_one_or_none():
                return False  # unknown (None) or revealed (False)
            await connection.execute(self._upsert(connection, round_id, voter, choice))
            return True

    def _upsert(self, connection: AsyncConnection, round_id: int, voter: str, choice: int):
        """INSERT ... ON CONFLICT (round, voter) DO UPDATE: a re-vote replaces the choice."""
        dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(quiz_votes).values(round_id=round_id, voter=voter, choice=choice)
        return statement.on_conflict_do_update(
            index_elements=[quiz_votes.c.round_id, quiz_votes.c.voter],
            set_={"choice": statement.excluded.choice},
        )

    async def reveal(self, round_id: int) -> RoundResult:
        async with self._transaction() as connection:
            found = await connection.execute(
                select(quiz_rounds.c.bot_choice, quiz_rounds.c.revealed_at)
                .where(quiz_rounds.c.id == round_id)
                .with_for_update()  # waits for votes in flight; later ones see it closed
            )
            row = found.one_or_none()
            if row is None:
                raise StoreError(
                    f"there is no quiz round {round_id} in the database",
                    url=self.url,
                    fix="Reveal a round start_round returned (a bug, not a setting).",
                )
            closed_now = row.revealed_at is None
            if closed_now:
                await connection.execute(
                    quiz_rounds.update()
                    .where(quiz_rounds.c.id == round_id)
                    .values(revealed_at=_now())
                )
            counted = await connection.execute(
                select(quiz_votes.c.choice, func.count())
                .where(quiz_votes.c.round_id == round_id)
                .group_by(quiz_votes.c.choice)
            )
            votes = {choice: count for choice, count in counted}
        return RoundResult(
            round_id=round_id,
            bot_choice=row.bot_choice,
            votes=(votes.get(0, 0), votes.get(1, 0)),
            closed_now=closed_now,
        )

    async def stats(self, *, model: str, guild_id: int | None) -> QuizStats:
        fooled = case((quiz_votes.c.choice == quiz_rounds.c.bot_choice, 1), else_=0)
        where_guild = (
            quiz_rounds.c.guild_id.is_(None) if guild_id is None
            else quiz_rounds.c.guild_id == guild_id
        )  # fmt: skip
        query = (
            select(
                func.count(func.distinct(quiz_rounds.c.id)),
                func.count(quiz_votes.c.id),
                func.coalesce(func.sum(fooled), 0),
            )
            .select_from(quiz_rounds.outerjoin(quiz_votes))
            .where(
                quiz_rounds.c.model == model,
                where_guild,
                quiz_rounds.c.revealed_at.is_not(None),
            )
        )
        async with self._transaction() as connection:
            rounds, votes, fooled_votes = (await connection.execute(query)).one()
        return QuizStats(rounds=rounds, votes=votes, fooled_votes=int(fooled_votes))


    # ---- consent (ConsentStore): opt-outs and pauses ------------------------------------------

    async def opt_out(self, user_id: int) -> bool:
        return await self._insert_once(opt_outs, user_id=user_id, opted_out_at=_now())

    async def opt_in(self, user_id: int) -> bool:
        return await self._delete(opt_outs.delete().where(opt_outs.c.user_id == user_id))

    async def opted_out_ids(self) -> frozenset[int]:
        async with self._transaction() as connection:
            found = await connection.execute(select(opt_outs.c.user_id))
            return frozenset(found.scalars())

    async def is_opted_out(self, user_id: int) -> bool:
        query = select(opt_outs.c.user_id).where(opt_outs.c.user_id == user_id)
        async with self._transaction() as connection:
            return (await connection.execute(query)).first() is not None

    async def pause(self, guild_id: int | None) -> bool:
        return await self._insert_once(pauses, guild_id=_scope(guild_id), paused_at=_now())

    async def resume(self, guild_id: int | None) -> bool:
        return await self._delete(pauses.delete().where(pauses.c.guild_id == _scope(guild_id)))

    async def paused_scopes(self) -> frozenset[int | None]:
        async with self._transaction() as connection:
            found = await connection.execute(select(pauses.c.guild_id))
            return frozenset(None if g == EVERYWHERE else g for g in found.scalars())

    async def _insert_once(self, table, **row) -> bool:
        """INSERT ... ON CONFLICT DO NOTHING: True when the row is new (two hosts at once: one
        of them says it was already there, neither fails)."""
        async with self._transaction() as connection:
            dialect = postgresql if connection.dialect.name == "postgresql" else sqlite
            done = await connection.execute(
                dialect.insert(table).values(**row).on_conflict_do_nothing()
            )
            return done.rowcount > 0

    async def _delete(self, statement) -> bool:
        async with self._transaction() as connection:
            return (await connection.execute(statement)).rowcount > 0


def _scope(guild_id: int | None) -> int:
    return EVERYWHERE if guild_id is None else guild_id


def _check_choice(value: int, name: str) -> None:
    # A programming error, not a user's: the quiz game only ever offers two replies.
    if value not in (0, 1):
        raise ValueError(f"{name} must be 0 or 1, not {value!r}")


def _now() -> datetime:
    return datetime.now(timezone.utc)


async def _dispose_quietly(engine: AsyncEngine) -> None:
    with contextlib.suppress(*_FAILURES):
        await engine.dispose()
