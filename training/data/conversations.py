"""prepare's side of the conversation shape: persona examples from an export's messages.

Turn building (the merge window, the gap, the reply chain kept in front, the context cut) is
catgpt/turns.py, shared with the bot so that what it reads for a reply is what training saw.
This module runs one `ChannelTurns` per channel, counts what it built, and keeps a persona turn
as an example when it answers somebody (a monologue teaches the model no replies).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from catgpt.turns import ChannelTurns, ClosedTurn, TurnShape, json_string
from catgpt.turns import Turn as SpeakerTurn

# prepare's options are the shape's numbers (TurnOptions is the name prepare has always used).
TurnOptions = TurnShape

__all__ = ["BuildCounts", "Example", "ExampleBuilder", "SpeakerTurn", "TurnOptions",
           "json_string"]


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


class ExampleBuilder:
    """Feeds each channel's messages through catgpt.turns and cuts a persona example from each
    persona turn with its context.

    Feed messages (per channel, oldest first) with `add`; an example comes back when a
    persona turn closes. Call `finish` at the end for the turns still open."""

    def __init__(self, options: TurnShape | None = None,
                 finish_text: Callable[[str], str] | None = None):
        self.options = options or TurnShape()
        self._finish_text = finish_text  # see catgpt.turns.Turn.finish
        self._counts = BuildCounts()
        self._channels: dict[str, ChannelTurns] = {}
        # Conversations and turns of the channels already finished (ChannelTurns counts them).
        self._finished = BuildCounts()
        self._last_channel: str | None = None
        self._last_add = None

    @property
    def counts(self) -> BuildCounts:
        channels = self._channels.values()
        self._counts.conversations = self._finished.conversations + sum(
            channel.conversations for channel in channels)
        self._counts.turns = self._finished.turns + sum(channel.turns for channel in channels)
        return self._counts

    def add(self, channel_id: str, message_id: str, speaker_id: str, name: str,
            is_persona: bool, timestamp: datetime, text: str,
            reply_to: str | None = None) -> Example | None:
        """Take one message; returns the example its arrival completed, if any."""
        if channel_id != self._last_channel:  # exports come a channel at a time
            channel = self._channels.get(channel_id)
            if channel is None:
                channel = self._channels[channel_id] = ChannelTurns(
                    self.options, channel_id, self._finish_text)
            self._last_channel, self._last_add = channel_id, channel.add
        closed = self._last_add(message_id, speaker_id, name, is_persona, timestamp, text,
                                reply_to)
        return None if closed is None else self._example(closed)

    def channel(self, channel_id: str) -> ChannelTurns:
        """The turns of a channel `add` has seen (for measures that read them as they grow)."""
        return self._channels[channel_id]

    def finish(self) -> list[Example]:
        examples = []
        for channel in self._channels.values():
            closed = channel.close()
            example = None if closed is None else self._example(closed)
            if example is not None:
                examples.append(example)
            self._finished.conversations += channel.conversations
            self._finished.turns += channel.turns
        self._channels.clear()
        self._last_channel = self._last_add = None
        return examples

    def _example(self, closed: ClosedTurn) -> Example | None:
        counts = self._counts
        counts.persona_turns += 1
        if not closed.context or all(turn.is_persona for turn in closed.context):
            counts.persona_turns_without_context += 1
            return None  # nobody to answer: a monologue teaches the model no replies
        return Example(closed.conversation, (*closed.context, closed.turn))
