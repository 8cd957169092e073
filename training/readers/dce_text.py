"""DiscordChatExporter plain text.

    ==============================================================
    Guild: Cat Cafe
    Channel: Chat / general
    ==============================================================

    [11-Jun-20 07:55 PM] alice (pinned)
    hello
    {Attachments}
    https://cdn.discordapp.com/attachments/.../cat.png

    {Reactions}
    😀 (2)

Blocks in braces belong to the message above them, not to its text. Read line by line.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from training.data.messages import Message
from training.errors import ExportError
from training.readers.base import (
    ReadReport,
    name_account,
    parse_loose_timestamp,
    repair_text,
    split_discriminator,
    utf8_lines,
)
from training.readers.dce_csv import channel_from_name

FORMAT = "dce-text"
_RULE = re.compile(r"^={10,}\s*$")
_MESSAGE_START = re.compile(r"^\[(?P<date>[^\]]{6,40})\] (?P<author>.+?)(?P<pinned> \(pinned\))?$")
_BLOCKS = {"{Attachments}", "{Reactions}", "{Embed}", "{Stickers}"}


def looks_like(head: str) -> bool:
    """The exporter's header block, or (a file whose header was cut off) a first line that is
    a message start with a date the exporter writes: `[11-Jun-20 07:55 PM] alice`."""
    lines = head.lstrip("\ufeff").splitlines()
    if lines and _RULE.match(lines[0]):
        return any(line.startswith(("Guild:", "Channel:")) for line in lines[1:6])
    first = next((line for line in lines if line.strip()), "")
    start = _MESSAGE_START.match(first.rstrip("\r"))
    return bool(start) and parse_loose_timestamp(start.group("date")) is not None


def header_names(path: Path, guild: str | None, channel: str) -> tuple[str | None, str]:
    """(guild, channel) names from the header block, `guild` and `channel` where it has none."""
    with path.open(encoding="utf-8-sig", errors="replace") as handle:
        for number, line in enumerate(handle):
            if number > 8:
                break
            if line.startswith("Guild:"):
                guild = line.split(":", 1)[1].strip() or guild
            elif line.startswith("Channel:"):
                channel = line.split(":", 1)[1].strip().rsplit(" / ", 1)[-1] or channel
    return guild, channel


def read(path: Path, report: ReadReport, *, salvage: bool = False) -> Iterator[Message]:
    channel_id, channel_name = channel_from_name(path)
    guild_name = None
    pending: dict | None = None  # the message being collected
    in_header = False
    block = None
    with path.open(encoding="utf-8-sig", errors="replace") as handle:
        for number, line in enumerate(utf8_lines(handle, report), start=1):
            line = repair_text(line.rstrip("\r\n"))
            if _RULE.match(line):
                in_header = not in_header
                continue
            if in_header:
                if line.startswith("Guild:"):
                    guild_name = line.split(":", 1)[1].strip() or None
                elif line.startswith("Channel:"):
                    channel_name = line.split(":", 1)[1].strip().rsplit(" / ", 1)[-1]
                continue
            start = _MESSAGE_START.match(line)
            timestamp = parse_loose_timestamp(start.group("date")) if start else None
            if timestamp is not None:
                if pending:
                    yield _finish(pending, report, channel_id, channel_name, guild_name)
                pending = {"author": start.group("author"), "timestamp": timestamp,
                           "line": number, "lines": [], "attachments": 0, "stickers": 0}
                block = None
                continue
            if pending is None:
                if line.strip() and not line.startswith("Exported "):
                    raise ExportError(
                        f"text before the first message: {line[:60]!r}",
                        where=f"{path}:{number}",
                        fix="Give the file as DiscordChatExporter wrote it (--format PlainText).",
                    )
                continue
            if line in _BLOCKS:
                block = line
                continue
            if block:
                if not line.strip():
                    block = None
                elif block == "{Attachments}":
                    pending["attachments"] += 1
                elif block == "{Stickers}":
                    pending["stickers"] += 1
                continue
            pending["lines"].append(line)
    if pending:
        yield _finish(pending, report, channel_id, channel_name, guild_name)


def _finish(pending: dict, report: ReadReport, channel_id, channel_name, guild_name) -> Message:
    report.messages += 1
    names = split_discriminator(pending["author"])
    return Message(
        id=f"{channel_id}:{pending['line']}",
        channel_id=channel_id,
        channel_name=channel_name,
        guild_name=guild_name,
        author_id=name_account(FORMAT, names[0]),  # no ids in this format: a name stands in
        author_name=names[0],
        author_aliases=names,
        author_username=pending["author"],  # DCE writes the username (Author.FullName) here
        is_bot=False,
        timestamp=pending["timestamp"],
        content="\n".join(pending["lines"]).strip("\n"),
        attachment_count=pending["attachments"],
        sticker_names=("sticker",) * pending["stickers"],
    )
