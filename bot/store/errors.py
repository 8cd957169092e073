"""The one error the store raises: a database the bot cannot open or use.

Every StoreError names the setting (CATGPT_DB), the URL with its password masked, what was
wrong and how to fix it, on one line: `catgpt-bot` prints it and exits, as for any setting.
"""

from __future__ import annotations

from bot.errors import BotError

SETTING = "CATGPT_DB"


class StoreError(BotError):
    """The database in CATGPT_DB cannot be opened or used: `CATGPT_DB (url): what. fix`."""

    def __init__(self, what: str, *, url: str | None = None, fix: str | None = None):
        # The URL shown is always the masked one (bot/store/urls.py, `masked`); callers pass it.
        where = f"{SETTING} ({url})" if url else SETTING
        super().__init__(_one_line(what), where=where, fix=fix)


def _one_line(text: str) -> str:
    # Driver messages can span lines (PostgreSQL adds DETAIL and HINT lines): keep one.
    return " ".join(text.split())
