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
        self._conversations_done = 0  # started in channels already finished

    @property
    def counts(self) -> BuildCounts:
        self._counts.conversations = self._conversations_done + sum(
            channel.conversations for channel in self._channels.values())
        return self._counts

    def add(self, channel_id: str, message_id: str, speaker_id: str, name: str,
            is_persona: bool, timestamp: datetime, text: str,
            reply_to: str | None = None) -> Example | None:
        """Take one message; returns the example its arrival completed, if any."""
        channel = self._channels.get(channel_id)
        if channel is None:
            channel = self._channels[channel_id] = ChannelTurns(
                self.options, channel_id, self._finish_text)
        closed = channel.add(message_id, speaker_id, name, is_persona, timestamp, text, reply_to)
        return None if closed is None else self._example(closed)

    def finish(self) -> list[Example]:
        examples = []
        for channel in self._channels.values():
            closed = channel.close()
            example = None if closed is None else self._example(closed)
            if example is not None:
                examples.append(example)
            self._conversations_done += channel.conversations
        self._channels.clear()
        return examples

    def _example(self, closed: ClosedTurn) -> Example | None:
        counts = self._counts
        counts.turns += 1
        if closed.context is None:
            return None
        counts.persona_turns += 1
        if not closed.context or all(turn.is_persona for turn in closed.context):
            counts.persona_turns_without_context += 1
            return None  # nobody to answer: a monologue teaches the model no replies
        return Example(closed.conversation, (*closed.context, closed.turn))
