"""Opt-outs and pauses in the bot's real databases (SQLite files and a PostgreSQL server started
here, as test_store.py): kept as account ids across restarts, idempotent, a database at
revision 0001 upgraded with its quiz data kept, and another host's cache catching up after
its refresh period (a clock moved by hand, never slept)."""

from __future__ import annotations

from alembic import command
from sqlalchemy import text

from bot.consent import Consent
from bot.store import ConsentStore, QuizStats
from bot.store.database import BotStore
from bot.store.engine import create_engine
from bot.store.migrate import alembic_config, head_revision
from bot.store.urls import async_url

from .postgres_server import postgres_fixture  # noqa: F401
from .test_store import GUILD, MODEL, VOTER, new_round, url  # noqa: F401

ALICE = 712_345_678_901_234_001  # snowflake-sized: past 2**53 and 2**31
BOB = 712_345_678_901_234_002


async def test_opt_outs_are_kept_as_account_ids_across_a_restart(url):  # noqa: F811
    first = await BotStore.open(url)
    assert isinstance(first, ConsentStore)
    assert await first.opt_out(ALICE)
    assert not await first.opt_out(ALICE)  # twice: already there, no error
    assert await first.opt_out(BOB)
    assert await first.opt_in(BOB)
    assert not await first.opt_in(BOB)
    await first.close()

    again = await BotStore.open(url)
    try:
        assert await again.opted_out_ids() == {ALICE}
        assert await again.is_opted_out(ALICE) and not await again.is_opted_out(BOB)
        async with again._engine.connect() as connection:
            stored = await connection.execute(text("SELECT user_id FROM opt_outs"))
            assert stored.scalars().all() == [ALICE]  # the id itself: export writes it
    finally:
        await again.close()


async def test_pauses_everywhere_and_per_server_survive_a_restart(url):  # noqa: F811
    first = await BotStore.open(url)
    assert await first.pause(None)
    assert await first.pause(GUILD)
    assert not await first.pause(GUILD)
    assert await first.pause(GUILD + 1)
    assert await first.resume(GUILD + 1)
    assert not await first.resume(GUILD + 1)
    await first.close()

    again = await BotStore.open(url)
    try:
        assert await again.paused_scopes() == {None, GUILD}
        assert await again.resume(None)
        assert await again.paused_scopes() == {GUILD}  # a server's pause is its own
    finally:
        await again.close()


async def test_a_database_at_0001_is_upgraded_and_keeps_its_quiz_data(url):  # noqa: F811
    # What a bot before consent left behind: its tables at 0001, a revealed round with a vote.
    engine = create_engine(async_url(url), "test")
    async with engine.begin() as connection:
        await connection.run_sync(lambda c: command.upgrade(alembic_config(c), "0001"))
    await engine.dispose()
    old = await _open_at_0001(url)
    async with old._engine.connect() as connection:
        found = await connection.execute(text("SELECT version_num FROM alembic_version"))
        assert found.scalar_one() == "0001"
    round_id = await new_round(old)
    await old.vote(round_id, VOTER, 1)
    await old.reveal(round_id)
    await old._engine.dispose()

    upgraded = await BotStore.open(url)  # migrates to head at open
    try:
        async with upgraded._engine.connect() as connection:
            found = await connection.execute(text("SELECT version_num FROM alembic_version"))
            assert found.scalar_one() == head_revision() == "0002"
        assert await upgraded.stats(model=MODEL, guild_id=GUILD) == QuizStats(1, 1, 1)
        # The voter key was kept: the same person is still the same voter.
        second = await new_round(upgraded, message=2)
        await upgraded.vote(second, VOTER, 0)
        assert await upgraded.opt_out(ALICE) and await upgraded.opted_out_ids() == {ALICE}
        assert await upgraded.pause(GUILD) and await upgraded.paused_scopes() == {GUILD}
    finally:
        await upgraded.close()


async def _open_at_0001(target: str) -> BotStore:
    """A BotStore over a database left at 0001 (open() would migrate it): the quiz's queries
    only, with the voter key written as 0001's bot wrote it."""
    from bot.store.migrate import _voter_key

    engine = create_engine(async_url(target), "test")
    async with engine.begin() as connection:
        key = await _voter_key(connection)
    return BotStore(engine, shown_url="test", voter_key=key)


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def test_another_host_sees_a_change_after_its_refresh_period(url):  # noqa: F811
    # Two bot processes on one database, each with its cached copy.
    here_store, there_store = await BotStore.open(url), await BotStore.open(url)
    clock = Clock()
    here, there = Consent(here_store, clock=clock), Consent(there_store, clock=clock)
    await here.load()
    await there.load()
    purged: list[int] = []
    there.on_opt_out.append(purged.append)
    try:
        await here.forget(ALICE)
        await here.pause(GUILD)
        assert here.opted_out(ALICE) and await here.paused(GUILD)  # this host: at once
        clock.now += 59
        assert not await there.paused(GUILD) and not there.opted_out(ALICE)  # its copy
        clock.now += 1
        assert await there.paused(GUILD) and there.opted_out(ALICE)  # read again: caught up
        assert purged == [ALICE]  # and its memory dropped her messages
        assert await there.keeps_quiet(GUILD + 1, ALICE) and not await there.paused(GUILD + 1)

        await there.remember(ALICE)
        await there.resume(GUILD)
        clock.now += 60
        assert not await here.paused(GUILD) and not here.opted_out(ALICE)
    finally:
        await here_store.close()
        await there_store.close()


async def test_a_refresh_that_cannot_reach_the_database_keeps_the_copy(url):  # noqa: F811
    store = await BotStore.open(url)
    clock = Clock()
    consent = Consent(store, clock=clock)
    await store.opt_out(ALICE)
    await consent.load()
    await store.close()  # the database goes away (disposed: a new connection fails)
    await store._engine.dispose()
    store._engine = create_engine(async_url("postgresql://x:y@127.0.0.1:1/none"), "gone")
    clock.now += 61
    assert not await consent.paused(None)  # logged, not raised
    assert consent.opted_out(ALICE)
    await store._engine.dispose()
