"""Helpers for the data tests: build small DiscordChatExporter exports on the fly."""

from __future__ import annotations

import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
SAMPLE = Path(__file__).parents[2] / "data" / "sample"
START = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)

PEOPLE = {
    "mochi": {"id": "22", "name": "mochi", "nickname": "Mochi", "isBot": False},
    "alice": {"id": "11", "name": "alice", "nickname": "Alice", "isBot": False},
    "bob": {"id": "33", "name": "bob", "nickname": None, "isBot": False},
}


def dce_message(number: int, who: str, content: str, minute: float, **extra) -> dict:
    """One message as DiscordChatExporter writes it; `minute` counts from START."""
    return {
        "id": str(10_000 + number),
        "type": extra.pop("type", "Default"),
        "timestamp": (START + timedelta(minutes=minute)).isoformat(),
        "timestampEdited": None,
        "isPinned": False,
        "content": content,
        "author": dict(PEOPLE[who]),
        "attachments": extra.pop("attachments", []),
        "embeds": [],
        "stickers": [],
        "reactions": [],
        "mentions": [],
        **extra,
    }


def chat(*lines: tuple[str, str, float]) -> list[dict]:
    """Messages from (who, text, minute) triples."""
    return [dce_message(i, who, text, minute) for i, (who, text, minute) in enumerate(lines)]


def write_dce(path: Path, messages: list[dict], channel_id: str = "700", name: str = "general",
              guild: dict | None = None) -> Path:
    export = {
        "guild": guild or {"id": "1", "name": "Guild", "iconUrl": ""},
        "channel": {"id": channel_id, "type": "GuildTextChat", "name": name, "topic": None},
        "messages": messages,
        "messageCount": len(messages),
    }
    path.write_text(json.dumps(export, indent=2), encoding="utf-8")
    return path


@pytest.fixture
def dce():
    """The builders above (conftest is not importable under --import-mode=importlib)."""
    return SimpleNamespace(message=dce_message, chat=chat, write=write_dce, START=START)


@pytest.fixture
def fixtures() -> Path:
    return FIXTURES


@pytest.fixture
def sample() -> Path:
    return SAMPLE


@pytest.fixture
def run_cli(capsys):
    """Run `catgpt-train ...` in-process; returns (exit code, stdout, stderr)."""
    from training.cli import main

    def run(*argv: str) -> tuple[int, str, str]:
        code = main([str(a) for a in argv])
        captured = capsys.readouterr()
        return code, captured.out, captured.err

    return run
