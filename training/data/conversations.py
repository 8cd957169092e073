"""From cleaned messages to turns, conversations and persona examples.

    message stream (per channel, oldest first)
      -> turns:          a speaker's consecutive messages within --merge-window, joined
      -> conversations:  split where the channel was silent longer than --gap
      -> examples:       each persona turn with the turns before it (at most --context-turns)
                         as context; a turn that replies to an older message gets that
                         message's turn in front, so the target answers what it answered.

Only the last few turns of each channel and a bounded index of recent turns (for replies)
are kept, so memory does not grow with the export.
"""

from __future__ import annotations

import json
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

# json.dumps for one string, without the encoder set-up per call (ensure_ascii=False form).
json_string = json.encoder.encode_basestring

# How many recent messages per channel a reply can reach back to (at least). A reply to
# something older (rare in chat) is treated like a message with no reply.
_REPLY_INDEX_SIZE = 500


@dataclass
class TurnOptions:
    merge_window: timedelta = timedelta(minutes=5)
    gap: timedelta = timedelta(minutes=60)
    context_turns: int = 8

    def __post_init__(self):
        if self.context_turns < 1:
            raise ValueError("context_turns must be at least 1")
        if self.merge_window < timedelta(0) or self.gap <= timedelta(0):
            raise ValueError("merge_window must be >= 0 and gap > 0")


@dataclass(slots=True)  # one per turn of the export: slots make it cheaper to build
class SpeakerTurn:
    """One speaker's consecutive messages (within --merge-window), merged into one turn."""

    speaker_id: str
    name: str  # the label for the speaker's turn (ignored for the persona)
    is_persona: bool
    reply_to: str | None
    start: datetime
    end: datetime
    texts: list[str] = field(default_factory=list)
    # Applied once to the joined text when it is first read (after the turn closed):
    # prepare masks personal data here, on the whole turn, so a value split over two quick
    # messages is still one value; and a turn no example uses is never masked at all.
    finish: Callable[[str], str] | None = field(default=None, repr=False, compare=False)

    @property
    def text(self) -> str:
        if self._text is None:
            joined = "\n".join(self.texts)
            self._text = joined if self.finish is None else self.finish(joined)
        return self._text

    def as_chat_message(self) -> dict:
        if self.is_persona:
            return {"role": "assistant", "content": self.text}
        return {"role": "user", "name": self.name, "content": self.text}

    def encoded(self) -> str:
        """The chat message as JSON, made once: a turn sits in up to --context-turns examples."""
        if self._encoded is None:
            text = json_string(self.text)
            self._encoded = (f'{{"role":"assistant","content":{text}}}' if self.is_persona else
                             f'{{"role":"user","name":{json_string(self.name)},"content":{text}}}')
        return self._encoded

    _encoded: str | None = field(default=None, repr=False, compare=False)
    _text: str | None = field(default=None, repr=False, compare=False)


@dataclass(frozen=True)
class Example:
    conversation: str  # "<channel>:<first message id>"
    turns: tuple[SpeakerTurn, ...]  # context turns then the persona's turn

    @property
    def messages(self) -> list[dict]:
        """Chat "messages" form: users with a name, the persona as assistant (last)."""
        return [turn.as_chat_message() for turn in self.turns]


@dataclass
class BuildCounts:
    turns: int = 0
    persona_turns: int = 0
    conversations: int = 0
    persona_turns_without_context: int = 0


@dataclass
class _Channel:
    conversation: str = ""
    history: deque = field(default_factory=deque)  # closed turns of this conversation
    open_turn: SpeakerTurn | None = None
    # message id -> its SpeakerTurn, in two generations: when `recent` fills up it becomes
    # `older`, so a reply reaches back between one and two index sizes, at a dict lookup's cost.
    recent: dict = field(default_factory=dict)
    older: dict = field(default_factory=dict)

    def index(self, message_id: str, turn: SpeakerTurn) -> None:
        self.recent[message_id] = turn
        if len(self.recent) >= _REPLY_INDEX_SIZE:
            self.older, self.recent = self.recent, {}

    def turn_of(self, message_id: str) -> SpeakerTurn | None:
        return self.recent.get(message_id) or self.older.get(message_id)


class ExampleBuilder:
    """Merges each channel's messages into speaker turns, splits them into conversations at
    --gap, and cuts a persona example from each persona turn with the turns before it.

    Feed messages (per channel, oldest first) with `add`; an example comes back when a
    persona turn closes. Call `finish` at the end for the turns still open."""

    def __init__(self, options: TurnOptions | None = None,
                 finish_text: Callable[[str], str] | None = None):
        self.options = options or TurnOptions()
        self._finish_text = finish_text  # see SpeakerTurn.finish
        self.counts = BuildCounts()
        self._channels: dict[str, _Channel] = {}
        self._zero = timedelta(0)
        # Read once per message: plain attributes rather than self.options.<name>.
        self._merge_window, self._gap = self.options.merge_window, self.options.gap

    def add(self, channel_id: str, message_id: str, speaker_id: str, name: str,
            is_persona: bool, timestamp: datetime, text: str,
            reply_to: str | None = None) -> Example | None:
        """Take one message; returns the example its arrival completed, if any.

        (A plain return rather than a generator: this runs once per message, and at most
        one turn closes per message.)
        """
        state = self._channels.get(channel_id)
        if state is None:
            state = self._channels[channel_id] = _Channel()
        turn = state.open_turn
        example = None
        if turn is not None:
            silence = timestamp - turn.end
            if turn.speaker_id == speaker_id and self._zero <= silence <= self._merge_window:
                turn.texts.append(text)
                turn.end = timestamp
                state.index(message_id, turn)
                return None
            example = self._close(state)
        if turn is None or silence > self._gap or silence < self._zero:
            # Silence (or a jump back in time from a second, overlapping file) starts anew.
            state.conversation = f"{channel_id}:{message_id}"
            state.history.clear()
            self.counts.conversations += 1
        state.open_turn = SpeakerTurn(speaker_id, name, is_persona, reply_to,
                                      timestamp, timestamp, [text], self._finish_text)
        state.index(message_id, state.open_turn)
        return example

    def finish(self) -> list[Example]:
        examples = []
        for state in self._channels.values():
            if state.open_turn is not None:
                example = self._close(state)
                if example is not None:
                    examples.append(example)
        self._channels.clear()
        return examples

    def _close(self, state: _Channel) -> Example | None:
        turn, state.open_turn = state.open_turn, None
        self.counts.turns += 1
        example = None
        if turn.is_persona:
            self.counts.persona_turns += 1
            example = self._example(state, turn)
            if example is None:
                self.counts.persona_turns_without_context += 1
        state.history.append(turn)
        if len(state.history) > self.options.context_turns:
            state.history.popleft()
        return example

    def _example(self, state: _Channel, target: SpeakerTurn) -> Example | None:
        context = list(state.history)[-self.options.context_turns:]
        replied = state.turn_of(target.reply_to) if target.reply_to else None
        if replied is not None and replied is not target and all(t is not replied for t in context):
            keep = self.options.context_turns - 1  # room for the replied-to turn in front
            context = [replied, *context[max(0, len(context) - keep):]]
        if (not context or context[-1].is_persona) and all(t.is_persona for t in context):
            return None  # nobody to answer: a monologue teaches the model no replies
        return Example(conversation=state.conversation, turns=(*context, target))
