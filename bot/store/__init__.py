"""The bot's database: what the bot keeps across restarts (quiz rounds and votes, opt-outs,
pauses).

One small interface over SQLAlchemy's async engine, so one URL picks the database: a SQLite
file by default (one host), PostgreSQL for a bot sharded over several hosts. The schema is
created and upgraded by migrations when the store opens. Voters are kept as keyed hashes, not
account ids: the fooled rate needs to count one vote per person, not to know who they are.

Opt-outs are the one exception to hashing: they are kept as the account id itself, because
`catgpt-bot export-opt-outs` must write the real ids for `catgpt-train prepare --opt-outs`
(a hash could not be matched against an export's authors).

This module holds the contracts the quiz game and the consent state (bot/consent.py) code
against; bot/store/database.py implements them all.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from bot.store.errors import StoreError

__all__ = [
    "ConsentStore",
    "OptOutStore",
    "PauseStore",
    "QuizStats",
    "QuizStore",
    "RoundResult",
    "StoreError",
]


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


@runtime_checkable
class OptOutStore(Protocol):
    """Who asked the bot to forget their messages (`/catgpt forget`): account ids, as they are."""

    async def opt_out(self, user_id: int) -> bool:
        """Record the opt-out; False when it was already recorded."""

    async def opt_in(self, user_id: int) -> bool:
        """Remove the opt-out (`/catgpt remember`); False when there was none."""

    async def opted_out_ids(self) -> frozenset[int]:
        """Every account that opted out."""

    async def is_opted_out(self, user_id: int) -> bool:
        """Whether this account opted out (asked of the database, not of a cache)."""


@runtime_checkable
class PauseStore(Protocol):
    """Where the bot is paused: everywhere (`guild_id` None: the persona's veto) or in a server
    (its admins')."""

    async def pause(self, guild_id: int | None) -> bool:
        """Pause everywhere (None) or in one server; False when it already was."""

    async def resume(self, guild_id: int | None) -> bool:
        """Lift that pause (only that one); False when there was none."""

    async def paused_scopes(self) -> frozenset[int | None]:
        """The pauses in force: None for everywhere, else server ids."""


@runtime_checkable
class ConsentStore(OptOutStore, PauseStore, Protocol):
    """Both: what bot/consent.py keeps its cached state from."""
