"""One setting's text -> its value, with errors that never echo a secret.

The readers every setting shares (numbers, booleans, Discord ids) and the one rule for quoting
a value in an error: only when it is short and does not look like a token (`shown`), so a bot
token pasted into the wrong setting is never echoed. bot/settings.py and
bot/serving_settings.py read their settings with these.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping

from bot.errors import SettingsError

TRUE = {"1", "true", "yes", "on"}
FALSE = {"0", "false", "no", "off", ""}

# Longest value an error message quotes: settings' real values (ids, numbers, names) are
# shorter, a bot token (about 70 characters) or a secret part of one is longer.
_QUOTE_MAX = 24
# A Discord token's shape: three base64url parts joined by dots (user id, 6-character
# timestamp, signature), whatever their case.
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{5,7}\.[A-Za-z0-9_-]{20,}")


def _holds_secret(text: str, secrets: Iterable[str | None]) -> bool:
    folded = text.casefold()  # a setting may have upper- or lower-cased what it was given
    if _TOKEN_SHAPE.search(text):
        return True
    return any(len(s.strip()) >= 8 and s.strip().casefold() in folded for s in secrets if s)


def shown(raw: str, secrets: Iterable[str | None] = ()) -> str:
    """`raw` quoted for an error message, unless it is long or could be a secret.

    secrets: values that must never be echoed, even inside a longer one (the token).
    """
    if len(raw) > _QUOTE_MAX or _holds_secret(raw, secrets):
        return f"the value given ({len(raw)} characters, not shown)"
    return repr(raw)


def shown_path(path: str, secrets: Iterable[str | None] = ()) -> str:
    """A path for an error message: as given (people need to see it), unless it holds a secret."""
    if _holds_secret(path, secrets):
        return "the path given (not shown: it looks like the bot token)"
    return path


def number(env: Mapping[str, str], name: str, default, kind: type = int):
    """`kind(value)` of a setting, `default` when it is empty; a clear error when not a number."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    what = "a whole number" if kind is int else "a number"
    try:
        value = kind(raw)
    except ValueError:
        raise SettingsError(f"{shown(raw)} is not {what}", where=name) from None
    if not math.isfinite(value):  # float() reads "nan" and "inf"; no setting means either
        raise SettingsError(f"{shown(raw)} is not a finite number", where=name)
    return value


def boolean(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    value = raw.strip().lower()
    if value in TRUE:
        return True
    if value in FALSE:
        return False
    raise SettingsError(f"{shown(raw.strip())} is not true or false", where=name)


def snowflake(raw: str, name: str) -> int:
    # Discord ids are 17-20 digit numbers; a name or a #channel pasted here is the usual slip.
    # isascii: str.isdigit() also accepts digits int() cannot read, such as '²'.
    if not (raw.isascii() and raw.isdigit()) or not 15 <= len(raw) <= 21:
        raise SettingsError(
            f"{shown(raw)} is not a Discord id",
            where=name,
            fix="Turn on Developer Mode in Discord, right-click the server, channel or user, "
            "and choose Copy ID.",
        )
    return int(raw)


def ids(env: Mapping[str, str], name: str) -> frozenset[int]:
    raw = env.get(name, "")
    return frozenset(snowflake(part.strip(), name) for part in raw.split(",") if part.strip())


def optional_id(env: Mapping[str, str], name: str) -> int | None:
    raw = env.get(name, "").strip()
    return snowflake(raw, name) if raw else None
