"""Messages -> turns -> the context of a persona turn: the one conversation shape (contract 6).

    one channel's messages, oldest first
      -> turns:          a speaker's consecutive messages within `merge_window`, joined by "\\n"
      -> conversations:  a silence longer than `gap` starts a new one
      -> context:        a persona turn reads the conversation's last `context_turns` turns, with
                         the turns its reply chain reaches kept in front (see `shaped_context`)

`catgpt-train prepare` feeds every message of an export through `ChannelTurns` and writes one
example per persona turn; the bot feeds the messages it remembers of a channel through the same
class and asks for the context of the reply it is about to write (`reply_context`). Both read
the same numbers (`TurnShape`, recorded in catgpt.json), so the bot's prompt for a persona turn
is, message for message, what training saw (tests/bot/test_parity.py proves it token for token).

Pure: no discord, no torch, no training imports. Only the last `context_turns` turns of the
conversation and a bounded index of recent turns (for replies) are kept, so the memory a stream
takes does not grow with its length.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

# json.dumps for one string, without the encoder set-up per call (ensure_ascii=False form).
json_string = json.encoder.encode_basestring

# prepare's defaults, and the shape of a folder that records none (older or foreign folders).
DEFAULT_MERGE_WINDOW = timedelta(minutes=5)
DEFAULT_GAP = timedelta(minutes=60)
DEFAULT_CONTEXT_TURNS = 8
# Discord nests reply chains without limit; past a few levels they stop helping the reply.
MAX_CHAIN = 10
# How many recent messages of a channel a reply can reach back to (at least). A reply to
# something older (rare in chat) is treated like a message with no reply.
REPLY_INDEX_SIZE = 500


@dataclass(frozen=True)
class TurnShape:
    """How messages become turns and how much of them a reply reads."""

    merge_window: timedelta = DEFAULT_MERGE_WINDOW
    gap: timedelta = DEFAULT_GAP
    context_turns: int = DEFAULT_CONTEXT_TURNS

    def __post_init__(self):
        if self.context_turns < 1:
            raise ValueError("context_turns must be at least 1")
        if self.merge_window < timedelta(0) or self.gap <= timedelta(0):
            raise ValueError("merge_window must be >= 0 and gap > 0")


@dataclass(slots=True)  # one per turn of an export: slots make it cheaper to build
class Turn:
    """One speaker's consecutive messages (within the merge window), merged into one turn."""

    speaker_id: str
    name: str  # the label for the speaker's turn (ignored for the persona)
    is_persona: bool
    # What the turn answers: the message its first reply points at (a reply in a quick
    # follow-up counts, so "look" + "@mochi thoughts?" as a reply still brings its root in).
    reply_to: str | None
    start: datetime
    end: datetime
    texts: list[str] = field(default_factory=list)
    # Applied once to the joined text when it is first read (after the turn closed):
    # prepare masks personal data here, on the whole turn, so a value split over two quick
    # messages is still one value; and a turn no example uses is never masked at all.
    finish: Callable[[str], str] | None = field(default=None, repr=False, compare=False)
    _encoded: str | None = field(default=None, repr=False, compare=False)
    _text: str | None = field(default=None, repr=False, compare=False)

    @property
    def text(self) -> str:
        if self._text is None:
            joined = "\n".join(self.texts)
            self._text = joined if self.finish is None else self.finish(joined)
        return self._text

    def as_chat_message(self) -> dict:
        """The dataset's shape (contract 3): the persona `assistant`, the others `user`+`name`."""
        if self.is_persona:
            return {"role": "assistant", "content": self.text}
        return {"role": "user", "name": self.name, "content": self.text}

    def encoded(self) -> str:
        """The chat message as JSON, made once: a turn sits in up to context_turns examples."""
        if self._encoded is None:
            text = json_string(self.text)
            self._encoded = (f'{{"role":"assistant","content":{text}}}' if self.is_persona else
                             f'{{"role":"user","name":{json_string(self.name)},"content":{text}}}')
        return self._encoded


@dataclass(frozen=True, slots=True)
class ClosedTurn:
    """A persona turn that just ended, and the context it answers."""

    turn: Turn
    conversation: str  # "<channel>:<first message id>"
    context: tuple[Turn, ...]


def shaped_context(history: Sequence[Turn], chain: Sequence[Turn], turns: int) -> list[Turn]:
    """The context of a reply: at most `turns` turns, the reply chain kept.

    history: the conversation's turns before the reply, oldest first. chain: the turns the
    reply's chain reaches, nearest first (the turn it answers, the turn that one answers...).

    The chain goes in first (all of it but one slot, so a context of n turns keeps n-1 of
    it; of one turn, the turn answered), then the newest turns fill the rest; chain turns
    older than the conversation's window stand in front, oldest first. A reply to the last
    message therefore reads the last `turns` turns, and a reply to an old message reads that
    message in front of the newest turns (it is never the first thing dropped).
    """
    pinned = list(chain[: max(1, turns - 1)])
    chosen = {id(turn) for turn in pinned}
    for turn in reversed(history):
        if len(chosen) >= turns:
            break
        chosen.add(id(turn))
    in_window = {id(turn) for turn in history}
    # Oldest first: by time, and on a tie (a reply sent within the same millisecond) the one
    # further up the chain first.
    front = sorted((t for t in reversed(pinned) if id(t) not in in_window), key=lambda t: t.start)
    return [*front, *(t for t in history if id(t) in chosen)]


class ChannelTurns:
    """One channel's messages (oldest first) as turns, conversations and reply contexts.

    `add` takes a message and returns the persona turn its arrival closed, if any, with its
    context; `close` ends the open turn; `reply_context` is the context of a persona reply
    about to be written (what the bot asks for).
    """

    def __init__(self, shape: TurnShape, channel_id: str = "",
                 finish: Callable[[str], str] | None = None):
        self.shape = shape
        self.channel_id = channel_id
        self.finish = finish  # see Turn.finish
        self.conversation = ""
        self.conversations = 0  # how many started
        self.turns = 0  # how many closed
        self.history: deque[Turn] = deque(maxlen=shape.context_turns)  # closed, this conversation
        self.open_turn: Turn | None = None
        # message id -> its Turn, in two generations: when `recent` fills up it becomes
        # `older`, so a reply reaches back between one and two index sizes, at a dict lookup's
        # cost.
        self._recent: dict[str, Turn] = {}
        self._older: dict[str, Turn] = {}
        # Read once per message: plain attributes rather than self.shape.<name>.
        self._merge_window, self._gap, self._zero = shape.merge_window, shape.gap, timedelta(0)

    def add(self, message_id: str, speaker_id: str, name: str, is_persona: bool,
            timestamp: datetime, text: str, reply_to: str | None = None) -> ClosedTurn | None:
        """Take one message; returns the persona turn its arrival closed, if any.

        (A plain return rather than a generator: this runs once per message of an export, and
        at most one turn closes per message.)
        """
        turn = self.open_turn
        closed = None
        if turn is not None:
            silence = timestamp - turn.end
            if turn.speaker_id == speaker_id and self._zero <= silence <= self._merge_window:
                turn.texts.append(text)
                turn.end = timestamp
                if turn.reply_to is None:
                    turn.reply_to = reply_to
                self._index(message_id, turn)
                return None
            closed = self.close()
        # Silence (or a jump back in time, from a second, overlapping file) starts anew.
        # (Inline, as is the index below: this is prepare's hottest loop.)
        if turn is None or not self._zero <= silence <= self._gap:
            self._start_conversation(message_id)
        turn = self.open_turn = Turn(speaker_id, name, is_persona, reply_to, timestamp,
                                     timestamp, [text], self.finish)
        recent = self._recent
        recent[message_id] = turn
        if len(recent) >= REPLY_INDEX_SIZE:
            self._older, self._recent = recent, {}
        return closed

    def close(self) -> ClosedTurn | None:
        """End the open turn (the stream's end, or a reply about to be written); a persona
        turn comes back with its context (others are only counted: prepare's hot loop)."""
        turn, self.open_turn = self.open_turn, None
        if turn is None:
            return None
        self.turns += 1
        closed = None
        if turn.is_persona:
            closed = ClosedTurn(turn, self.conversation, self._context(turn.reply_to, turn))
        self.history.append(turn)
        return closed

    def reply_context(self, reply_to: str | None, timestamp: datetime) -> list[Turn]:
        """The context of a persona turn starting at `timestamp` as a reply to `reply_to`:
        what training reads for that turn once it is in an export."""
        last = self.open_turn or (self.history[-1] if self.history else None)
        self.close()
        if last is not None and not self._zero <= timestamp - last.end <= self._gap:
            self._start_conversation("reply")
        return list(self._context(reply_to, None))

    def turn_of(self, message_id: str) -> Turn | None:
        return self._recent.get(message_id) or self._older.get(message_id)

    def chain(self, reply_to: str | None, target: Turn | None) -> list[Turn]:
        """The turns a reply to `reply_to` reaches, nearest first (at most MAX_CHAIN)."""
        chain: list[Turn] = []
        message_id = reply_to
        while message_id is not None and len(chain) < MAX_CHAIN:
            turn = self.turn_of(message_id)
            if turn is None or turn is target or any(turn is seen for seen in chain):
                break
            chain.append(turn)
            message_id = turn.reply_to
        return chain

    def _context(self, reply_to: str | None, target: Turn | None) -> tuple[Turn, ...]:
        chain = self.chain(reply_to, target) if reply_to is not None else None
        if not chain:  # most turns answer no one in particular: the last turns
            return tuple(self.history)  # (which holds at most context_turns)
        return tuple(shaped_context(self.history, chain, self.shape.context_turns))

    def _start_conversation(self, message_id: str) -> None:
        self.conversation = f"{self.channel_id}:{message_id}"
        self.history.clear()
        self.conversations += 1

    def _index(self, message_id: str, turn: Turn) -> None:
        self._recent[message_id] = turn
        if len(self._recent) >= REPLY_INDEX_SIZE:
            self._older, self._recent = self._recent, {}


def context_turns_for(trained: int | None, wanted: int | None) -> int | None:
    """The turns of context a reply reads: the trained bound, lowered (never raised) by a
    setting; either alone when the other is unknown; None when neither says."""
    if trained and wanted:
        return min(trained, wanted)
    return trained or wanted or None
