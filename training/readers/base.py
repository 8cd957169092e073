"""What every reader shares: the per-file report, time parsing, and text repair."""

from __future__ import annotations

import logging
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from training.errors import ExportError

log = logging.getLogger(__name__)


@dataclass
class ReadReport:
    """What reading one file gave: prepare copies these into stats.json."""

    path: Path
    format: str
    messages: int = 0
    # Messages kept from a file that broke off (only with --salvage); 0 when it was whole.
    salvaged: int = 0
    notes: list[str] = field(default_factory=list)
    # Messages read but not usable, by reason (prepare adds them to its `dropped` counts).
    dropped: Counter = field(default_factory=Counter)
    _first_drop: dict = field(default_factory=dict, repr=False)

    def drop(self, reason: str, where: str, why: str) -> None:
        """Count a message that cannot be used as it is; the first of each reason is named
        in a warning when the file is done (`finish`)."""
        self.dropped[reason] += 1
        self._first_drop.setdefault(reason, f"{where}: {why}")

    def finish(self) -> None:
        for reason, count in self.dropped.items():
            note = (f"{count} message(s) dropped as {reason} (first: "
                    f"{self._first_drop[reason]})")
            self.notes.append(note)
            log.warning("%s: %s", self.path, note)


def utf8_lines(handle, report: ReadReport) -> Iterator[str]:
    """The lines of a text export opened with errors="replace", reporting bytes that were
    not UTF-8.

    Exports are UTF-8, but a copied-text file saved by an old editor may be cp1252: it still
    reads (each bad byte becomes U+FFFD) and the user is told where, so they can re-save it
    rather than train on damaged text without knowing.
    """
    damaged, first_line = 0, None
    for number, line in enumerate(handle, start=1):
        if "\ufffd" in line:
            damaged += line.count("\ufffd")
            first_line = first_line or number
        yield line
    if damaged:
        note = (f"{damaged} characters were not UTF-8 (first on line {first_line}) and read "
                "as \ufffd; save the file as UTF-8 to keep them")
        report.notes.append(note)
        log.warning("%s: %s", report.path, note)


def id_or_name(value) -> str | None:
    """An id or name as the exports write it (a string; an integer id is accepted), else None:
    the caller drops what is neither, since stringifying a list or number would train on it."""
    if isinstance(value, str):
        return value
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return None


def name_account(format_name: str, name: str) -> str:
    """The account key of an author known by name only (a format without ids, or a message
    whose id is missing): the name, within its format (docs/data.md, the identity rules).

    Never all digits, so it can neither merge with a real account id (a person *named*
    `123456` is not account 123456) nor be matched by an id given to --persona; and a name
    in one format is not the same account as that name in another."""
    return f"{format_name}:{name}"


def account_id(format_name: str, author_id: str | None, name: str) -> str:
    """A Discord id (all digits) as it is; anything else stands for a name (`name_account`)."""
    if author_id and author_id.isascii() and author_id.isdigit():
        return author_id
    return name_account(format_name, name or author_id or "")


def repair_text(text: str) -> str:
    """Valid Unicode from whatever a parser handed us.

    Surrogate pairs that arrive as two code points are joined into the character they
    encode; a lone surrogate (which cannot be written as UTF-8 at all) becomes U+FFFD.
    """
    if text.isascii():
        return text
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "replace")


def parse_iso_timestamp(value: str, *, where: str) -> datetime:
    """DiscordChatExporter's ISO 8601 timestamps (always with an offset) as UTC."""
    try:
        stamp = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except (TypeError, ValueError) as error:
        raise ExportError(
            f"unreadable timestamp {value!r}",
            where=where,
            fix="Re-export the channel with DiscordChatExporter; the file looks damaged.",
        ) from error
    if stamp.tzinfo is None:  # exports without an offset are taken as UTC
        return stamp.replace(tzinfo=timezone.utc)
    return stamp.astimezone(timezone.utc)


# The date forms DiscordChatExporter's text/CSV output and the Discord client have used.
# Times without an offset are read as UTC: the exports do not say which zone they meant.
_DATE_FORMATS = (
    "%d-%b-%y %I:%M %p",  # 11-Jun-20 07:55 PM (DCE's old default)
    "%m/%d/%Y %I:%M %p",  # 06/11/2020 7:55 PM (DCE text, the original raw_data.txt)
    "%m/%d/%Y %H:%M",
    "%m/%d/%y, %I:%M %p",  # 4/5/24, 3:39 PM (Discord client, recent)
    "%m/%d/%Y, %I:%M %p",
    "%m/%d/%y %I:%M %p",
    "%Y-%m-%d %H:%M:%S",
    "%Y-%m-%d %H:%M",
    "%d.%m.%Y %H:%M",
)


def parse_loose_timestamp(value: str) -> datetime | None:
    """A timestamp in any of the text forms above, as UTC; None if it is none of them."""
    value = " ".join(value.replace("\u202f", " ").split())
    if value[:4].isdigit() and "T" in value:
        try:
            return parse_iso_timestamp(value, where="")
        except ExportError:
            return None
    for form in _DATE_FORMATS:
        try:
            return datetime.strptime(value, form).replace(tzinfo=timezone.utc)
        except ValueError:
            continue
    return None


_DISCRIMINATOR = re.compile(r"#\d{4}$")


def split_discriminator(name: str) -> tuple[str, ...]:
    """`alice#1234` is also known as `alice` (legacy discriminators; `#0` is the new form)."""
    bare = _DISCRIMINATOR.sub("", name)
    if bare.endswith("#0"):
        bare = bare[:-2]
    return (name,) if bare == name or not bare else (bare, name)


class CountingReader:
    """A binary file wrapper that knows how many bytes the parser has pulled so far.

    ijson reads in chunks, so this is where a break was noticed, to within one chunk:
    good enough to tell the user roughly where a file is damaged.
    """

    def __init__(self, raw):
        self._raw = raw
        self.position = 0

    def read(self, size: int = -1) -> bytes:
        chunk = self._raw.read(size)
        self.position += len(chunk)
        return chunk
