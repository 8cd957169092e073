"""Wait for the end of a burst before answering it (CATGPT_DEBOUNCE_SECONDS, issue 17).

People send a thought as several quick messages ("@mochi hey" / "so" / "what do you think of
cats"). Answering the first one alone replies to half a question and then, for the rest,
talks over them. So a call starts a wait of `seconds`; every further message by the same
person in the same channel during it starts the wait again, but never past `cap` seconds after
the call; then the one answer goes to the newest message of the burst. Its context is read from
the channel memory as for any reply, so it holds all of them (one turn, as prepare merges a
speaker's quick messages).

The clock and the sleep are injected: tests move time by hand, nothing really sleeps.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

Message = TypeVar("Message")


@dataclass
class _Wait(Generic[Message]):
    latest: Message
    deadline: float  # the wait ends here unless another message pushes it on
    limit: float  # ... and here at the latest (the call's time + cap)


class Debounce(Generic[Message]):
    """One wait per (channel, person); the first caller answers, later ones join its wait."""

    def __init__(
        self,
        seconds: float,
        cap: float,
        *,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.seconds = seconds
        self.cap = max(cap, seconds)
        self.sleep = sleep
        self.clock = clock
        # Bounded by the people waiting for an answer right now: each wait removes itself.
        self._waits: dict[tuple[int, int], _Wait[Message]] = {}

    def waiting(self, channel_id: int, author_id: int) -> bool:
        return (channel_id, author_id) in self._waits

    def heard(self, channel_id: int, author_id: int, message: Message) -> bool:
        """A message by someone the bot is waiting on here: it becomes the one answered and
        the wait starts again (within the cap). False when nobody waits on them here."""
        wait = self._waits.get((channel_id, author_id))
        if wait is None:
            return False
        wait.latest = message
        wait.deadline = min(self.clock() + self.seconds, wait.limit)
        return True

    async def settle(self, channel_id: int, author_id: int, message: Message) -> Message | None:
        """The message to answer once the burst `message` opens is over; None when a wait for
        this person here is already running (that wait answers, with this message in it)."""
        if self.seconds <= 0:
            return message
        if self.heard(channel_id, author_id, message):
            return None
        now = self.clock()
        wait = _Wait(message, now + self.seconds, now + self.cap)
        key = (channel_id, author_id)
        self._waits[key] = wait
        try:
            while (left := min(wait.deadline, wait.limit) - self.clock()) > 0:
                await self.sleep(left)
        finally:
            self._waits.pop(key, None)
        return wait.latest
