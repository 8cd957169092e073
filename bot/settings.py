"""Settings: the environment and `.env`, checked into one frozen dataclass before connecting.

Every setting is listed in `.env.example` with a comment. Real environment variables win over
`.env`, so a deployment can override the file. `load_settings` reads a mapping instead of
`os.environ` directly, so tests pass a dict and nothing global is mutated. The Discord token is
never logged or echoed: it is kept out of `repr` and out of every error message, and so is any
value that could be it (pasted into the wrong setting): errors quote a value only when it is
short and does not look like a token (`shown`).

Split by job: bot/setting_values.py reads one value (numbers, booleans, ids) and holds the
quoting rule; bot/serving_settings.py reads the backend and the shards; bot/store_settings.py
the database and the quiz; bot/member_settings.py turn-taking (debounce, free talk, webhook
voice); this module says which settings there are and checks them together.

Why not pydantic-settings: its `hide_input_in_errors` hides every value, where we quote short
non-secret ones back to help the fix; the cross-field checks and the one-line error would stay
ours, so it would be a dependency without less code (docs/design.md).
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from dotenv import dotenv_values

from bot.errors import SettingsError
from bot.member_settings import check_debounce, member_settings
from bot.serving_settings import backend_settings, shard_settings
from bot.setting_values import FALSE, TRUE, boolean, ids, number, optional_id, shown, shown_path
from bot.store_settings import default_database_url, store_settings

DEVICES = ("auto", "cpu", "cuda", "mps")

# Who may talk to the bot in DMs (CATGPT_ALLOW_DMS): anyone; members of an allowed server;
# nobody. Unset: `members` when CATGPT_ALLOWED_GUILDS is set (DMs follow the guild policy),
# else `anyone` (the bot is open to every server it is in anyway).
DMS_ANYONE, DMS_MEMBERS, DMS_OFF = "anyone", "members", "off"

# Longest shutdown wait: past this, thread joins overflow (and nobody waits an hour to stop).
_MAX_SHUTDOWN = 3600.0


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
    # Where replies are generated (bot/engines/): `local` loads the weights here, `openai` asks
    # an OpenAI-compatible completions server; checked by bot/serving_settings.py.
    backend: str = "local"
    api_base: str | None = None
    api_model: str | None = None
    api_key: str | None = field(default=None, repr=False)  # a password, like the token
    api_timeout: float = 60.0
    # Which gateway shards this process runs (None / empty: Discord's recommended count, all).
    shard_count: int | None = None
    shard_ids: tuple[int, ...] = ()
    copy_guard: bool = True
    # The bot's database (bot/store/) and the quiz's pace; read by bot/store_settings.py.
    # Out of repr: a PostgreSQL URL may hold a password.
    database_url: str = field(default_factory=default_database_url, repr=False)
    quiz_seconds: int = 120  # a round's time limit before the reveal
    quiz_votes: int = 5  # reveal early after this many votes
    # Turn-taking (bot/member_settings.py). Off when built directly (tests, embedding);
    # load_settings reads CATGPT_DEBOUNCE_SECONDS with its 2-second default.
    debounce: float = 0.0
    free_channels: frozenset[int] = frozenset()  # where the persona may speak unasked
    webhook: bool = False  # replies under the persona's name, labelled as a bot

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
        check_debounce(self.debounce)

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


def _dms(env: Mapping[str, str]) -> str:
    """CATGPT_ALLOW_DMS: true, false or members; empty for the default (see DMS_ANYONE)."""
    raw = env.get("CATGPT_ALLOW_DMS", "").strip()
    if not raw:
        return ""
    if raw.lower() == DMS_MEMBERS:
        return DMS_MEMBERS
    if raw.lower() in TRUE:
        return DMS_ANYONE
    if raw.lower() in FALSE:
        return DMS_OFF
    raise SettingsError(
        f"{shown(raw)} is not true, false or members",
        where="CATGPT_ALLOW_DMS",
        fix="members: only people in a server of CATGPT_ALLOWED_GUILDS may DM the bot.",
    )


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
        allowed_guilds=ids(env, "CATGPT_ALLOWED_GUILDS"),
        allowed_channels=ids(env, "CATGPT_ALLOWED_CHANNELS"),
        dms=_dms(env),
        history=number(env, "CATGPT_HISTORY", 20),
        queue_size=number(env, "CATGPT_QUEUE_SIZE", 32),
        max_batch=number(env, "CATGPT_MAX_BATCH", 32),
        max_new_tokens=number(env, "CATGPT_MAX_NEW_TOKENS", None),
        cpu_threads=number(env, "CATGPT_CPU_THREADS", None),
        cooldown=number(env, "CATGPT_COOLDOWN", 5.0, float),
        dev_guild=optional_id(env, "CATGPT_DEV_GUILD"),
        owner_id=optional_id(env, "CATGPT_OWNER_ID"),
        message_content=boolean(env, "CATGPT_MESSAGE_CONTENT", False),
        bursts=boolean(env, "CATGPT_BURSTS", True),
        shutdown_timeout=number(env, "CATGPT_SHUTDOWN_TIMEOUT", 10.0, float),
        log_level=(env.get("CATGPT_LOG_LEVEL", "") or "INFO").strip().upper(),
        **backend_settings(env),
        **shard_settings(env),
        copy_guard=boolean(env, "CATGPT_COPY_GUARD", True),
        **store_settings(env),
        **member_settings(env),
    )
    if settings.log_level not in ("DEBUG", "INFO", "WARNING", "ERROR"):
        raise SettingsError(
            f"unknown log level {shown(settings.log_level)}",
            where="CATGPT_LOG_LEVEL",
            fix="Use DEBUG, INFO, WARNING or ERROR.",
        )
    return settings
