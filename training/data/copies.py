"""Each message counted once, however many exports hold a copy of it.

Exports overlap in real use: two date ranges of one channel, its JSON and its CSV or text
export, a DiscordChatExporter export beside Discord's data package. Read twice, a message
doubles its example, and a persona turn can be a train target and a val target at once, so
validation would measure recitation. So before anything else looks at a message, `CopyFilter`
asks whether an earlier copy of it was read, and drops it if so.

**Channels.** Each source is peeked for the channels it holds (`plan`): a Discord channel id
where the format names one (DCE JSON's header, the `[id]` DiscordChatExporter puts in CSV and
text file names, the data package's folders), and its name and server (the text export's
header, the file name). Copies are only looked for between sources that hold the same
channel: the same id, or, for a source that names no id, the one channel of that name (and
server, where both say) among the sources; when several channels share that name the source
is matched with none of them and a warning says why. A channel held by one source alone costs
nothing: most exports never reach the checks below.

**Which copy is kept.** Sources are read richest first (`read_order`): DCE JSON (ids, replies,
mentions, bots, system messages), the data package (ids), CSV (author ids), plain text
(usernames), copied client text (display names). The first copy read is the one kept.

**The key.** Where both copies carry a message id (JSON, data package) the id decides. A copy
without one (CSV, text, copied text) matches on channel + author + minute + text:
- author, at the most exact level every source of the channel carries: the account id
  (JSON, package, CSV), else the username without its legacy `#1234` (JSON, package, CSV,
  text), else the shown name (JSON, copied text), else nothing;
- text, folded so every format writes it alike: Unicode compatibility forms, case, runs of
  whitespace, Markdown markers, and mention/channel markup (`<@123>` and `@Alice` both `@`);
- time in whole minutes, since plain text and copied text show no seconds. Those formats and
  CSV may also show the exporter's local time without its zone (prepare reads it as UTC), and
  each file its own. So such a file is first read once to find its clock's offset from each
  file read before it (`learn_zone`): each of its messages of 8 characters or more ("lol" is
  said again by chance as often as it is copied) votes for every offset, up to 14 hours in
  whole quarter hours (every zone's offset is one), at which that file holds the same key. The
  offset with most votes, with an hour either side where votes say so (daylight saving time),
  is taken if together they have more than half the votes; else the two clocks are taken as
  the same. Copies then match only at those offsets, so a "lol" said again hours later is
  never taken for a copy.
Copies are matched as a multiset: two identical "lol"s in one minute in the JSON are claimed
by two in the CSV, and a third in the CSV is a new message.

**Memory.** A 64-bit hash per message of a channel held by several sources (plus its minute
for copies without ids), never a message: 60-100 bytes per message of such channels, none for
the rest.
"""

from __future__ import annotations

import logging
import re
import unicodedata
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from training.data.messages import Message
from training.readers import Source, copied_text, data_package, dce_csv, dce_json, dce_text
from training.readers.base import id_or_name

log = logging.getLogger(__name__)

# Richest first: the first copy read is the one kept.
_RANK = {dce_json.FORMAT: 0, data_package.FORMAT: 1, dce_csv.FORMAT: 2, dce_text.FORMAT: 3,
         copied_text.FORMAT: 4}
_WITH_IDS = {dce_json.FORMAT, data_package.FORMAT}
# How an author is named, most exact first, and which of these each format carries.
_LEVELS = ("id", "username", "shown")
_CARRIES = {dce_json.FORMAT: {"id", "username", "shown"},
            data_package.FORMAT: {"id", "username", "shown"},
            dce_csv.FORMAT: {"id", "username"}, dce_text.FORMAT: {"username"},
            copied_text.FORMAT: {"shown"}}
_VOTING_LENGTH = 8  # characters a text needs to vote for a file's clock offset
_QUARTER = 15  # minutes: every zone's offset is a multiple
_ORIGIN_BITS = 16  # a stored minute carries the position of its file among the channel's
_ORIGIN = (1 << _ORIGIN_BITS) - 1
_SAME = (0,)  # a file whose copies gave no clear offset: the same clock
_WIDEST_MINUTES = 14 * 60  # UTC-12 .. UTC+14

_DISCRIMINATOR = re.compile(r"#(?:\d{4}|0)$")
_MARKUP = re.compile(r"<a?:(\w+):\d+>")  # custom emoji: DCE's text formats write :name:
_MENTION = re.compile(r"<@[!&]?\d+>|<#\d+>|(?<!\w)[@#][^\s@#]+")
_MARKDOWN = str.maketrans("", "", "*_~|`")


def read_order(sources: list[Source]) -> list[Source]:
    """The sources, richest format first (stable within a format)."""
    return sorted(sources, key=lambda source: _RANK.get(source.format, len(_RANK)))


@dataclass(frozen=True)
class _Seen:
    """One channel as one source names it."""

    source: int
    reader_id: str  # the channel_id the reader gives its messages
    real_id: str | None  # a Discord channel id, when the source names one
    name: str  # folded
    guild: str | None  # folded; None where the source does not say


@dataclass
class _Channel:
    """A channel held by several sources: what copies of its messages are checked by."""

    number: int
    canonical: str  # the channel id its messages are built into conversations under
    level: str  # how authors are compared: one of _LEVELS, or "" (not at all)
    sources: list[int] = field(default_factory=list)  # read order
    id_sources: int = 0
    # A source without ids reads after the ones with: the copies with ids must leave keys.
    plain_sources: bool = False


@dataclass
class Plan:
    """Per source index: reader channel id -> the shared channel it belongs to."""

    channels: dict[int, dict[str, _Channel]]
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
        carried = set(_LEVELS)
        for index in holders:
            carried &= _carried(sources[index])
        level = next((name for name in _LEVELS if name in carried), "")
        real = next((channel.real_id for channel in members if channel.real_id), None)
        with_ids = sum(formats[index] in _WITH_IDS for index in holders)
        shared = _Channel(result.shared, real or members[0].reader_id, level, holders,
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


def _fold_name(name: str | None) -> str:
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
        return [_Seen(index, reader_id, _real(reader_id), _fold_name(
            id_or_name(channel.get("name")) or path.stem),
            _fold_name(id_or_name(guild.get("name"))) if in_guild else None)]
    if source.format == data_package.FORMAT:
        return [_Seen(index, channel_id, _real(channel_id), _fold_name(name),
                      _fold_name(guild) if guild else None)
                for channel_id, name, guild in data_package.channels(path)]
    if source.format in (dce_csv.FORMAT, dce_text.FORMAT):
        reader_id, name = dce_csv.channel_from_name(path)
        real = reader_id if reader_id != path.stem else None
        guild = dce_csv.guild_from_name(path)
        if source.format == dce_text.FORMAT:
            guild, name = dce_text.header_names(path, guild, name)
        return [_Seen(index, reader_id, _real(real), _fold_name(name),
                      _fold_name(guild) if guild else None)]
    return [_Seen(index, path.stem, None, _fold_name(path.stem), None)]  # copied text


def _real(channel_id: str | None) -> str | None:
    return channel_id if channel_id and channel_id.isdigit() else None


def fold_text(text: str) -> str:
    """A message's text as every format writes it (see the module's docstring)."""
    if not text.isascii():
        text = unicodedata.normalize("NFKC", text)
    if "<" in text:
        text = _MARKUP.sub(r":\1:", text)
    if "@" in text or "#" in text or "<" in text:
        text = _MENTION.sub(lambda match: match.group(0)[0 if match.group(0)[0] != "<" else 1],
                            text)
    return " ".join(text.translate(_MARKDOWN).casefold().split())


def _author(message: Message, level: str) -> str:
    if level == "id":
        return message.author_id
    if level == "username":
        return _DISCRIMINATOR.sub("", (message.author_username or message.author_name)).casefold()
    if level == "shown":
        return _fold_name(message.author_name)
    return ""


class CopyFilter:
    """Drops every message an earlier source (or, by id, the same one) already gave.

        copies = CopyFilter(plan(sources))
        for index, source in enumerate(sources):
            shared = copies.start(index)         # reader channel id -> shared channel
            for message in read_source(source):
                channel = shared.get(message.channel_id)
                if channel is not None and copies.is_copy(message, channel): continue
            copies.finish()
    """

    def __init__(self, the_plan: Plan):
        self.plan = the_plan
        self.counts: Counter[str] = Counter()  # by_id, by_content
        self._ids: set[int] = set()
        # hash(channel, author, text, minute % 15) -> the minute(s) of copies read so far, by
        # their file's clock, each shifted left with that file's position in the channel below
        self._content: dict[int, int | list[int]] = {}
        self._source = -1
        self._has_ids = False
        # Each file's clock minus the reference (UTC, as the files with ids give it), by source
        # index, where known; and this source's offsets from each frame (see learn_zone).
        self._clock: dict[int, int] = {index: 0 for index, name in enumerate(the_plan.formats)
                                       if name in _WITH_IDS}
        self._frames: dict[int, tuple[int, ...]] = {}
        self._claimed: list[tuple[int, int]] = []  # (key, minute) taken by this source
        self._new: list[tuple[int, int]] = []  # (key, minute) this source adds

    def start(self, index: int) -> dict[str, _Channel]:
        self._source = index
        source_format = self.plan.formats[index]
        self._has_ids = source_format in _WITH_IDS
        self._frames = {}
        shared = self.plan.channels[index]
        if any(channel.sources[0] == index for channel in shared.values()):
            self._clock.setdefault(index, 0)  # the first file of a channel is its reference
        return shared

    def learn_zone(self, messages: Iterable[Message]) -> None:
        """Find the offset of this source's clock from each earlier source's, from the copies
        it holds (a first pass over a source without ids whose channels others hold too)."""
        shared = self.plan.channels[self._source]
        # frame -> offset -> votes; a frame is the reference clock (-1) for the files whose clock
        # is known, else the earlier file itself (its clock is learned from this one's).
        votes: dict[int, Counter[int]] = {}
        clock = self._clock
        for message in messages:
            channel = shared.get(message.channel_id)
            if channel is None or self._source == channel.sources[0]:
                continue
            if len(message.content) < _VOTING_LENGTH:
                continue  # "lol", "ok", "same": said again by chance as often as copied
            key, minute = self._key(message, channel)
            entry = self._content.get(key)
            if entry is None:
                continue
            # One vote per message and offset, however many copies there agree; an offset
            # from an earlier file's clock is counted from the reference clock (see __init__).
            offsets = set()
            for seen in entry if isinstance(entry, list) else (entry,):
                offset = minute - (seen >> _ORIGIN_BITS)
                if abs(offset) <= _WIDEST_MINUTES:
                    origin = channel.sources[seen & _ORIGIN]
                    known = clock.get(origin)
                    offsets.add((-1, offset + known) if known is not None else (origin, offset))
            for frame, offset in offsets:
                votes.setdefault(frame, Counter())[offset] += 1
        frames = {frame: _clear_offset(counted) for frame, counted in votes.items()}
        self._frames = frames
        mine = frames.get(-1)
        if mine is not None:
            clock[self._source] = mine[0]
            for frame, offsets in frames.items():  # and now the clocks of those it matched
                if frame != -1 and offsets is not _SAME:
                    clock[frame] = mine[0] - offsets[0]
        if mine and mine[0]:
            log.info("%s: its clock is read as %+g hours from UTC, as its copies of messages in "
                     "other exports say", self.plan.paths[self._source], mine[0] / 60)

    def finish(self) -> None:
        """The source is read: what it claimed is there for the next source to claim again,
        and what it added joins them."""
        for key, minute in self._claimed:
            self._add(key, minute)
        for key, minute in self._new:
            self._add(key, minute)
        self._claimed.clear()
        self._new.clear()

    def is_copy(self, message: Message, channel: _Channel) -> bool:
        if self._has_ids:
            if channel.id_sources > 1:
                known = hash((channel.number, message.id))
                if known in self._ids:
                    self.counts["by_id"] += 1
                    return True
                self._ids.add(known)
            if channel.plain_sources:  # read later: the copies they hold match on these keys
                # Straight in: a source with ids never claims by key (read richest first, a
                # copy with an id never follows one without).
                key, minute = self._key(message, channel)
                self._add(key, minute << _ORIGIN_BITS | self._origin(channel))
            return False
        key, minute = self._key(message, channel)
        if self._source != channel.sources[0] and self._claim(key, minute, channel):
            self.counts["by_content"] += 1
            return True
        if self._source != channel.sources[-1]:
            # By its own clock: a later file learns the offset from it too.
            self._new.append((key, minute << _ORIGIN_BITS | self._origin(channel)))
        return False

    def _origin(self, channel: _Channel) -> int:
        return min(channel.sources.index(self._source), _ORIGIN)

    def _key(self, message: Message, channel: _Channel) -> tuple[int, int]:
        minute = int(message.timestamp.timestamp()) // 60
        return hash((channel.number, _author(message, channel.level),
                     fold_text(message.content), minute % _QUARTER)), minute

    def _claim(self, key: int, minute: int, channel: _Channel) -> bool:
        entry = self._content.get(key)
        if entry is None:
            return False
        minutes = entry if isinstance(entry, list) else [entry]
        # Each copy read before is in its own file's clock: the offset learned from that file.
        best = next((seen for seen in minutes if self._fits(minute, seen, channel)), None)
        if best is None:
            return False
        if isinstance(entry, list):
            entry.remove(best)
            if len(entry) == 1:
                self._content[key] = entry[0]
        else:
            del self._content[key]
        self._claimed.append((key, best))
        return True

    def _fits(self, minute: int, seen: int, channel: _Channel) -> bool:
        """Whether a copy at `minute` (this file's clock) matches one read at `seen`."""
        origin = channel.sources[seen & _ORIGIN]
        offset = minute - (seen >> _ORIGIN_BITS)
        known = self._clock.get(origin)
        if known is not None:
            return offset + known in self._frames.get(-1, _SAME)
        return offset in self._frames.get(origin, _SAME)

    def _add(self, key: int, minute: int) -> None:
        entry = self._content.get(key)
        if entry is None:
            self._content[key] = minute
        elif isinstance(entry, list):
            entry.append(minute)
        else:
            self._content[key] = [entry, minute]


def needs_zone(source: Source) -> bool:
    """Whether copies in `source` are matched by key (it has no message ids) and so need its
    clock's offset found first."""
    return source.format not in _WITH_IDS


def _clear_offset(votes: Counter[int]) -> tuple[int, ...]:
    """The offset most copies voted for, with an hour either side where copies say so (the
    clock changed for summer within a file), if together they have more than half the votes;
    else none is clear, and the clocks are taken as the same."""
    usual = votes.most_common(1)[0][0]
    summer = [usual + hour for hour in (-60, 60) if votes[usual + hour]]
    support = votes[usual] + sum(votes[offset] for offset in summer)
    return (usual, *summer) if support * 2 > votes.total() else _SAME
