"""The bot's database: what the bot keeps across restarts (quiz rounds and votes today).

One small interface over SQLAlchemy's async engine, so one URL picks the database: a SQLite
file by default (one host), PostgreSQL for a bot sharded over several hosts. The schema is
created and upgraded by migrations when the store opens. Voters are kept as keyed hashes, not
account ids: the fooled rate needs to count one vote per person, not to know who they are.

This module holds the contract the quiz game codes against; bot/store/database.py implements it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

from bot.store.errors import StoreError

__all__ = ["QuizStats", "QuizStore", "RoundResult", "StoreError"]


@dataclass(frozen=True)
class RoundResult:
    """A round's votes at its reveal."""

    round_id: int
    bot_choice: int  # which of the two replies (0 or 1) was the model's
    votes: tuple[int, int]  # votes for reply 0 and for reply 1
    closed_now: bool  # False when an earlier reveal had already closed the round

    @property
    def fooled(self) -> int:
        """Votes for the model's reply: people who took it for the persona's."""
        return self.votes[self.bot_choice]


@dataclass(frozen=True)
class QuizStats:
    """Revealed rounds for one model (and one server, or the console when guild_id is None)."""

    rounds: int
    votes: int
    fooled_votes: int

    @property
    def fooled_rate(self) -> float | None:
        """Share of votes for the model's reply; None before any vote."""
        return self.fooled_votes / self.votes if self.votes else None


class QuizStore(Protocol):
    async def start_round(
        self,
        *,
        model: str,
        guild_id: int | None,
        channel_id: int,
        real_message_id: int,
        bot_choice: int,
    ) -> int:
        """Record a new open round; returns its id. `model` is the model folder's fingerprint."""

    async def vote(self, round_id: int, voter_id: int, choice: int) -> bool:
        """Count (or change) one person's vote. False when the round is closed or unknown."""

    async def reveal(self, round_id: int) -> RoundResult:
        """Close the round (once; later calls return the same counts with closed_now False)."""

    async def stats(self, *, model: str, guild_id: int | None) -> QuizStats:
        """Totals over revealed rounds."""

    async def close(self) -> None:
        """Release the connection pool."""
