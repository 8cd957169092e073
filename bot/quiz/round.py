"""One round's lifecycle: open, votes (one per person, changeable), the reveal once.

The store is the record (it survives a restart, and counts what the reveal shows); the round
mirrors the votes it accepted only to know when the threshold is reached without asking the
store on every click.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from bot.quiz.picking import Pick
from bot.store import QuizStore, RoundResult


@dataclass
class QuizRound:
    round_id: int
    pick: Pick
    replies: tuple[str, str]  # as shown: A, B
    bot_choice: int  # which of the two (0: A, 1: B) is the model's
    votes_needed: int
    voters: dict[int, int] = field(default_factory=dict)  # voter id -> choice
    result: RoundResult | None = None
    # One reveal at a time: a last vote and the timer may reach it together.
    _lock: asyncio.Lock = field(default_factory=asyncio.Lock, repr=False)

    @property
    def real_choice(self) -> int:
        return 1 - self.bot_choice

    @property
    def revealed(self) -> bool:
        return self.result is not None

    @property
    def enough_votes(self) -> bool:
        return len(self.voters) >= self.votes_needed

    async def vote(self, store: QuizStore, voter_id: int, choice: int) -> bool:
        """Count (or change) `voter_id`'s vote; False once the round is closed."""
        if self.revealed or not await store.vote(self.round_id, voter_id, choice):
            return False
        self.voters[voter_id] = choice
        return True

    async def reveal(self, store: QuizStore) -> tuple[RoundResult, bool]:
        """Close the round: its result, and whether this call closed it (False: it was
        already revealed, by the timer, the last vote or shutdown)."""
        async with self._lock:
            if self.result is not None:
                return self.result, False
            self.result = await store.reveal(self.round_id)
            return self.result, True
