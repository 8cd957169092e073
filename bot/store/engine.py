"""One async engine per store, set up for the database behind it.

SQLite: the file's folder is made if missing; every transaction starts with BEGIN IMMEDIATE,
so it holds the write lock from its first statement (a transaction that reads, then writes,
could otherwise find another writer in between and fail with "database is locked" instead of
waiting); foreign keys are switched on (SQLite leaves them off per connection).
PostgreSQL: connections are checked before use (a restarted server's dead connections would
otherwise fail one query each), and a server that does not answer fails the start in seconds.
"""

from __future__ import annotations

from sqlalchemy import event
from sqlalchemy.engine import URL
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine
from sqlalchemy.pool import StaticPool

from bot.store.errors import StoreError
from bot.store.urls import sqlite_file

CONNECT_TIMEOUT = 10.0  # seconds to reach the PostgreSQL server at start
SQLITE_BUSY_TIMEOUT = 30.0  # seconds a SQLite transaction waits for another process's writer


def create_engine(url: URL, shown: str) -> AsyncEngine:
    """The engine for `url` (already an async driver's URL); `shown` is the masked URL."""
    if url.get_backend_name() == "postgresql":
        return create_async_engine(
            url, pool_pre_ping=True, connect_args={"timeout": CONNECT_TIMEOUT}
        )
    path = sqlite_file(url)
    if path is None:
        # In memory: every connection would be a new, empty database, so all share one.
        engine = create_async_engine(url, poolclass=StaticPool)
    else:
        _make_folder(path, shown)
        engine = create_async_engine(url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT})
    _sqlite_transactions(engine)
    return engine


def _make_folder(path, shown: str) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise StoreError(
            f"cannot make the folder {path.parent} for the database file (a file is in the way)",
            url=shown,
            fix="Point CATGPT_DB at a path under folders, not under a file.",
        ) from None
    except OSError as error:
        reason = (error.strerror or type(error).__name__).lower()
        raise StoreError(
            f"cannot make the folder {path.parent} for the database file ({reason})",
            url=shown,
            fix="Point CATGPT_DB at a folder the bot may write to.",
        ) from None


def _sqlite_transactions(engine: AsyncEngine) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection, _record) -> None:
        # Leave transactions to us (the driver's own implicit BEGIN would be a deferred one).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(connection) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
