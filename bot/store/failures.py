"""A database failure -> one StoreError line: what went wrong, in words, and what to do.

Drivers say what happened in their own types (asyncpg's InvalidPasswordError, sqlite3's
"file is not a database", a refused socket); SQLAlchemy wraps most of them. This module
unwraps the error to the driver's and picks the fix; anything it does not know keeps the
driver's own words. The password is cut out of any text before it is shown, whatever said it.
"""

from __future__ import annotations

import asyncio
import socket
import sqlite3

from alembic.script.revision import RevisionError
from alembic.util import CommandError
from asyncpg import exceptions as pg
from sqlalchemy.exc import DBAPIError

from bot.store.errors import StoreError

_CHECK_URL = "Check the user name and password in CATGPT_DB."


def explain(error: BaseException, *, url: str, password: str | None) -> StoreError:
    """The StoreError for `error`, raised while opening or using the database at `url`."""
    cause = _driver_error(error)
    said = _scrub(str(cause) or type(cause).__name__, password)
    what, fix = _what_and_fix(cause, said)
    return StoreError(what, url=url, fix=fix)


def _what_and_fix(cause: BaseException, said: str) -> tuple[str, str]:
    if isinstance(cause, (pg.InvalidPasswordError, pg.InvalidAuthorizationSpecificationError)):
        return f"the server refused the login ({said})", _CHECK_URL
    if isinstance(cause, pg.InvalidCatalogNameError):
        return said, "Create the database (`createdb NAME`) or fix its name in CATGPT_DB."
    if isinstance(cause, pg.InsufficientPrivilegeError):
        return (
            f"the database user may not create or change the bot's tables ({said})",
            "Make the user the database's owner (ALTER DATABASE ... OWNER TO ...), "
            "or use a database of its own.",
        )
    if isinstance(cause, (OSError, asyncio.TimeoutError, TimeoutError, socket.gaierror)):
        return (
            f"cannot reach the PostgreSQL server ({said or 'no answer in time'})",
            "Start the server, or fix the host and port in CATGPT_DB.",
        )
    if isinstance(cause, sqlite3.DatabaseError) and "not a database" in said:
        return (
            "the file is not a SQLite database",
            "Point CATGPT_DB at a new file (it is made on first start), or move this one away.",
        )
    if isinstance(cause, sqlite3.OperationalError) and ("open" in said or "readonly" in said):
        return (
            f"cannot open the database file for writing ({said})",
            "Point CATGPT_DB at a file in a folder the bot may write to.",
        )
    if isinstance(cause, (CommandError, RevisionError)) and "revision" in said.lower():
        # The database's alembic_version names a revision this code does not have.
        return (
            f"the database was made by a newer CatGPT ({said})",
            "Run that CatGPT version, or point CATGPT_DB at another database.",
        )
    return (
        f"the database failed ({type(cause).__name__}: {said})",
        "Check the database named in CATGPT_DB (is it up, is it the bot's?).",
    )


def _driver_error(error: BaseException) -> BaseException:
    """The driver's own exception under SQLAlchemy's wrappers (asyncpg's under the adapter's)."""
    if isinstance(error, DBAPIError) and error.orig is not None:
        error = error.orig
    seen = {id(error)}
    while error.__cause__ is not None and id(error.__cause__) not in seen:
        error = error.__cause__
        seen.add(id(error))
    return error


def _scrub(text: str, password: str | None) -> str:
    # Drivers rarely echo a password, but an error message is no place to find out that one does.
    if password:
        text = text.replace(password, "***")
    return text
