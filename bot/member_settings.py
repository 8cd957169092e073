"""Turn-taking like a member of the server (issue 17): CATGPT_DEBOUNCE_SECONDS,
CATGPT_FREE_CHANNELS and CATGPT_WEBHOOK. Read into bot.settings.Settings by `load_settings`.

What each one does is in bot/turn_taking.py (debounce, free talk, threads) and
bot/webhook_voice.py (the persona's own name and avatar, always labelled as a bot).
"""

from __future__ import annotations

from collections.abc import Mapping

from bot.errors import SettingsError
from bot.setting_values import boolean, ids, number

# A person's quick messages come seconds apart; 2 s catches most of a burst without making a
# single question wait long.
DEFAULT_DEBOUNCE = 2.0
# However long someone keeps typing, the answer comes this many seconds after the call at the
# latest (and a debounce longer than the cap would mean nothing).
DEBOUNCE_CAP = 10.0


def member_settings(env: Mapping[str, str]) -> dict:
    """CATGPT_DEBOUNCE_SECONDS (0 = off), CATGPT_FREE_CHANNELS (ids), CATGPT_WEBHOOK (on/off)."""
    debounce = number(env, "CATGPT_DEBOUNCE_SECONDS", DEFAULT_DEBOUNCE, float)
    check_debounce(debounce)
    return dict(
        debounce=debounce,
        free_channels=ids(env, "CATGPT_FREE_CHANNELS"),
        webhook=boolean(env, "CATGPT_WEBHOOK", False),
    )


def check_debounce(seconds: float) -> None:
    # Written so that nan fails it too (every comparison with nan is false).
    if not 0 <= seconds <= DEBOUNCE_CAP:
        raise SettingsError(
            f"must be 0 (off) to {DEBOUNCE_CAP:g} seconds", where="CATGPT_DEBOUNCE_SECONDS"
        )
