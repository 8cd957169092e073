"""`catgpt-bot export-opt-outs FILE`: the bot's opt-outs (CATGPT_DB) as the file prepare reads.

The file's format is catgpt/opt_outs.py's (write_opt_outs), so `catgpt-train prepare
--opt-outs FILE` leaves those accounts' messages out of the next dataset. Nothing we did not
write is overwritten: an existing FILE is replaced only when it starts with write_opt_outs'
header line. No token and no model folder are needed: only the database.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

from bot.errors import BotError
from bot.store.errors import StoreError
from bot.store.urls import async_url, masked, sqlite_file
from catgpt.opt_outs import write_opt_outs, written_by_us


def export_opt_outs(path: Path, database_url: str) -> int:
    """Write the opted-out account ids in `database_url` to `path`; returns how many."""
    path = Path(path)
    if path.is_dir():
        raise BotError("is a folder", where=str(path), fix="Give a file path, e.g. opt-outs.txt.")
    if path.exists() and not written_by_us(path):
        raise BotError(
            "exists and was not written by `catgpt-bot export-opt-outs`, so it is left alone",
            where=str(path),
            fix="Give a new path, or move that file away first.",
        )
    database = sqlite_file(async_url(database_url))
    if database is not None and not database.is_file():
        # Opening would make an empty database there and export nobody: a wrong path, surely.
        raise StoreError(
            "there is no database at this path",
            url=masked(database_url),
            fix="Point CATGPT_DB at the bot's database (by default data/bot/catgpt.sqlite3 in "
            "the folder the bot runs in), or run this where the bot runs.",
        )
    ids = asyncio.run(_opted_out(database_url))
    try:
        return write_opt_outs(path, ids)
    except OSError as error:
        raise BotError(
            f"cannot be written ({error.strerror})",
            where=str(path),
            fix="Check that its folder exists and can be written to.",
        ) from None


async def _opted_out(database_url: str) -> frozenset[int]:
    from bot.store.database import BotStore  # SQLAlchemy: only for the commands that need it

    store = await BotStore.open(database_url)
    try:
        return await store.opted_out_ids()
    finally:
        await store.close()
