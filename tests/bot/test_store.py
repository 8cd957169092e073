"""The bot's database against real databases: SQLite files and a PostgreSQL server started here.

Every test that takes `url` runs on both backends. What is proven: a restart keeps rounds,
votes and the voter key; one vote per person, changeable until the reveal and refused after;
a reveal counts every vote it did not refuse, even under concurrent votes; stats keep models
and servers apart; voter ids are never stored raw; every failure to open is one line naming
CATGPT_DB, with the password masked.
"""

from __future__ import annotations

import asyncio
import secrets
from pathlib import Path
from urllib.parse import quote

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from bot.store import QuizStats, StoreError
from bot.store.database import BotStore
from bot.store.migrate import MIGRATIONS, head_revision
from bot.store.schema import metadata
from bot.store.urls import async_url, masked

from .postgres_server import postgres_fixture  # noqa: F401

MODEL = "fp-3f2a9c"
GUILD = 1_234_567_890_123_456_789  # real snowflakes need 64 bits
CHANNEL = 987_654_321_098_765_432
VOTER = 712_345_678_901_234_567


@pytest.fixture(params=["sqlite", "postgresql"])
def url(request, tmp_path):
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path}/not-yet/bot.sqlite3"  # its folder is made at open
    server = request.getfixturevalue("postgres")
    return server.url(server.new_database())


@pytest.fixture
async def store(url):
    opened = await BotStore.open(url)
    yield opened
    await opened.close()


async def new_round(store, *, model=MODEL, guild_id=GUILD, bot_choice=1, message=1) -> int:
    return await store.start_round(
        model=model,
        guild_id=guild_id,
        channel_id=CHANNEL,
        real_message_id=10**18 + message,
        bot_choice=bot_choice,
    )


async def test_a_restart_keeps_rounds_votes_and_the_voter_key(url):
    first = await BotStore.open(url)
    revealed = await new_round(first)
    await first.vote(revealed, VOTER, 1)
    await first.reveal(revealed)
    still_open = await new_round(first, message=2)
    await first.vote(still_open, VOTER, 0)
    await first.close()

    again = await BotStore.open(url)  # migrations run again: nothing to do, nothing lost
    try:
        assert await again.stats(model=MODEL, guild_id=GUILD) == QuizStats(1, 1, 1)
        # The same person after the restart is the same hash: a changed vote, not a second one.
        assert await again.vote(still_open, VOTER, 1)
        result = await again.reveal(still_open)
        assert result.votes == (0, 1) and result.closed_now
        assert await again.stats(model=MODEL, guild_id=GUILD) == QuizStats(2, 2, 2)
    finally:
        await again.close()


async def test_one_vote_per_person_changeable_until_the_reveal(store):
    round_id = await new_round(store, bot_choice=0)
    assert await store.vote(round_id, VOTER, 1)
    assert await store.vote(round_id, VOTER, 0)  # changed their mind
    assert await store.vote(round_id, VOTER + 1, 1)
    result = await store.reveal(round_id)
    assert result.votes == (1, 1) and result.bot_choice == 0 and result.fooled == 1
    assert not await store.vote(round_id, VOTER + 2, 0)  # closed
    assert not await store.vote(round_id, VOTER, 1)  # closed, even for a re-vote
    assert (await store.reveal(round_id)).votes == (1, 1)


async def test_a_second_reveal_gives_the_same_counts_and_closes_nothing(store):
    round_id = await new_round(store)
    await store.vote(round_id, VOTER, 1)
    first = await store.reveal(round_id)
    second = await store.reveal(round_id)
    assert first.closed_now and not second.closed_now
    assert (first.round_id, first.votes, first.bot_choice) == (round_id, (0, 1), 1)
    assert (second.round_id, second.votes, second.bot_choice) == (round_id, (0, 1), 1)
    assert await store.stats(model=MODEL, guild_id=GUILD) == QuizStats(1, 1, 1)  # counted once


async def test_an_unknown_round_refuses_votes_and_its_reveal_is_a_clear_error(store):
    assert not await store.vote(424242, VOTER, 0)
    with pytest.raises(StoreError, match="CATGPT_DB.*no quiz round 424242"):
        await store.reveal(424242)


async def test_choices_other_than_the_two_replies_are_a_programming_error(store):
    with pytest.raises(ValueError, match="bot_choice"):
        await new_round(store, bot_choice=2)
    round_id = await new_round(store)
    with pytest.raises(ValueError, match="choice"):
        await store.vote(round_id, VOTER, -1)


async def test_stats_keep_models_and_servers_apart(store):
    async def played(model, guild_id, bot_choice, votes, reveal=True):
        round_id = await new_round(store, model=model, guild_id=guild_id, bot_choice=bot_choice)
        for voter, choice in enumerate(votes):
            assert await store.vote(round_id, VOTER + voter, choice)
        if reveal:
            await store.reveal(round_id)

    await played(MODEL, None, 1, [1, 1, 0])  # the console game
    await played(MODEL, None, 0, [1])
    await played(MODEL, GUILD, 1, [1, 0, 0, 0])
    await played(MODEL, GUILD + 1, 1, [1])  # another server
    await played("fp-other", GUILD, 0, [0, 0])  # another model
    await played(MODEL, GUILD, 1, [1, 1], reveal=False)  # still open: not counted

    assert await store.stats(model=MODEL, guild_id=None) == QuizStats(2, 4, 2)
    assert await store.stats(model=MODEL, guild_id=GUILD) == QuizStats(1, 4, 1)
    assert await store.stats(model=MODEL, guild_id=GUILD + 1) == QuizStats(1, 1, 1)
    assert await store.stats(model="fp-other", guild_id=GUILD) == QuizStats(1, 2, 2)
    nothing = await store.stats(model="fp-never", guild_id=None)
    assert nothing == QuizStats(0, 0, 0) and nothing.fooled_rate is None
    # A revealed round without votes is a round, not a vote.
    await played(MODEL, GUILD + 2, 0, [])
    assert await store.stats(model=MODEL, guild_id=GUILD + 2) == QuizStats(1, 0, 0)


async def test_voter_ids_are_never_stored(store, url):
    round_id = await new_round(store)
    # Snowflake-sized ids (17-20 digits): a short one could turn up inside any hex string.
    voters = [VOTER, 10**17 + 7, 2**63 - 1]
    for voter in voters:
        await store.vote(round_id, voter, 0)
    cells = []
    async with store._engine.connect() as connection:
        for table in ("quiz_votes", "quiz_rounds", "store_meta"):
            rows = await connection.execute(text(f"SELECT * FROM {table}"))
            cells += [str(cell) for row in rows for cell in row]
        hashes = (await connection.execute(text("SELECT voter FROM quiz_votes"))).scalars().all()
    for voter in voters:
        assert not any(str(voter) in cell for cell in cells), voter
    assert len(set(hashes)) == 3 and all(len(h) == 64 for h in hashes)


async def test_each_database_has_its_own_voter_key(url, tmp_path):
    hashes = []
    for target in (url, f"sqlite:///{tmp_path}/second.sqlite3"):
        opened = await BotStore.open(target)
        try:
            round_id = await new_round(opened)
            await opened.vote(round_id, VOTER, 0)
            async with opened._engine.connect() as connection:
                found = await connection.execute(text("SELECT voter FROM quiz_votes"))
                hashes.append(found.scalar_one())
        finally:
            await opened.close()
    assert hashes[0] != hashes[1]  # a plain hash of the id would be the same everywhere


async def test_concurrent_votes_are_counted_exactly(store):
    round_id = await new_round(store, bot_choice=1)
    voters = range(VOTER, VOTER + 60)
    firsts = [store.vote(round_id, voter, voter % 2) for voter in voters]
    assert all(await asyncio.gather(*firsts))
    # Every third person changes their mind, all at once, alongside late first votes.
    changes = [store.vote(round_id, voter, 1 - voter % 2) for voter in voters[::3]]
    lates = [store.vote(round_id, voter, 1) for voter in range(VOTER + 100, VOTER + 110)]
    assert all(await asyncio.gather(*changes, *lates))
    expected = [0, 0]
    for voter in voters:
        expected[1 - voter % 2 if (voter - VOTER) % 3 == 0 else voter % 2] += 1
    expected[1] += 10
    result = await store.reveal(round_id)
    assert result.votes == tuple(expected) and sum(result.votes) == 70


async def test_a_reveal_amid_votes_counts_every_vote_it_did_not_refuse(store):
    round_id = await new_round(store)
    votes = [store.vote(round_id, voter, 1) for voter in range(VOTER, VOTER + 40)]
    middle = len(votes) // 2
    outcome = await asyncio.gather(*votes[:middle], store.reveal(round_id), *votes[middle:])
    result = outcome[middle]
    accepted = sum(1 for taken in outcome[:middle] + outcome[middle + 1 :] if taken)
    assert result.votes == (0, accepted)
    assert (await store.reveal(round_id)).votes == (0, accepted)


async def test_processes_starting_together_migrate_once(url):
    # Two bot processes on one fresh database: the PostgreSQL advisory lock (SQLite: BEGIN
    # IMMEDIATE) makes the second wait for the first's migration rather than race it.
    first, second = await asyncio.gather(BotStore.open(url), BotStore.open(url))
    try:
        round_id = await new_round(first)
        await first.vote(round_id, VOTER, 1)
        assert await second.vote(round_id, VOTER, 1)  # the same person to both: one vote
        assert (await second.reveal(round_id)).votes == (0, 1)
    finally:
        await first.close()
        await second.close()


async def test_the_migrations_make_what_the_queries_expect(store):
    def differences(connection):
        return compare_metadata(MigrationContext.configure(connection), metadata)

    async with store._engine.connect() as connection:
        assert await connection.run_sync(differences) == []
        revision = await connection.execute(text("SELECT version_num FROM alembic_version"))
        assert revision.scalar_one() == head_revision()


async def test_a_database_from_a_newer_catgpt_is_one_line(url):
    opened = await BotStore.open(url)
    async with opened._engine.begin() as connection:
        await connection.execute(text("UPDATE alembic_version SET version_num = 'f00d'"))
    await opened.close()
    with pytest.raises(StoreError) as caught:
        await BotStore.open(url)
    assert_one_line(caught.value, "newer CatGPT")


def test_the_wheel_ships_every_migration():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    root = Path(__file__).resolve().parents[2]
    pyproject = tomllib.loads((root / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["bot.store"]
    package = root / "bot" / "store"
    shipped = {path for pattern in patterns for path in package.glob(pattern)}
    on_disk = {p for p in MIGRATIONS.rglob("*") if p.is_file() and "__pycache__" not in p.parts}
    assert on_disk and on_disk <= shipped


# --- failures to open: one line, the setting named, the password never shown ---------------


def assert_one_line(error: StoreError, *fragments: str, secret: str | None = None) -> str:
    message = str(error)
    assert "\n" not in message and message.startswith("CATGPT_DB ("), message
    for fragment in fragments:
        assert fragment in message, (fragment, message)
    if secret is not None:
        assert secret not in message and quote(secret, safe="") not in message, message
    return message


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("mysql://bot:S3cr-hunter22@db.example/catgpt", "'mysql' is not a database"),
        ("postgresql+psycopg2://bot:S3cr-hunter22@db.example/catgpt", "is not a database"),
        ("definitely not a url", "not a database URL"),
        ("postgresql://bot:S3cr-hunter22@/catgpt", "names no server"),
    ],
)
async def test_a_url_the_bot_cannot_use(raw, fragment):
    with pytest.raises(StoreError) as caught:
        await BotStore.open(raw)
    assert_one_line(caught.value, fragment, secret="S3cr-hunter22")
    # No chained error either: a traceback of it would print the URL as written.
    error = caught.value
    assert error.__cause__ is None and (error.__context__ is None or error.__suppress_context__)


async def test_a_file_that_is_not_a_sqlite_database(tmp_path):
    notes = tmp_path / "notes.sqlite3"
    notes.write_text("shopping list: fish, more fish\n" * 50)
    with pytest.raises(StoreError) as caught:
        await BotStore.open(f"sqlite:///{notes}")
    assert_one_line(caught.value, "not a SQLite database", str(notes))
    assert notes.read_text().startswith("shopping list")  # left as it was


async def test_a_path_under_a_file_is_one_line(tmp_path):
    (tmp_path / "plain-file").write_text("x")
    with pytest.raises(StoreError) as caught:
        await BotStore.open(f"sqlite+aiosqlite:///{tmp_path}/plain-file/bot/db.sqlite3")
    assert_one_line(caught.value, "cannot make the folder", "a file is in the way")


async def test_a_folder_as_the_database_file_is_one_line(tmp_path):
    with pytest.raises(StoreError) as caught:
        await BotStore.open(f"sqlite:///{tmp_path}")
    assert_one_line(caught.value, "cannot open the database file")


def _password_cases():
    # Anything printable a password manager might produce, behind a prefix no message holds.
    tail = st.text(st.characters(min_codepoint=33, max_codepoint=126), min_size=4, max_size=24)
    return tail.map(lambda text: "S3cr" + text)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(password=_password_cases(), raw=st.booleans())
def test_a_password_is_masked_whatever_it_is(password, raw):
    # Percent-encoded as URLs want it, or pasted raw (@, /, : and all) as people do.
    written = password if raw else quote(password, safe="")
    url = f"postgresql://catgpt:{written}@db.example:5432/catgpt?password={written}"
    shown = masked(url)
    assert password not in shown and written not in shown
    assert shown.startswith("postgresql://catgpt:***@")
    try:
        async_url(f"mysql://catgpt:{written}@db.example/catgpt")
    except StoreError as error:
        assert_one_line(error, secret=password)


async def test_a_wrong_password_is_one_line_and_never_shown(postgres):
    password = "S3cr" + secrets.token_urlsafe(12)
    url = postgres.url(postgres.new_database(), password=quote(password, safe=""))
    with pytest.raises(StoreError) as caught:
        await BotStore.open(url)
    message = assert_one_line(caught.value, "refused the login", secret=password)
    assert f"postgresql://catgpt:***@127.0.0.1:{postgres.port}/" in message


async def test_a_server_that_is_not_there_is_one_line(postgres):
    from .serving import free_port

    url = postgres.url("catgpt", password="S3cr-not-shown").replace(
        f":{postgres.port}/", f":{free_port()}/"
    )
    with pytest.raises(StoreError) as caught:
        await BotStore.open(url)
    assert_one_line(caught.value, "cannot reach the PostgreSQL server", secret="S3cr-not-shown")


async def test_a_database_that_does_not_exist_is_one_line(postgres):
    with pytest.raises(StoreError) as caught:
        await BotStore.open(postgres.url("no_such_db"))
    assert_one_line(caught.value, "does not exist", "createdb", secret=postgres.password)


async def test_plain_and_driver_urls_open_the_same_database(postgres, tmp_path):
    database = postgres.new_database()
    for written in (postgres.url(database), postgres.url(database, scheme="postgresql+asyncpg")):
        opened = await BotStore.open(written)
        assert opened.url.startswith(written.split(":")[0] + "://catgpt:***@")
        await new_round(opened)
        await opened.close()
    for written in (f"sqlite:///{tmp_path}/a.sqlite3", f"sqlite+aiosqlite:///{tmp_path}/a.sqlite3"):
        opened = await BotStore.open(written)
        await new_round(opened)
        await opened.close()
    assert (tmp_path / "a.sqlite3").is_file()


async def test_an_in_memory_database_works_for_quick_checks():
    opened = await BotStore.open("sqlite+aiosqlite://")
    try:
        round_id = await new_round(opened)
        votes = await asyncio.gather(*(opened.vote(round_id, v, 1) for v in range(20)))
        assert all(votes) and (await opened.reveal(round_id)).votes == (0, 20)
    finally:
        await opened.close()
