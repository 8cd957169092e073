"""Bring a database's tables to this code's revision, and read (or make) its voter key.

Runs at every open, inside one transaction: Alembic's `upgrade head` (a database already at
head is left as it is, so a restart keeps its data), then the voter key. On PostgreSQL the
transaction first takes an advisory lock, so bot processes starting together on several hosts
migrate one after another rather than racing to create the same tables. On SQLite the
transaction's BEGIN IMMEDIATE (bot/store/engine.py) does the same.
"""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import select, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from bot.store.schema import VOTER_KEY, store_meta
from bot.store.voters import new_key

MIGRATIONS = Path(__file__).with_name("migrations")
# Any fixed 64-bit number, the same in every process: "CatGPTdb" in ASCII.
_LOCK_KEY = int.from_bytes(b"CatGPTdb", "big") & 0x7FFF_FFFF_FFFF_FFFF


def alembic_config(connection: Connection | None = None) -> Config:
    """Alembic's settings in code: no alembic.ini to ship or to find at run time."""
    config = Config()
    # ConfigParser reads % as interpolation: a folder name holding one must be escaped.
    config.set_main_option("script_location", str(MIGRATIONS).replace("%", "%%"))
    config.attributes["connection"] = connection
    return config


def head_revision() -> str:
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def prepare(engine: AsyncEngine) -> str:
    """Migrate to head and return the voter key; one transaction, so all or nothing."""
    async with engine.begin() as connection:
        if connection.dialect.name == "postgresql":
            # Held to the end of this transaction; another process's open waits here.
            await connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _LOCK_KEY})
        await connection.run_sync(_upgrade)
        return await _voter_key(connection)


def _upgrade(connection: Connection) -> None:
    command.upgrade(alembic_config(connection), "head")


async def _voter_key(connection: AsyncConnection) -> str:
    query = select(store_meta.c.value).where(store_meta.c.key == VOTER_KEY)
    key = (await connection.execute(query)).scalar_one_or_none()
    if key is None:  # a new database: made once, kept for good (bot/store/voters.py says why)
        key = new_key()
        await connection.execute(store_meta.insert().values(key=VOTER_KEY, value=key))
    return key
