"""prepare's measure of how often the persona speaks after other people's turns (issue 17):
what the bot samples to speak unasked in free-talk channels (catgpt/speaking.py says the
figure's shape).

Turns are the ones prepare builds (catgpt/turns.py's ChannelTurns, read after each message),
so "a turn" and "a conversation" mean here what they mean for the examples. A conversation
counts only when the persona spoke in it: the person was there, and chose when to talk; the
hours they were away say nothing about that. Memory: one open turn and a few counters per
channel.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from catgpt.speaking import BUCKET_KEYS, bucket_of
from catgpt.turns import ChannelTurns, Turn


@dataclass
class _Conversation:
    name: str
    others_turns: int = 0
    followed: Counter = field(default_factory=Counter)  # bucket -> others' turns followed
    persona_spoke: bool = False


class SpeakingRate:
    """Feed it each channel's ChannelTurns after every message (`seen`); `record()` at the end."""

    def __init__(self) -> None:
        self._last: dict[str, Turn | None] = {}  # per channel: the turn seen last
        self._open: dict[str, _Conversation] = {}  # per channel: its current conversation
        self.others_turns = 0
        self.conversations = 0
        self.followed: Counter = Counter()

    def seen(self, channel: ChannelTurns) -> None:
        turn, key = channel.open_turn, channel.channel_id
        previous = self._last.get(key)
        if turn is previous:  # the message joined the open turn
            return
        self._last[key] = turn
        conversation = self._open.get(key)
        if conversation is None or conversation.name != channel.conversation:
            if conversation is not None:
                self._end(conversation, previous)
            conversation = self._open[key] = _Conversation(channel.conversation)
            previous = None  # a turn after a long silence follows nobody
        if turn is None:
            return
        conversation.persona_spoke |= turn.is_persona
        if previous is not None and not previous.is_persona:
            conversation.others_turns += 1
            if turn.is_persona:
                conversation.followed[bucket_of(turn.start - previous.end)] += 1

    def _end(self, conversation: _Conversation, last: Turn | None) -> None:
        """Count a finished conversation; its last turn, if someone else's, went unanswered."""
        if last is not None and not last.is_persona:
            conversation.others_turns += 1
        if not conversation.persona_spoke:
            return
        self.conversations += 1
        self.others_turns += conversation.others_turns
        self.followed.update(conversation.followed)

    def finish(self) -> None:
        for key, conversation in self._open.items():
            self._end(conversation, self._last.get(key))
        self._open.clear()
        self._last.clear()

    def record(self) -> dict | None:
        """stats.json's "speaking"; None when no conversation had both the persona and others."""
        self.finish()
        if not self.others_turns:
            return None
        shares = {key: round(self.followed[key] / self.others_turns, 4) for key in BUCKET_KEYS}
        return {"after_others": shares, "others_turns": self.others_turns,
                "conversations": self.conversations}
