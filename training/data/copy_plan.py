"""Which exports hold the same channel, and in which order they are read: what
training/data/copies.py checks copies of a message between.

**Channels.** Each source is peeked for the channels it holds (`plan`): a Discord channel id
where the format names one (DCE JSON's header, the `[id]` DiscordChatExporter puts in CSV and
text file names, the data package's folders), and its name and server (the text export's
header, the file name). Copies are only looked for between sources that hold the same
channel: the same id, or, for a source that names no id, the one channel of that name (and
server, where both say) among the sources; when several channels share that name the source
is matched with none of them and a warning says why. A channel held by one source alone costs
nothing: most exports never reach the copy checks.

**Which copy is kept.** Files are read once each (`files_to_read`), richest first: DCE JSON
(ids, replies, mentions, bots, system messages), the data package (ids), CSV (author ids),
plain text (usernames), copied client text (display names). The first copy read is the one
kept.

**How authors are compared.** At the most exact level every source of the channel carries:
the account id (JSON, package, CSV), else the username (JSON, package, CSV, text), else the
shown name (JSON, copied text), else not at all.
"""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path

from training.readers import Source, copied_text, data_package, dce_csv, dce_json, dce_text
from training.readers.base import id_or_name

log = logging.getLogger(__name__)

# Richest first: the first copy read is the one kept.
_RANK = {dce_json.FORMAT: 0, data_package.FORMAT: 1, dce_csv.FORMAT: 2, dce_text.FORMAT: 3,
         copied_text.FORMAT: 4}
WITH_IDS = {dce_json.FORMAT, data_package.FORMAT}  # formats whose messages carry their id
# How an author is named, most exact first, and which of these each format carries.
LEVELS = ("id", "username", "shown")
_CARRIES = {dce_json.FORMAT: {"id", "username", "shown"},
            data_package.FORMAT: {"id", "username", "shown"},
            dce_csv.FORMAT: {"id", "username"}, dce_text.FORMAT: {"username"},
            copied_text.FORMAT: {"shown"}}


def files_to_read(sources: list[Source]) -> list[Source]:
    """Each file once (one named twice, directly and inside a folder given too, or through a
    link, is read once), richest format first."""
    seen: set = set()
    kept = []
    for source in sources:
        try:
            status = source.path.stat()
            identity = (status.st_dev, status.st_ino)
        except OSError:  # the reader says what is wrong with it
            identity = source.path
        if identity not in seen:
            seen.add(identity)
            kept.append(source)
    # Stable within a format: files of one format are read in the order they were found.
    return sorted(kept, key=lambda source: _RANK.get(source.format, len(_RANK)))


@dataclass(frozen=True)
class _Seen:
    """One channel as one source names it."""

    source: int
    reader_id: str  # the channel_id the reader gives its messages
    real_id: str | None  # a Discord channel id, when the source names one
    name: str  # folded
    guild: str | None  # folded; None where the source does not say


@dataclass
class SharedChannel:
    """A channel held by several sources: what copies of its messages are checked by."""

    number: int
    canonical: str  # the channel id its messages are built into conversations under
    level: str  # how authors are compared: one of LEVELS, or "" (not at all)
    sources: list[int] = field(default_factory=list)  # read order
    id_sources: int = 0
    # A source without ids reads after the ones with: the copies with ids must leave keys.
    plain_sources: bool = False


@dataclass
class Plan:
    """Per source index: reader channel id -> the shared channel it belongs to."""

    channels: dict[int, dict[str, SharedChannel]]
    formats: list[str]
    paths: list[Path]
    shared: int = 0  # channels held by more than one source


def plan(sources: list[Source]) -> Plan:
    """Which sources hold the same channel (read cheaply: headers and file names)."""
    seen = [s for index, source in enumerate(sources) for s in _channels_in(index, source)]
    groups: dict[str, list[_Seen]] = {}
    by_name: dict[str, list[str]] = {}  # folded name -> group keys of channels with ids
    for channel in seen:
        if channel.real_id:
            key = "id:" + channel.real_id
            if key not in groups:
                by_name.setdefault(channel.name, []).append(key)
            groups.setdefault(key, []).append(channel)
    named: dict[str, list[_Seen]] = {}  # folded name -> channels known by name alone
    for channel in seen:
        if channel.real_id:
            continue
        candidates = [key for key in by_name.get(channel.name, ())
                      if _same_guild(groups[key][0].guild, channel.guild)]
        if len(candidates) == 1:
            groups[candidates[0]].append(channel)
        elif candidates:
            _alone(groups, channel, sources, f"{len(candidates)} exported channels")
        else:
            named.setdefault(channel.name, []).append(channel)
    for name, channels in named.items():
        # One name, one channel, unless the sources that say so name several servers.
        guilds = {channel.guild for channel in channels if channel.guild}
        for channel in channels:
            if len(guilds) > 1 and channel.guild is None:
                _alone(groups, channel, sources, f"channels in {len(guilds)} servers")
            else:
                guild = channel.guild if len(guilds) > 1 else ""
                groups.setdefault(f"name:{name}:{guild}", []).append(channel)
    formats = [source.format for source in sources]
    result = Plan({index: {} for index in range(len(sources))}, formats,
                  [source.path for source in sources])
    for members in groups.values():
        holders = sorted({channel.source for channel in members})
        if len(holders) < 2:
            continue
        carried = set(LEVELS)
        for index in holders:
            carried &= _carried(sources[index])
        level = next((name for name in LEVELS if name in carried), "")
        real = next((channel.real_id for channel in members if channel.real_id), None)
        with_ids = sum(formats[index] in WITH_IDS for index in holders)
        shared = SharedChannel(result.shared, real or members[0].reader_id, level, holders,
                          with_ids, with_ids < len(holders))
        result.shared += 1
        for channel in members:
            result.channels[channel.source][channel.reader_id] = shared
    return result


def _alone(groups: dict, channel: _Seen, sources: list[Source], holders: str) -> None:
    log.warning("%s: channel %r is not checked for copies of its messages in other exports: "
                "%s have that name (keep DiscordChatExporter's file name, which holds the "
                "channel id)", sources[channel.source].path, channel.name, holders)
    groups[f"alone:{channel.source}:{channel.reader_id}"] = [channel]


def _same_guild(one: str | None, other: str | None) -> bool:
    return one is None or other is None or one == other


def fold_name(name: str | None) -> str:
    return " ".join(unicodedata.normalize("NFKC", name or "").casefold().lstrip("#").split())


def _carried(source: Source) -> set[str]:
    if source.format == data_package.FORMAT and _package_owner_unknown(source.path):
        return set()  # its author is a placeholder, not the account
    return _CARRIES.get(source.format, set())


def _package_owner_unknown(folder: Path) -> bool:
    messages = data_package.messages_folder(folder)
    return messages is None or not any(
        (messages.parent / account / "user.json").is_file() for account in ("account", "Account"))


def _channels_in(index: int, source: Source) -> list[_Seen]:
    path = source.path
    if source.format == dce_json.FORMAT:
        header = dce_json.read_header(path)
        channel = header.get("channel") or {}
        guild = header.get("guild") or {}
        channel = channel if isinstance(channel, dict) else {}
        guild = guild if isinstance(guild, dict) else {}
        # As dce_json.read names them, so the same channel has the same key.
        reader_id = id_or_name(channel.get("id")) or path.stem
        in_guild = (id_or_name(guild.get("id")) or "0") != "0"
        return [_Seen(index, reader_id, _real(reader_id), fold_name(
            id_or_name(channel.get("name")) or path.stem),
            fold_name(id_or_name(guild.get("name"))) if in_guild else None)]
    if source.format == data_package.FORMAT:
        return [_Seen(index, channel_id, _real(channel_id), fold_name(name),
                      fold_name(guild) if guild else None)
                for channel_id, name, guild in data_package.channels(path)]
    if source.format in (dce_csv.FORMAT, dce_text.FORMAT):
        reader_id, name = dce_csv.channel_from_name(path)
        real = reader_id if reader_id != path.stem else None
        guild = dce_csv.guild_from_name(path)
        if source.format == dce_text.FORMAT:
            guild, name = dce_text.header_names(path, guild, name)
        return [_Seen(index, reader_id, _real(real), fold_name(name),
                      fold_name(guild) if guild else None)]
    return [_Seen(index, path.stem, None, fold_name(path.stem), None)]  # copied text


def _real(channel_id: str | None) -> str | None:
    return channel_id if channel_id and channel_id.isdigit() else None
