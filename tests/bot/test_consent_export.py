"""`catgpt-bot export-opt-outs FILE`: /catgpt forget in a bot, the export, then `catgpt-train
prepare --opt-outs FILE` leaves that account's messages out (both CLIs run in-process); and
what the export refuses, in one line."""

from __future__ import annotations

import asyncio
import json
from datetime import datetime, timedelta, timezone

import pytest

from bot.cli import main as bot_main
from catgpt.opt_outs import HEADER, read_opt_outs

from .conftest import config
from .test_consent import adapter, command, consent_bot, stop  # noqa: F401
from .test_quiz import PERSONA_ID

START = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)


def dce_export(path, lines: list[tuple[int, str, str]]) -> None:
    """A DiscordChatExporter JSON export of one channel: (author id, name, text) a message."""
    messages = [
        {
            "id": str(10_000 + number),
            "type": "Default",
            "timestamp": (START + timedelta(minutes=number)).isoformat(),
            "timestampEdited": None,
            "isPinned": False,
            "content": content,
            "author": {"id": str(author), "name": name, "nickname": None, "isBot": False},
            "attachments": [], "embeds": [], "stickers": [], "reactions": [], "mentions": [],
        }  # fmt: skip
        for number, (author, name, content) in enumerate(lines)
    ]
    export = {
        "guild": {"id": "1", "name": "Guild", "iconUrl": ""},
        "channel": {"id": "700", "type": "GuildTextChat", "name": "general", "topic": None},
        "messages": messages,
        "messageCount": len(messages),
    }
    path.write_text(json.dumps(export), encoding="utf-8")


@pytest.fixture
def env(tmp_path, monkeypatch):
    """Run where no .env is, with CATGPT_DB the test bot's database file."""
    for name in ("CATGPT_DB", "DISCORD_TOKEN", "CATGPT_MODEL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("CATGPT_DB", f"sqlite:///{tmp_path / 'bot.sqlite3'}")


def test_forget_then_export_then_prepare_leaves_them_out(
    tmp_path, adapter, env, capsys  # noqa: F811
):
    from training.cli import main as train_main

    async def forget_in_the_bot():
        client = await consent_bot(tmp_path)
        _, _, (alice, bob) = config()
        await command(client, "forget", alice)
        await stop(client)
        return alice, bob

    # The CLI runs its own event loop (asyncio.run), so the bot gets one of its own too.
    alice, bob = asyncio.run(forget_in_the_bot())

    opt_outs = tmp_path / "opt-outs.txt"
    assert bot_main(["export-opt-outs", str(opt_outs)]) == 0
    assert capsys.readouterr().out.strip() == f"wrote 1 opted-out account(s) to {opt_outs}"
    assert read_opt_outs(opt_outs) == {str(alice.id)}
    assert bot_main(["export-opt-outs", str(opt_outs)]) == 0  # ours: replaced
    capsys.readouterr()

    export = tmp_path / "export.json"
    lines = []
    for turn in range(6):
        lines += [
            (alice.id, "alice", f"alice secret number {turn} about cake"),
            (bob.id, "bob", f"bob asks question {turn} about tea?"),
            (PERSONA_ID, "mochi", f"mochi answers {turn}: tea is lovely, nya"),
        ]
    dce_export(export, lines)
    out = tmp_path / "ds"
    code = train_main(["prepare", str(export), "--persona", str(PERSONA_ID),
                       "--opt-outs", str(opt_outs), "--out", str(out)])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    written = (out / "train.jsonl").read_text() + (out / "val.jsonl").read_text()
    assert "bob asks question" in written and "mochi answers" in written
    assert "alice secret" not in written and "alice" not in written
    stats = json.loads((out / "stats.json").read_text())
    assert stats["opt_outs"]["messages"] == 6
    assert stats["last_persona_message"] == "2024-05-01"


def test_a_file_it_did_not_write_is_never_overwritten(tmp_path, env, capsys):
    mine = tmp_path / "notes.txt"
    mine.write_text("my own notes\n")
    assert bot_main(["export-opt-outs", str(mine)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "was not written by `catgpt-bot export-opt-outs`" in err
    assert "Give a new path" in err and mine.read_text() == "my own notes\n"


def test_a_database_that_is_not_there_is_one_line(tmp_path, env, capsys, monkeypatch):
    monkeypatch.setenv("CATGPT_DB", f"sqlite:///{tmp_path / 'typo.sqlite3'}")
    target = tmp_path / "opt-outs.txt"
    assert bot_main(["export-opt-outs", str(target)]) == 1
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("catgpt-bot: error: CATGPT_DB (")
    assert "no database at this path" in err
    assert not target.exists() and not (tmp_path / "typo.sqlite3").exists()


def test_an_empty_database_exports_an_empty_file(tmp_path, env, capsys):
    from bot.store.database import BotStore

    async def make():
        await (await BotStore.open(f"sqlite:///{tmp_path / 'bot.sqlite3'}")).close()

    asyncio.run(make())
    target = tmp_path / "opt-outs.txt"
    assert bot_main(["export-opt-outs", str(target)]) == 0
    assert target.read_text().startswith(HEADER) and read_opt_outs(target) == frozenset()
    assert "wrote 0 opted-out account(s)" in capsys.readouterr().out
