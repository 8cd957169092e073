"""DiscordChatExporter CSV: `AuthorID,Author,Date,Content,Attachments,Reactions`.

Content is quoted and may span lines; the csv module handles that while streaming rows.
CSV carries no message or channel ids: the channel comes from the file name (DCE writes
`Guild - channel [id].csv`) and each message is numbered by its row.
"""

from __future__ import annotations

import csv
import logging
import re
from collections.abc import Iterator
from pathlib import Path

from training.data.messages import Message
from training.errors import ExportError
from training.readers.base import (
    ReadReport,
    account_id,
    parse_loose_timestamp,
    repair_text,
    split_discriminator,
    utf8_lines,
)

log = logging.getLogger(__name__)

FORMAT = "dce-csv"
HEADER = ["AuthorID", "Author", "Date", "Content"]
_CHANNEL_ID_IN_NAME = re.compile(r"\[(\d+)\]")


def looks_like(head: str) -> bool:
    first = head.lstrip("\ufeff").split("\n", 1)[0].strip()
    return [c.strip('"') for c in first.split(",")][:4] == HEADER


def channel_from_name(path: Path) -> tuple[str, str]:
    """(channel id, channel name) from DCE's `Guild - Category - name [id]` file names."""
    found = _CHANNEL_ID_IN_NAME.search(path.stem)
    name = _CHANNEL_ID_IN_NAME.sub("", path.stem).strip()
    name = name.rsplit(" - ", 1)[-1] or path.stem
    return (found.group(1) if found else path.stem), name


def guild_from_name(path: Path) -> str | None:
    """The server's name in DCE's `Guild - Category - name [id]` file names, if there is one."""
    parts = _CHANNEL_ID_IN_NAME.sub("", path.stem).split(" - ")
    return parts[0].strip() or None if len(parts) > 1 else None


def read(path: Path, report: ReadReport, *, salvage: bool = False) -> Iterator[Message]:
    channel_id, channel_name = channel_from_name(path)
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        rows = csv.reader(utf8_lines(handle, report), strict=True)
        try:
            header = next(rows, None)
        except csv.Error as error:
            raise _bad(path, 1, f"unreadable header ({error})") from error
        if not header or header[:4] != HEADER:
            raise _bad(path, 1, f"the header is {header!r}, expected {','.join(HEADER)},...")
        while True:
            try:
                row = next(rows)
            except StopIteration:
                return
            except csv.Error as error:
                _on_break(path, report, rows.line_num, error, salvage)
                return
            if not any(row):
                continue
            if len(row) < 4:
                raise _bad(path, rows.line_num, f"a row has {len(row)} fields, expected 4 or more")
            author_id, author, date, content = (repair_text(value) for value in row[:4])
            timestamp = parse_loose_timestamp(date)
            if timestamp is None:
                raise _bad(path, rows.line_num, f"unreadable date {date!r}")
            attachments = row[4] if len(row) > 4 else ""
            report.messages += 1
            yield Message(
                id=f"{channel_id}:{report.messages}",
                channel_id=channel_id,
                channel_name=channel_name,
                guild_name=None,
                author_id=account_id(FORMAT, author_id, author),
                author_name=split_discriminator(author)[0],
                author_aliases=split_discriminator(author),
                author_username=author,  # DCE writes the username (Author.FullName) here
                is_bot=False,  # CSV does not say; --exclude-author can drop a bot by name
                timestamp=timestamp,
                content=content,
                attachment_count=len([url for url in attachments.split(",") if url.strip()]),
            )


def _bad(path: Path, line: int, what: str) -> ExportError:
    return ExportError(
        what,
        where=f"{path}:{line}",
        fix="Re-export the channel with DiscordChatExporter (--format Csv) or as JSON.",
    )


def _on_break(path: Path, report: ReadReport, line: int, error: Exception, salvage: bool):
    if salvage:
        report.salvaged = report.messages
        report.notes.append(f"the file breaks at line {line}")
        log.warning("%s:%d: the file breaks (%s); keeping the %d messages before it (--salvage)",
                    path, line, error, report.messages)
        return
    raise ExportError(
        f"the file breaks inside a quoted field ({error}; {report.messages} messages read)",
        where=f"{path}:{line}",
        fix="Re-export it, or pass --salvage to keep the messages before the break.",
    ) from error
