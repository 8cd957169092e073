"""Per-user cooldown shared by the mention and slash paths (one window per person, not per path)."""

from __future__ import annotations

import time
from collections.abc import Callable


class UserCooldown:
    """One answer per `seconds` per user; the first refusal in a window gets a notice.

    `hit` both checks and starts a window, so a refused call does not extend it: a person who
    keeps asking is answered as soon as the window they started is over.
    """

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic):
        self.seconds = seconds
        self.clock = clock
        self._until: dict[int, float] = {}
        self._noticed: set[int] = set()

    def hit(self, user_id: int) -> float:
        """0.0 and a new window when the user may be answered; else the seconds left."""
        if self.seconds <= 0:
            return 0.0
        now = self.clock()
        until = self._until.get(user_id, 0.0)
        if now < until:
            return until - now
        if len(self._until) > 10_000:  # keep the table from growing with every user ever seen
            self._until = {u: t for u, t in self._until.items() if t > now}
            self._noticed &= self._until.keys()
        self._until[user_id] = now + self.seconds
        self._noticed.discard(user_id)
        return 0.0

    def should_notice(self, user_id: int) -> bool:
        """True once per window: a second refusal in a row is silent (no notice spam)."""
        if user_id in self._noticed:
            return False
        self._noticed.add(user_id)
        return True
