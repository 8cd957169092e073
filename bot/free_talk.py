"""Free talk (CATGPT_FREE_CHANNELS, issue 17): in these channels the persona may speak without
being mentioned, as often as the person did.

How often comes from the data, not from a knob: `catgpt-train prepare` measured the share of
other people's turns the persona answered within a minute (catgpt/speaking.py), and the bot,
which answers at once, draws that share after each of someone else's messages. A model folder
without the figure (a foreign model, or trained before it was measured) gets no free talk: one
INFO line at start says so. What may stop a draw that says "speak" (cooldowns, its own turn
just taken) is bot/turn_taking.py's job.

The random source is injected: tests seed it and count.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable

log = logging.getLogger(__name__)


class FreeTalk:
    def __init__(
        self,
        channels: frozenset[int],
        rate: float | None,
        *,
        draw: Callable[[], float] | None = None,
    ):
        self.channels = channels if rate is not None else frozenset()
        self.rate = rate
        self.draw = draw or random.Random().random  # a uniform number in [0, 1)
        if channels and rate is None:
            log.info(
                "free talk is off: the model folder records no speaking rate (catgpt.json "
                "dataset.stats.speaking; prepare and train again to measure it); "
                "CATGPT_FREE_CHANNELS is ignored"
            )
        elif channels:
            log.info("free talk in %d channel(s) at a rate of %.3f", len(channels), rate)

    def speaks(self, channel_id: int) -> bool:
        """One draw: whether the persona takes this turn (only in a free-talk channel)."""
        return channel_id in self.channels and self.draw() < self.rate
