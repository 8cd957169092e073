"""Text copied out of the Discord client (the original project's `raw_data.txt`).

    Mochi — 04/05/2024 3:39 PM
    nya hello~
    second line of the same message
    Alice — Today at 3:40 PM
    hi mochi
    [3:41 PM] a grouped follow-up from Alice

A header line (`name — when`) starts a message; the lines under it are its text. The
client prints `Today at` / `Yesterday at` for recent days: those are taken relative to the
file's modification date, the closest thing to "when it was copied" that the file keeps.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

from training.data.messages import Message
from training.readers.base import (
    ReadReport,
    name_account,
    parse_loose_timestamp,
    repair_text,
    utf8_lines,
)

FORMAT = "copied-text"
_HEADER = re.compile(r"^(?P<author>\S.{0,80}?)\s+[—–]\s+(?P<when>.+?)\s*$")
_GROUPED = re.compile(r"^\[(?P<time>\d{1,2}:\d{2}\s?[AP]M)\]\s?(?P<text>.*)$", re.IGNORECASE)
_RELATIVE = re.compile(r"^(?P<day>Today|Yesterday) at (?P<time>\d{1,2}:\d{2}\s?[AP]M)$", re.I)
_EDITED = re.compile(r"\s*\(edited\)$")


def _when(text: str, copied_on: datetime) -> datetime | None:
    relative = _RELATIVE.match(text)
    if relative:
        day = copied_on - timedelta(days=1 if relative.group("day").lower() == "yesterday" else 0)
        return _at_time(day, relative.group("time"))
    return parse_loose_timestamp(text)


def _at_time(day: datetime, clock: str) -> datetime | None:
    try:
        moment = datetime.strptime(clock.replace(" ", "").upper(), "%I:%M%p")
    except ValueError:
        return None
    return day.replace(hour=moment.hour, minute=moment.minute, second=0, microsecond=0)


def looks_like(head: str) -> bool:
    for line in head.lstrip("\ufeff").splitlines():
        if line.strip():
            header = _HEADER.match(line)
            now = datetime.now(timezone.utc)
            return bool(header) and _when(header.group("when"), now) is not None
    return False


def read(path: Path, report: ReadReport, *, salvage: bool = False) -> Iterator[Message]:
    copied_on = datetime.fromtimestamp(path.stat().st_mtime, tz=timezone.utc)
    channel = path.stem
    pending: dict | None = None
    with path.open(encoding="utf-8-sig", errors="replace") as handle:
        for number, line in enumerate(utf8_lines(handle, report), start=1):
            line = repair_text(line.rstrip("\r\n"))
            header = _HEADER.match(line)
            when = _when(header.group("when"), copied_on) if header else None
            grouped = _GROUPED.match(line) if pending and when is None else None
            if when is not None or grouped:
                if pending:
                    yield _finish(pending, report, channel)
                if grouped:
                    stamp = _at_time(pending["timestamp"], grouped.group("time"))
                    pending = {**pending, "line": number, "lines": [grouped.group("text")],
                               "timestamp": stamp or pending["timestamp"]}
                else:
                    pending = {"author": header.group("author").strip(), "timestamp": when,
                               "line": number, "lines": []}
                continue
            if pending is not None:
                pending["lines"].append(line)
    if pending:
        yield _finish(pending, report, channel)


def _finish(pending: dict, report: ReadReport, channel: str) -> Message:
    report.messages += 1
    text = _EDITED.sub("", "\n".join(pending["lines"]).strip())
    return Message(
        id=f"{channel}:{pending['line']}",
        channel_id=channel,
        channel_name=channel,
        guild_name=None,
        author_id=name_account(FORMAT, pending["author"]),  # the client shows names, not ids
        author_name=pending["author"],
        author_aliases=(pending["author"],),
        is_bot=False,
        timestamp=pending["timestamp"],
        content=text,
    )
