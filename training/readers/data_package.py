"""Discord's own data package ("Request all of my data"), the `messages/` folder.

    package/account/user.json              who requested it (id, username, global_name)
    package/messages/index.json            channel id -> channel name
    package/messages/c<id>/channel.json    id, type, name, guild {id, name}
    package/messages/c<id>/messages.json   [{"ID", "Timestamp", "Contents", "Attachments"}]
                                           (older packages: messages.csv, same columns)

The package holds only the requester's own messages: nobody else's words, so nothing the
persona replied to. Prepare reads it (its messages count, and duplicates of messages also
present in a DiscordChatExporter export are dropped) and says so plainly.
"""

from __future__ import annotations

import csv
import json
import logging
from collections.abc import Iterator
from pathlib import Path

from training.data.messages import Message
from training.errors import ExportError
from training.readers.base import (
    ReadReport,
    account_id,
    id_or_name,
    parse_loose_timestamp,
    repair_text,
)

log = logging.getLogger(__name__)

FORMAT = "discord-package"
OWNER_FALLBACK = "package-owner"
EXPLANATION = (
    "a Discord data package holds only your own messages, with nothing from the people you "
    "replied to, so it gives no examples on its own"
)
ADVICE = (
    "Add a DiscordChatExporter export of the same channels (JSON is best); your messages in "
    "both are counted once."
)


def messages_folder(folder: Path) -> Path | None:
    """The package's messages folder if `folder` is a package or its messages folder."""
    for candidate in (folder / "messages", folder / "Messages", folder):
        if (candidate / "index.json").is_file() or any(candidate.glob("c*/channel.json")):
            return candidate
    return None


def _owner(messages_dir: Path) -> tuple[str, tuple[str, ...], str]:
    """(id, names, username) of the requester, from account/user.json when the package has it."""
    for user_file in (messages_dir.parent / "account" / "user.json",
                      messages_dir.parent / "Account" / "user.json"):
        try:
            user = json.loads(user_file.read_text(encoding="utf-8"))
        except (OSError, ValueError, RecursionError):
            continue
        if not isinstance(user, dict):
            continue
        names = tuple(dict.fromkeys(
            user[key] for key in ("global_name", "username") if isinstance(user.get(key), str)
            and user[key]
        ))
        username = user.get("username")
        return (id_or_name(user.get("id")) or OWNER_FALLBACK, names or (OWNER_FALLBACK,),
                username if isinstance(username, str) else "")
    return OWNER_FALLBACK, (OWNER_FALLBACK,), ""


def read(folder: Path, report: ReadReport, *, salvage: bool = False) -> Iterator[Message]:
    messages_dir = messages_folder(folder)
    if messages_dir is None:
        raise ExportError("no messages/ folder with channel folders inside",
                          where=str(folder), fix=ADVICE)
    owner_id, owner_names, owner_username = _owner(messages_dir)
    if owner_id == OWNER_FALLBACK:
        report.notes.append("no account/user.json: the author is called 'package-owner'")
    # An id that is not a Discord id (or none) makes the owner an account known by name only.
    owner_id = account_id(FORMAT, "" if owner_id == OWNER_FALLBACK else owner_id, owner_names[0])
    # debug, not info: when the package is all there is, prepare's error says this already.
    log.debug("%s: %s. %s", folder, EXPLANATION, ADVICE)
    report.notes.append(EXPLANATION)
    for channel_dir in sorted(p for p in messages_dir.iterdir() if p.is_dir()):
        channel = _channel_info(channel_dir)
        # The package lists a channel's messages newest first and per channel they are
        # only one person's, so sorting one channel in memory is fine.
        rows = sorted(_rows(channel_dir), key=lambda row: row[1])
        for message_id, timestamp, content, attachments in rows:
            report.messages += 1
            if content is None:
                report.drop("malformed", f"{channel_dir.name} message {message_id}",
                            "its Contents is not text")
                continue
            yield Message(
                id=message_id,
                channel_id=channel["id"],
                channel_name=channel["name"],
                guild_name=channel["guild"],
                author_id=owner_id,
                author_name=owner_names[0],
                author_aliases=owner_names,
                author_username=owner_username,
                is_bot=False,
                timestamp=timestamp,
                content=repair_text(content),
                attachment_count=len(attachments.split()) if attachments else 0,
            )


def channels(folder: Path) -> list[tuple[str, str, str | None]]:
    """(id, name, guild name) of each channel in the package, as `read` names them."""
    messages_dir = messages_folder(folder)
    if messages_dir is None:
        return []
    infos = [_channel_info(d) for d in sorted(messages_dir.iterdir()) if d.is_dir()]
    return [(info["id"], info["name"], info["guild"]) for info in infos]


def _channel_info(channel_dir: Path) -> dict:
    info: dict = {}
    try:
        info = json.loads((channel_dir / "channel.json").read_text(encoding="utf-8"))
    except FileNotFoundError:
        pass
    except (ValueError, RecursionError) as error:  # json's error for absurd nesting
        raise ExportError(f"channel.json is not valid JSON ({error})", where=str(channel_dir),
                          fix="Download the data package again.") from error
    if not isinstance(info, dict):
        info = {}
    guild = info.get("guild") or {}
    channel_id = id_or_name(info.get("id")) or channel_dir.name.lstrip("c")
    guild_name = guild.get("name") if isinstance(guild, dict) else None
    return {"id": channel_id, "name": id_or_name(info.get("name")) or channel_id,
            "guild": guild_name if isinstance(guild_name, str) else None}


def _rows(channel_dir: Path) -> Iterator[tuple]:
    json_file, csv_file = channel_dir / "messages.json", channel_dir / "messages.csv"
    if json_file.is_file():
        try:
            rows = json.loads(json_file.read_text(encoding="utf-8", errors="replace"))
        except (ValueError, RecursionError) as error:
            raise ExportError(f"not valid JSON ({error})", where=str(json_file),
                              fix="Download the data package again.") from error
        if not isinstance(rows, list):
            raise ExportError("expected a list of messages", where=str(json_file),
                              fix="Download the data package again.")
        for number, row in enumerate(rows, start=1):
            yield _row(row, f"{json_file}: message {number}")
    elif csv_file.is_file():
        with csv_file.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
            reader = csv.DictReader(handle)
            for row in reader:
                yield _row(row, f"{csv_file}:{reader.line_num}")


def _row(row, where: str) -> tuple:
    if not isinstance(row, dict) or "ID" not in row or "Timestamp" not in row:
        raise ExportError("a message lacks ID or Timestamp", where=where,
                          fix="Download the data package again.")
    timestamp = parse_loose_timestamp(str(row["Timestamp"]).replace(" ", "T", 1))
    if timestamp is None:
        timestamp = parse_loose_timestamp(str(row["Timestamp"]))
    if timestamp is None:
        raise ExportError(f"unreadable timestamp {row['Timestamp']!r}", where=where,
                          fix="Download the data package again.")
    if id_or_name(row["ID"]) is None:
        raise ExportError("a message ID is not text", where=where,
                          fix="Download the data package again.")
    contents = row.get("Contents")
    # Text, or None for the caller to drop: stringifying a number or list would train on it.
    contents = "" if contents is None else contents if isinstance(contents, str) else None
    attachments = row.get("Attachments")
    return (id_or_name(row["ID"]), timestamp, contents,
            attachments if isinstance(attachments, str) else "")
