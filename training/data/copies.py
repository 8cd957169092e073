"""Each message counted once, however many exports hold a copy of it.

Exports overlap in real use: two date ranges of one channel, its JSON and its CSV or text
export, a DiscordChatExporter export beside Discord's data package. Read twice, a message
doubles its example, and a persona turn can be a train target and a val target at once, so
validation would measure recitation. So before anything else looks at a message, `CopyFilter`
asks whether an earlier copy of it was read, and drops it if so.

Which sources hold the same channel, which of them is read first (its copy is the one kept)
and at what level authors are compared: training/data/copy_plan.py.

**The key.** Where both copies carry a message id (JSON, data package) the id decides. A copy
without one (CSV, text, copied text) matches on channel + author + minute + text:
- author, at the most exact level every source of the channel carries (copy_plan.py): the
  account id, else the username without its legacy `#1234`, else the shown name, else
  nothing;
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

from training.data.copy_plan import WITH_IDS, Plan, SharedChannel, fold_name
from training.data.messages import Message
from training.readers import Source

log = logging.getLogger(__name__)

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
        return fold_name(message.author_name)
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
                                       if name in WITH_IDS}
        self._frames: dict[int, tuple[int, ...]] = {}
        self._claimed: list[tuple[int, int]] = []  # (key, minute) taken by this source
        self._new: list[tuple[int, int]] = []  # (key, minute) this source adds

    def start(self, index: int) -> dict[str, SharedChannel]:
        self._source = index
        source_format = self.plan.formats[index]
        self._has_ids = source_format in WITH_IDS
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

    def is_copy(self, message: Message, channel: SharedChannel) -> bool:
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

    def _origin(self, channel: SharedChannel) -> int:
        return min(channel.sources.index(self._source), _ORIGIN)

    def _key(self, message: Message, channel: SharedChannel) -> tuple[int, int]:
        minute = int(message.timestamp.timestamp()) // 60
        return hash((channel.number, _author(message, channel.level),
                     fold_text(message.content), minute % _QUARTER)), minute

    def _claim(self, key: int, minute: int, channel: SharedChannel) -> bool:
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

    def _fits(self, minute: int, seen: int, channel: SharedChannel) -> bool:
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
    return source.format not in WITH_IDS


def _clear_offset(votes: Counter[int]) -> tuple[int, ...]:
    """The offset most copies voted for, with an hour either side where copies say so (the
    clock changed for summer within a file), if together they have more than half the votes;
    else none is clear, and the clocks are taken as the same."""
    usual = votes.most_common(1)[0][0]
    summer = [usual + hour for hour in (-60, 60) if votes[usual + hour]]
    support = votes[usual] + sum(votes[offset] for offset in summer)
    return (usual, *summer) if support * 2 > votes.total() else _SAME
