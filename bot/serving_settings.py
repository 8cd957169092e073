"""Where replies are generated and which gateway shards this process runs (issue 10):
CATGPT_BACKEND with the server's URL, model, key and timeout; CATGPT_SHARD_COUNT and
CATGPT_SHARD_IDS. Read into bot.settings.Settings by `load_settings`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from urllib.parse import urlsplit

from bot.errors import SettingsError
from bot.setting_values import number, shown

BACKENDS = ("local", "openai")


def backend_settings(env: Mapping[str, str]) -> dict:
    """CATGPT_BACKEND and, for `openai`, the server's URL, model name, key and timeout."""
    backend = (env.get("CATGPT_BACKEND", "") or "local").strip().lower()
    if backend not in BACKENDS:
        raise SettingsError(
            f"unknown backend {shown(backend)}",
            where="CATGPT_BACKEND",
            fix="Use local (the model runs in the bot) or openai (an OpenAI-compatible server).",
        )
    timeout = number(env, "CATGPT_API_TIMEOUT", 60.0, float)
    if timeout <= 0:
        raise SettingsError("must be more than 0 seconds", where="CATGPT_API_TIMEOUT")
    # Never put the key's value in an error or a log line: it is a password.
    key = env.get("CATGPT_API_KEY", "").strip() or None
    model = env.get("CATGPT_API_MODEL", "").strip() or None
    base = env.get("CATGPT_API_BASE", "").strip().rstrip("/") or None
    if backend == "openai" and base is None:
        raise SettingsError(
            "CATGPT_BACKEND=openai needs the server's URL",
            where="CATGPT_API_BASE",
            fix="Set it to the server's OpenAI base URL, e.g. http://127.0.0.1:8000/v1.",
        )
    if base is not None:
        base = _api_base(base)
    return dict(backend=backend, api_base=base, api_model=model, api_key=key, api_timeout=timeout)


def _api_base(raw: str) -> str:
    try:
        parts = urlsplit(raw)
        parts.port  # noqa: B018 -- raises ValueError for a port that is not a number
    except ValueError:
        raise SettingsError("not a valid URL", where="CATGPT_API_BASE") from None
    if parts.username or parts.password:
        # The URL is named in start-up errors and logs; a secret in it would leak there.
        raise SettingsError(
            "the URL holds a user name or password",
            where="CATGPT_API_BASE",
            fix="Put the key in CATGPT_API_KEY and leave it out of the URL.",
        )
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise SettingsError(
            f"{shown(raw)} is not an http(s) URL",
            where="CATGPT_API_BASE",
            fix="Write it like http://127.0.0.1:8000/v1.",
        )
    return raw


# ASCII digits only (`\\d` also reads `٣`); more than 9 are past any shard count anyway.
_SHARD_PART = re.compile(r"^([0-9]{1,9})(?:\s*-\s*([0-9]{1,9}))?$")
# Far more shards than any bot runs (Discord wants one per 2,500 servers): keeps a typo such as
# 99999999 an error, not a list of that length.
MAX_SHARD_COUNT = 100_000


def shard_settings(env: Mapping[str, str]) -> dict:
    """CATGPT_SHARD_COUNT and CATGPT_SHARD_IDS (`0,1,2` or `0-3`), checked against each other.

    Each part is read as a (first, last) span and checked (order, bounds, overlap) before any is
    expanded, so no value costs more memory than the shard count.
    """
    count = number(env, "CATGPT_SHARD_COUNT", None)
    if count is not None and not 1 <= count <= MAX_SHARD_COUNT:
        raise SettingsError(
            f"must be 1 to {MAX_SHARD_COUNT} (or empty)", where="CATGPT_SHARD_COUNT"
        )
    spans = []
    for part in (p.strip() for p in env.get("CATGPT_SHARD_IDS", "").split(",")):
        match = _SHARD_PART.match(part)
        if part and not match:
            raise SettingsError(
                f"{shown(part)} is not a shard id",
                where="CATGPT_SHARD_IDS",
                fix="List shard numbers or ranges, e.g. 0,1 or 0-3 (up to CATGPT_SHARD_COUNT - 1).",
            )
        if match:
            first, last = int(match[1]), int(match[2] or match[1])
            if last < first:
                raise SettingsError(
                    f"the range {shown(part)} runs backwards",
                    where="CATGPT_SHARD_IDS",
                    fix=f"Write {last}-{first}.",
                )
            spans.append((first, last))
    if spans and count is None:
        # discord.py refuses shard_ids without a shard_count, and it would be a guess anyway.
        raise SettingsError(
            "shard ids need a shard count",
            where="CATGPT_SHARD_IDS",
            fix="Set CATGPT_SHARD_COUNT to the total number of shards across all processes.",
        )
    spans.sort()
    if spans and spans[-1][1] >= count:
        raise SettingsError(
            f"shard {max(spans[-1][0], count)} is outside 0-{count - 1}",
            where="CATGPT_SHARD_IDS",
            fix="Shards are numbered from 0 to CATGPT_SHARD_COUNT - 1.",
        )
    for (_, last), (first, _) in zip(spans, spans[1:], strict=False):
        if first <= last:
            raise SettingsError(f"shard {first} is listed twice", where="CATGPT_SHARD_IDS")
    ids = tuple(i for first, last in spans for i in range(first, last + 1))
    return dict(shard_count=count, shard_ids=ids)
