"""Per-user cooldown shared by the mention and slash paths (one window per person, not per path)."""

from __future__ import annotations

import time
from collections.abc import Callable

from discord.ext.commands import Cooldown, CooldownMapping


def _by_user_id(user_id: int) -> int:
    return user_id


class UserCooldown:
    """One answer per `seconds` per user; the first refusal in a window gets a notice.

    discord.py's CooldownMapping keeps the windows (and drops expired ones, so the table stays
    as small as the set of people inside a window). A window starts with an answer; a refused
    call does not extend it, so a person who keeps asking is answered as soon as it is over.
    `clock` is injectable for tests; discord.py's `current` arguments take its readings.
    """

    def __init__(self, seconds: float, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self.seconds = seconds

    @property
    def seconds(self) -> float:
        return self._seconds

    @seconds.setter
    def seconds(self, seconds: float) -> None:
        self._seconds = seconds
        per = max(seconds, 0.0)
        self._answers = CooldownMapping(Cooldown(1, per), _by_user_id)
        # The notice has a window of its own, restarted by each answer: one notice per window.
        self._notices = CooldownMapping(Cooldown(1, per), _by_user_id)

    def hit(self, user_id: int) -> float:
        """0.0 and a new window when the user may be answered; else the seconds left."""
        if self.seconds <= 0:
            return 0.0
        now = self.clock()
        retry_after = self._answers.update_rate_limit(user_id, now)
        if retry_after:  # None, or 0.0 at the very end of a window, mean "answer"
            return retry_after
        self._notices.get_bucket(user_id, now).reset()
        return 0.0

    def should_notice(self, user_id: int) -> bool:
        """True once per window: a second refusal in a row is silent (no notice spam)."""
        return not self._notices.update_rate_limit(user_id, self.clock())
