"""The bot's database and the quiz's pace (issue 16): CATGPT_DB, CATGPT_QUIZ_SECONDS and
CATGPT_QUIZ_VOTES. Read into bot.settings.Settings by `load_settings`.

CATGPT_DB is checked here only for what can be known without connecting (a URL, a database
the bot supports, a server named), so a typo stops the start with the other settings'
errors; reaching the server is BotStore.open's job (bot/store/). Its password is masked in
every message, as the store's own errors do.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from bot.errors import SettingsError
from bot.setting_values import number
from bot.store.errors import StoreError
from bot.store.urls import async_url

DEFAULT_DB_FILE = Path("data") / "bot" / "catgpt.sqlite3"  # git-ignored, beside data/sample
QUIZ_SECONDS = (10, 3600)  # a round shorter than this cannot be read; longer is forgotten
QUIZ_VOTES = (1, 100)


def default_database_url(cwd: Path | None = None) -> str:
    """A SQLite file under the working directory, made absolute so a later chdir keeps it."""
    path = ((cwd or Path.cwd()) / DEFAULT_DB_FILE).absolute()
    return f"sqlite+aiosqlite:///{path}"


def store_settings(env: Mapping[str, str]) -> dict:
    """CATGPT_DB (default: default_database_url()), CATGPT_QUIZ_SECONDS, CATGPT_QUIZ_VOTES."""
    raw = env.get("CATGPT_DB", "").strip()
    if raw:
        try:
            async_url(raw)
        except StoreError as error:  # the same words, as the settings error it is here
            raise SettingsError(error.what, where=error.where, fix=error.fix) from None
    return dict(
        database_url=raw or default_database_url(),
        quiz_seconds=_within(env, "CATGPT_QUIZ_SECONDS", 120, QUIZ_SECONDS, "seconds"),
        quiz_votes=_within(env, "CATGPT_QUIZ_VOTES", 5, QUIZ_VOTES, "votes"),
    )


def _within(env: Mapping[str, str], name: str, default: int, bounds, unit: str) -> int:
    value = number(env, name, default)
    low, high = bounds
    if not low <= value <= high:
        raise SettingsError(f"must be {low} to {high} {unit}", where=name)
    return value
