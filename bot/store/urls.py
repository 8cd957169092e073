"""CATGPT_DB's text -> the URL SQLAlchemy's async engine opens, and the URL as errors show it.

People write database URLs the way their server's docs do (`postgresql://...`, `sqlite:///...`);
the async engine needs an async driver named in the scheme, so the plain forms get one here
(aiosqlite, asyncpg) rather than a start-up error. A password never leaves this module
unmasked: `masked` is what every message shows.
"""

from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError

from bot.setting_values import shown_path
from bot.store.errors import StoreError

# Scheme as written -> the async driver's scheme. `postgres://` is what Heroku and others hand out.
ASYNC_SCHEMES = {
    "sqlite": "sqlite+aiosqlite",
    "sqlite+aiosqlite": "sqlite+aiosqlite",
    "postgresql": "postgresql+asyncpg",
    "postgres": "postgresql+asyncpg",
    "postgresql+asyncpg": "postgresql+asyncpg",
}
EXAMPLES = "sqlite:///data/bot/catgpt.sqlite3 or postgresql://user:password@host/dbname"

# userinfo's password: `scheme://user:PASSWORD@`, up to the last `@` of the authority part.
_USERINFO_PASSWORD = re.compile(r"^([^:/?#]+://[^:/?#@]*:)(.*)(@[^@]*)$", re.DOTALL)
# libpq-style `?password=...` (asyncpg reads it too).
_QUERY_PASSWORD = re.compile(r"([?&]password=)[^&#]*", re.IGNORECASE)


def masked(raw: str) -> str:
    """The URL as errors and logs may show it: any password replaced by ***."""
    text = _QUERY_PASSWORD.sub(r"\1***", raw.strip())
    # Everything from `user:` to the last `@` goes, so a password holding `@` or `/` (which
    # should be percent-encoded, but people paste them raw) is still masked whole. A path
    # holding `@` may be masked too: showing less is the safe side.
    match = _USERINFO_PASSWORD.match(text)
    if match:
        text = f"{match[1]}***{match[3]}"
    shown = shown_path(text)
    # A Discord token pasted here by mistake is a password too.
    return text if shown == text else "the URL given (not shown: it looks like the bot token)"


def async_url(raw: str) -> URL:
    """The URL the async engine opens; a StoreError naming the problem when it cannot be one."""
    text = raw.strip()
    try:
        url = make_url(text)
    except (ArgumentError, ValueError):
        raise StoreError(
            "this is not a database URL", url=masked(text), fix=f"Write it like {EXAMPLES}."
        ) from None
    scheme = ASYNC_SCHEMES.get(url.drivername.lower())
    if scheme is None:
        raise StoreError(
            f"{url.drivername!r} is not a database the bot can use",
            url=masked(text),
            fix=f"Use SQLite or PostgreSQL: {EXAMPLES}.",
        )
    url = url.set(drivername=scheme)
    if url.get_backend_name() == "postgresql" and not url.host and "host" not in url.query:
        raise StoreError(
            "the PostgreSQL URL names no server",
            url=masked(text),
            fix="Write it like postgresql://user:password@host/dbname.",
        )
    return url


def sqlite_file(url: URL) -> Path | None:
    """The database file of a SQLite URL; None for PostgreSQL and for an in-memory database."""
    if url.get_backend_name() != "sqlite" or url.database in (None, "", ":memory:"):
        return None
    return Path(url.database)
