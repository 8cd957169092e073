"""Settings: the environment and `.env`, checked into one frozen dataclass before connecting.

Every setting is listed in `.env.example` with a comment. Real environment variables win over
`.env`, so a deployment can override the file. `load_settings` reads a mapping instead of
`os.environ` directly, so tests pass a dict and nothing global is mutated. The Discord token is
never logged or echoed: it is kept out of `repr` and out of every error message.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import dotenv_values

from bot.errors import SettingsError

DEVICES = ("auto", "cpu", "cuda", "mps")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class Settings:
    """Everything `catgpt-bot` reads; see `.env.example` for what each one does."""

    model: Path
    token: str | None = field(default=None, repr=False)
    device: str = "auto"
    allowed_guilds: frozenset[int] = frozenset()
    allowed_channels: frozenset[int] = frozenset()
    allow_dms: bool = True
    history: int = 20
    queue_size: int = 32
    max_batch: int = 32
    max_new_tokens: int | None = None
    cpu_threads: int | None = None
    cooldown: float = 5.0
    dev_guild: int | None = None
    owner_id: int | None = None
    message_content: bool = False
    shutdown_timeout: float = 10.0
    log_level: str = "INFO"
    copy_guard: bool = True

    def __post_init__(self) -> None:
        if self.device.split(":")[0] not in DEVICES:
            raise SettingsError(
                f"unknown device {self.device!r}",
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
        if self.cooldown < 0:
            raise SettingsError("must be 0 (off) or more seconds", where="CATGPT_COOLDOWN")
        if self.shutdown_timeout <= 0:
            raise SettingsError("must be more than 0 seconds", where="CATGPT_SHUTDOWN_TIMEOUT")

    def allows(self, guild_id: int | None, channel_ids: tuple[int, ...]) -> bool:
        """Whether the bot may talk here: a DM (guild None) or a listed guild and channel.

        `channel_ids` holds the channel and, for a thread, its parent, so allowing a channel
        allows the threads under it.
        """
        if guild_id is None:
            return self.allow_dms
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
    try:
        return kind(raw)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise SettingsError(f"{raw!r} is not {what}", where=name) from None


def _bool(env: Mapping[str, str], name: str, default: bool) -> bool:
    raw = env.get(name)
    if raw is None or not raw.strip():
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise SettingsError(f"{raw!r} is not true or false", where=name)


def _snowflake(raw: str, name: str) -> int:
    # Discord ids are 17-20 digit numbers; a name or a #channel pasted here is the usual slip.
    if not raw.isdigit() or not 15 <= len(raw) <= 21:
        raise SettingsError(
            f"{raw!r} is not a Discord id",
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


def check_model_folder(folder: Path) -> Path:
    """The folder must exist and look like a Hugging Face model; the engine checks the rest."""
    if not folder.is_dir():
        raise SettingsError(
            "no such model folder",
            where=str(folder),
            fix="Set CATGPT_MODEL or pass --model DIR (`make demo` builds models/demo; "
            "`catgpt-train run` trains one).",
        )
    if not (folder / "config.json").is_file():
        raise SettingsError(
            "not a model folder (no config.json)",
            where=str(folder),
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
                where=str(env_file),
                fix="Save it as UTF-8 (PowerShell's `>` writes UTF-16; use an editor or "
                "`Set-Content -Encoding utf8`).",
            ) from None
        values.update({k: v for k, v in parsed.items() if v is not None})
    elif must_exist:
        raise SettingsError(
            "no such settings file",
            where=str(env_file),
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
    settings = Settings(
        model=check_model_folder(Path(model_raw).expanduser()),
        token=token,
        device=(device or env.get("CATGPT_DEVICE", "") or "auto").strip().lower(),
        allowed_guilds=_ids(env, "CATGPT_ALLOWED_GUILDS"),
        allowed_channels=_ids(env, "CATGPT_ALLOWED_CHANNELS"),
        allow_dms=_bool(env, "CATGPT_ALLOW_DMS", True),
        history=_number(env, "CATGPT_HISTORY", 20),
        queue_size=_number(env, "CATGPT_QUEUE_SIZE", 32),
        max_batch=_number(env, "CATGPT_MAX_BATCH", 32),
        max_new_tokens=_number(env, "CATGPT_MAX_NEW_TOKENS", None),
        cpu_threads=_number(env, "CATGPT_CPU_THREADS", None),
        cooldown=_number(env, "CATGPT_COOLDOWN", 5.0, float),
        dev_guild=_optional_id(env, "CATGPT_DEV_GUILD"),
        owner_id=_optional_id(env, "CATGPT_OWNER_ID"),
        message_content=_bool(env, "CATGPT_MESSAGE_CONTENT", False),
        shutdown_timeout=_number(env, "CATGPT_SHUTDOWN_TIMEOUT", 10.0, float),
        log_level=(env.get("CATGPT_LOG_LEVEL", "") or "INFO").strip().upper(),
        copy_guard=_bool(env, "CATGPT_COPY_GUARD", True),
    )
    if settings.log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise SettingsError(
            f"unknown log level {settings.log_level!r}",
            where="CATGPT_LOG_LEVEL",
            fix="Use DEBUG, INFO, WARNING or ERROR.",
        )
    return settings
