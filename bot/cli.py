"""`catgpt-bot` (also `python -m bot`): serve a model folder on Discord, or chat in the console.

catgpt-bot                               # settings from the environment and .env
catgpt-bot --model models/demo           # a different model folder
catgpt-bot --console --model models/demo # local chat, no token needed
catgpt-bot --demo --model models/demo    # Discord when a token is set, else the console
catgpt-bot --quiz data/prepared/alice    # "real or bot?" over the dataset's val split
catgpt-bot export-opt-outs opt-outs.txt  # /catgpt forget's opt-outs, for prepare --opt-outs
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

from bot.errors import BotError
from bot.settings import load_settings, read_environment
from catgpt.errors import run_cli

log = logging.getLogger(__name__)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="catgpt-bot",
        description="Serve a CatGPT model folder as a Discord bot, or chat with it locally.",
        epilog="catgpt-bot export-opt-outs FILE: write the accounts that used /catgpt forget "
        "(from CATGPT_DB) to FILE, for `catgpt-train prepare --opt-outs FILE`.",
    )
    parser.add_argument("--model", metavar="DIR", help="model folder (overrides CATGPT_MODEL)")
    parser.add_argument("--device", help="auto, cpu, cuda, cuda:N or mps (overrides CATGPT_DEVICE)")
    parser.add_argument(
        "--env-file", metavar="PATH", help="settings file to read (default: .env, if present)"
    )
    parser.add_argument(
        "--console", action="store_true", help="chat over stdin/stdout instead of Discord"
    )
    parser.add_argument(
        "--demo",
        action="store_true",
        help="what `make demo` runs: Discord when DISCORD_TOKEN is set, otherwise the console "
        "chat, saying a few built-in lines when stdin is not a terminal",
    )
    parser.add_argument(
        "--quiz",
        metavar="DATASET_DIR",
        help="play 'real or bot?' in the terminal over the val split (val.jsonl) of the "
        "dataset folder `catgpt-train prepare` wrote; no token needed",
    )
    parser.add_argument(
        "--rounds", type=_rounds, default=10, help="rounds of --quiz (default: 10)"
    )
    parser.add_argument("--name", default="you", help="your name in console mode (default: you)")
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    return parser


EXPORT_OPT_OUTS = "export-opt-outs"


def build_export_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=f"catgpt-bot {EXPORT_OPT_OUTS}",
        description="Write the accounts that used /catgpt forget (from CATGPT_DB, the bot's "
        "database) to FILE, one id a line, for `catgpt-train prepare --opt-outs FILE`. No "
        "token needed. An existing FILE is replaced only if this command wrote it.",
    )
    parser.add_argument("file", metavar="FILE", help="the opt-out file to write")
    parser.add_argument(
        "--env-file", metavar="PATH", help="settings file to read (default: .env, if present)"
    )
    return parser


def _export_opt_outs(args) -> int:
    from bot.export_opt_outs import export_opt_outs
    from bot.store_settings import store_settings

    env = read_environment(args.env_file or ".env", must_exist=args.env_file is not None)
    count = export_opt_outs(args.file, store_settings(env)["database_url"])
    print(f"wrote {count} opted-out account(s) to {args.file}")
    return 0


def _rounds(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of 1 or more")
    return value


def _quiz(args, settings) -> int:
    from bot.engines import load_engine
    from bot.quiz.console import read_val, run_quiz
    from bot.quiz.fingerprint import model_fingerprint
    from bot.quiz.rules import copy_check
    from bot.store.database import BotStore

    engine = load_engine(settings)
    try:
        # Again with the engine's copy guard: a reply training taught word for word is no round.
        examples = read_val(args.quiz, copy_check(engine))
        served = getattr(getattr(engine, "client", None), "model", None)
        return run_quiz(
            engine, examples, rounds=args.rounds, stdin=sys.stdin, stdout=sys.stdout,
            # The owner's own score, kept beside the server's (guild_id None) in CATGPT_DB.
            open_store=lambda: BotStore.open(settings.database_url),
            model=model_fingerprint(settings.model, served),
        )  # fmt: skip
    finally:
        engine.close(settings.shutdown_timeout)


def _console(args, settings) -> int:
    from bot.console import run_console
    from bot.engines import load_engine

    engine = load_engine(settings)
    try:
        return run_console(
            engine, name=args.name, history=settings.history, demo=args.demo,
            bursts=settings.bursts,
        )  # fmt: skip
    finally:
        engine.close(settings.shutdown_timeout)


def _discord(settings) -> int:
    import aiohttp
    import discord

    from bot.client import run_bot

    try:
        asyncio.run(run_bot(settings))
    except discord.LoginFailure:
        raise BotError(
            "Discord rejected the token",
            where="DISCORD_TOKEN",
            fix="Reset it on the Bot page of the Developer Portal and paste the new one.",
        ) from None
    except discord.PrivilegedIntentsRequired:
        raise BotError(
            "CATGPT_MESSAGE_CONTENT=true but the Message Content intent is off",
            fix="Turn on 'Message Content Intent' on the Bot page of the Developer Portal, "
            "or set CATGPT_MESSAGE_CONTENT=false.",
        ) from None
    except aiohttp.ClientConnectionError as error:
        raise BotError(
            f"cannot reach Discord ({error})",
            fix="Check the network connection (or use --console to chat offline).",
        ) from None
    return 0


def setup_logging(level: str) -> None:
    """discord.py's logging set-up: one handler on stderr, coloured on a terminal."""
    import discord.utils

    # Colour only on a terminal: discord.py also colours inside Docker, where the logs usually
    # go to a file or `docker logs` and the escape codes would be noise.
    plain = None if sys.stderr.isatty() else logging.Formatter(
        "%(asctime)s %(levelname)-7s %(name)s: %(message)s", "%Y-%m-%d %H:%M:%S"
    )
    discord.utils.setup_logging(level=level, formatter=plain)
    # The remote backend's HTTP client logs every request at INFO; keep that for -v.
    # (openai 1.x logs through httpx, recent releases through its fork httpx2.)
    for name in ("httpx", "httpx2"):
        logging.getLogger(name).setLevel(level if level == "DEBUG" else "WARNING")
    # A text bot needs no voice: discord.py's warnings about its missing voice libraries
    # would greet every start.
    logging.getLogger("discord.client").addFilter(
        lambda record: "voice will NOT be supported" not in record.getMessage()
    )


def _run(args) -> int:
    if args.quiz is not None:
        from bot.quiz.console import read_val

        # The dataset first: a bad folder is said before settings are read or the model loads.
        read_val(args.quiz)
    env = read_environment(args.env_file or ".env", must_exist=args.env_file is not None)
    # --demo serves Discord for a user who has set a token up, and the console for one who
    # has not, so the same `make demo` ends in the right place for both.
    args.console = args.console or (args.demo and not env.get("DISCORD_TOKEN", "").strip())
    local = args.console or args.quiz is not None  # no Discord, so no token
    settings = load_settings(
        env, model=args.model, device=args.device, require_token=not local
    )
    # The console's output is the chat itself: keep library chatter to warnings there.
    setup_logging("DEBUG" if args.verbose else "WARNING" if local else settings.log_level)
    if args.quiz is not None:
        return _quiz(args, settings)
    if args.console:
        return _console(args, settings)
    return _discord(settings)


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == [EXPORT_OPT_OUTS]:  # the one subcommand; everything else is flags
        export_args = build_export_parser().parse_args(argv[1:])
        return run_cli("catgpt-bot", lambda: _export_opt_outs(export_args))
    args = build_parser().parse_args(argv)
    # A BotError (a setting, the model folder, the token) is one line on stderr, exit status 1.
    return run_cli("catgpt-bot", lambda: _run(args))
