"""Settings: the environment and `.env`, checked into one frozen dataclass before connecting.

Every setting is listed in `.env.example` with a comment. Real environment variables win over
`.env`, so a deployment can override the file. `load_settings` reads a mapping instead of
`os.environ` directly, so tests pass a dict and nothing global is mutated. The Discord token is
never logged or echoed: it is kept out of `repr` and out of every error message, and so is any
value that could be it (pasted into the wrong setting): errors quote a value only when it is
short and does not look like a token (`shown`).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlsplit

from dotenv import dotenv_values

from bot.errors import SettingsError

DEVICES = ("auto", "cpu", "cuda", "mps")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}

# Who may talk to the bot in DMs (CATGPT_ALLOW_DMS): anyone; members of an allowed server;
# nobody. Unset: `members` when CATGPT_ALLOWED_GUILDS is set (DMs follow the guild policy),
# else `anyone` (the bot is open to every server it is in anyway).
DMS_ANYONE, DMS_MEMBERS, DMS_OFF = "anyone", "members", "off"

# Longest value an error message quotes: settings' real values (ids, numbers, names) are
# shorter, a bot token (about 70 characters) or a secret part of one is longer.
_QUOTE_MAX = 24
# A Discord token's shape: three base64url parts joined by dots (user id, 6-character
# timestamp, signature), whatever their case.
_TOKEN_SHAPE = re.compile(r"[A-Za-z0-9_-]{6,}\.[A-Za-z0-9_-]{5,7}\.[A-Za-z0-9_-]{20,}")
# Longest shutdown wait: past this, thread joins overflow (and nobody waits an hour to stop).
_MAX_SHUTDOWN = 3600.0


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


@dataclass(frozen=True)
class Settings:
    """Everything `catgpt-bot` reads; see `.env.example` for what each one does."""

    model: Path
    token: str | None = field(default=None, repr=False)
    device: str = "auto"
    allowed_guilds: frozenset[int] = frozenset()
    allowed_channels: frozenset[int] = frozenset()
    # DMS_ANYONE, DMS_MEMBERS or DMS_OFF; empty: members with an allow-list, else anyone.
    dms: str = ""
    history: int = 20
    queue_size: int = 32
    max_batch: int = 32
    max_new_tokens: int | None = None
    cpu_threads: int | None = None
    cooldown: float = 5.0
    bursts: bool = True  # a reply's lines as separate messages, with a typing pause between
    dev_guild: int | None = None
    owner_id: int | None = None
    message_content: bool = False
    shutdown_timeout: float = 10.0
    log_level: str = "INFO"
    # Where replies are generated (bot/backend.py): `local` loads the weights here, `openai`
    # asks an OpenAI-compatible completions server; checked by _backend_settings.
    backend: str = "local"
    api_base: str | None = None
    api_model: str | None = None
    api_key: str | None = field(default=None, repr=False)  # a password, like the token
    api_timeout: float = 60.0
    # Which gateway shards this process runs (None / empty: Discord's recommended count, all).
    shard_count: int | None = None
    shard_ids: tuple[int, ...] = ()
    copy_guard: bool = True

    def __post_init__(self) -> None:
        if not self.dms:
            default = DMS_MEMBERS if self.allowed_guilds else DMS_ANYONE
            object.__setattr__(self, "dms", default)  # frozen: set once, here
        if self.dms not in (DMS_ANYONE, DMS_MEMBERS, DMS_OFF):
            raise SettingsError(f"unknown DM policy {shown(self.dms)}", where="CATGPT_ALLOW_DMS")
        if self.device.split(":")[0] not in DEVICES:
            raise SettingsError(
                f"unknown device {shown(self.device)}",
                where="CATGPT_DEVICE",
                fix="Use auto, cpu, cuda, cuda:N or mps.",
            )
        for name in ("history", "queue_size", "max_batch"):
            if getattr(self, name) < 1:
                raise SettingsError("must be at least 1", where=_env_name(name))
        if self.max_new_tokens is not None and self.max_new_tokens < 1:
            raise SettingsError("must be at least 1", where="CATGPT_MAX_NEW_TOKENS")
        if self.cpu_threads is not None and self.cpu_threads < 1:
            raise SettingsError("must be at least 1 (or empty)", where="CATGPT_CPU_THREADS")
        # Written so that nan fails them too (every comparison with nan is false).
        if not 0 <= self.cooldown < math.inf:
            raise SettingsError("must be 0 (off) or more seconds", where="CATGPT_COOLDOWN")
        if not 0 < self.shutdown_timeout <= _MAX_SHUTDOWN:
            raise SettingsError(
                f"must be more than 0 and at most {_MAX_SHUTDOWN:.0f} seconds",
                where="CATGPT_SHUTDOWN_TIMEOUT",
            )

    def allows(self, guild_id: int | None, channel_ids: tuple[int, ...]) -> bool:
        """Whether the bot may talk here: a DM (guild None) or a listed guild and channel.

        `channel_ids` holds the channel and, for a thread, its parent, so allowing a channel
        allows the threads under it. For DMs under DMS_MEMBERS this says "maybe": who is asking
        is checked against the servers by the chat cogs (bot/cogs/chat.py), which can ask Discord.
        """
        if guild_id is None:
            return self.dms != DMS_OFF
        if self.allowed_guilds and guild_id not in self.allowed_guilds:
            return False
        if self.allowed_channels and not self.allowed_channels.intersection(channel_ids):
            return False
        return True


def _env_name(field_name: str) -> str:
    return "DISCORD_TOKEN" if field_name == "token" else f"CATGPT_{field_name.upper()}"


def _number(env: Mapping[str, str], name: str, default, kind: type = int):
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


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise SettingsError(f"{shown(raw.strip())} is not true or false", where=name)


def _dms(env: Mapping[str, str]) -> str:
    """CATGPT_ALLOW_DMS: true, false or members; empty for the default (see DMS_ANYONE)."""
    raw = env.get("CATGPT_ALLOW_DMS", "").strip()
    if not raw:
        return ""
    if raw.lower() == DMS_MEMBERS:
        return DMS_MEMBERS
    if raw.lower() in _TRUE:
        return DMS_ANYONE
    if raw.lower() in _FALSE:
        return DMS_OFF
    raise SettingsError(
        f"{shown(raw)} is not true, false or members",
        where="CATGPT_ALLOW_DMS",
        fix="members: only people in a server of CATGPT_ALLOWED_GUILDS may DM the bot.",
    )


def _snowflake(raw: str, name: str) -> int:
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


def _ids(env: Mapping[str, str], name: str) -> frozenset[int]:
    raw = env.get(name, "")
    return frozenset(_snowflake(part.strip(), name) for part in raw.split(",") if part.strip())


def _optional_id(env: Mapping[str, str], name: str) -> int | None:
    raw = env.get(name, "").strip()
    return _snowflake(raw, name) if raw else None


def _token(env: Mapping[str, str], required: bool) -> str | None:
    if not required:
        # Console mode never connects: a stale or malformed token left in .env must not stop
        # `--console` or `make demo`, so it is neither checked nor kept.
        return None
    raw = env.get("DISCORD_TOKEN", "").strip()
    if not raw:
        raise SettingsError(
            "no Discord bot token",
            where="DISCORD_TOKEN",
            fix="Put DISCORD_TOKEN=... in .env (see docs/bot.md), "
            "or chat locally with `catgpt-bot --console`.",
        )
    # Never include the value in the message: it is a password.
    if raw.lower().startswith("bot "):
        raise SettingsError(
            "the token starts with 'Bot '", where="DISCORD_TOKEN", fix="Paste the token alone."
        )
    if any(ch.isspace() for ch in raw) or raw.count(".") != 2:
        raise SettingsError(
            "this does not look like a bot token (three dot-separated parts, no spaces)",
            where="DISCORD_TOKEN",
            fix="Copy it again from the Bot page of your application in the Developer Portal.",
        )
    return raw


def check_model_folder(folder: Path, secrets: Iterable[str | None] = ()) -> Path:
    """The folder must exist and look like a Hugging Face model; the engine checks the rest."""
    if not folder.is_dir():
        raise SettingsError(
            "no such model folder",
            where=shown_path(str(folder), secrets),
            fix="Set CATGPT_MODEL or pass --model DIR (`make demo` builds models/demo; "
            "`catgpt-train run` trains one).",
        )
    if not (folder / "config.json").is_file():
        raise SettingsError(
            "not a model folder (no config.json)",
            where=shown_path(str(folder), secrets),
            fix="Point CATGPT_MODEL at the folder `catgpt-train train --out` wrote.",
        )
    return folder


def read_environment(
    env_file: str | os.PathLike | None = ".env", *, must_exist: bool = False
) -> dict[str, str]:
    """`.env` (when present) overlaid by the real environment, which wins.

    must_exist: the user named the file (`--env-file`), so a missing one is a mistake, not
    "no settings file".
    """
    values: dict[str, str] = {}
    if env_file is not None and Path(env_file).is_file():
        try:
            parsed = dotenv_values(env_file, encoding="utf-8")
        except UnicodeDecodeError:
            raise SettingsError(
                "the settings file is not UTF-8 text",
                where=shown_path(str(env_file)),
                fix="Save it as UTF-8 (PowerShell's `>` writes UTF-16; use an editor or "
                "`Set-Content -Encoding utf8`).",
            ) from None
        values.update({k: v for k, v in parsed.items() if v is not None})
    elif must_exist:
        raise SettingsError(
            "no such settings file",
            where=shown_path(str(env_file)),
            fix="Check the --env-file path, or leave it out to read .env.",
        )
    values.update(os.environ)
    return values


def load_settings(
    env: Mapping[str, str],
    *,
    model: str | os.PathLike | None = None,
    device: str | None = None,
    require_token: bool = True,
) -> Settings:
    """Check every setting in `env`; `model` and `device` (command-line flags) win over it."""
    model_raw = str(model) if model is not None else env.get("CATGPT_MODEL", "").strip()
    if not model_raw:
        raise SettingsError(
            "no model folder",
            where="CATGPT_MODEL",
            fix="Set CATGPT_MODEL in .env or pass --model DIR (`make demo` builds models/demo).",
        )
    token = _token(env, require_token)
    # Read even when not kept (console mode): pasted elsewhere, it must not be echoed either.
    secrets = (env.get("DISCORD_TOKEN"),)
    settings = Settings(
        model=check_model_folder(Path(model_raw).expanduser(), secrets),
        token=token,
        device=(device or env.get("CATGPT_DEVICE", "") or "auto").strip().lower(),
        allowed_guilds=_ids(env, "CATGPT_ALLOWED_GUILDS"),
        allowed_channels=_ids(env, "CATGPT_ALLOWED_CHANNELS"),
        dms=_dms(env),
        history=_number(env, "CATGPT_HISTORY", 20),
        queue_size=_number(env, "CATGPT_QUEUE_SIZE", 32),
        max_batch=_number(env, "CATGPT_MAX_BATCH", 32),
        max_new_tokens=_number(env, "CATGPT_MAX_NEW_TOKENS", None),
        cpu_threads=_number(env, "CATGPT_CPU_THREADS", None),
        cooldown=_number(env, "CATGPT_COOLDOWN", 5.0, float),
        dev_guild=_optional_id(env, "CATGPT_DEV_GUILD"),
        owner_id=_optional_id(env, "CATGPT_OWNER_ID"),
        message_content=_bool(env, "CATGPT_MESSAGE_CONTENT", False),
        bursts=_bool(env, "CATGPT_BURSTS", True),
        shutdown_timeout=_number(env, "CATGPT_SHUTDOWN_TIMEOUT", 10.0, float),
        log_level=(env.get("CATGPT_LOG_LEVEL", "") or "INFO").strip().upper(),
        **_backend_settings(env),
        **_shard_settings(env),
        copy_guard=_bool(env, "CATGPT_COPY_GUARD", True),
    )
    if settings.log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise SettingsError(
            f"unknown log level {shown(settings.log_level)}",
            where="CATGPT_LOG_LEVEL",
            fix="Use DEBUG, INFO, WARNING or ERROR.",
        )
    return settings


# ---- the inference backend and the gateway shards (issue 10) ----------------------------------

BACKENDS = ("local", "openai")


def _backend_settings(env: Mapping[str, str]) -> dict:
    """CATGPT_BACKEND and, for `openai`, the server's URL, model name, key and timeout."""
    backend = (env.get("CATGPT_BACKEND", "") or "local").strip().lower()
    if backend not in BACKENDS:
        raise SettingsError(
            f"unknown backend {shown(backend)}",
            where="CATGPT_BACKEND",
            fix="Use local (the model runs in the bot) or openai (an OpenAI-compatible server).",
        )
    timeout = _number(env, "CATGPT_API_TIMEOUT", 60.0, float)
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


def _shard_settings(env: Mapping[str, str]) -> dict:
    """CATGPT_SHARD_COUNT and CATGPT_SHARD_IDS (`0,1,2` or `0-3`), checked against each other.

    Each part is read as a (first, last) span and checked (order, bounds, overlap) before any is
    expanded, so no value costs more memory than the shard count.
    """
    count = _number(env, "CATGPT_SHARD_COUNT", None)
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
