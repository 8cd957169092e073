"""An in-memory QuizStore (bot/store's Protocol) for the quiz tests, faithful to the contract:
one vote per voter (a second one changes the choice), no vote after the reveal, a round closes
once. Its data lives in a `QuizData` the test holds, so a store opened again over the same
data (a restarted bot) sees every result, as a database file would.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field

from bot.store import QuizStats, RoundResult


@dataclass
class StoredRound:
    model: str
    guild_id: int | None
    channel_id: int
    real_message_id: int
    bot_choice: int
    votes: dict[str, int] = field(default_factory=dict)  # voter key -> choice
    closed: bool = False


@dataclass
class QuizData:
    rounds: dict[int, StoredRound] = field(default_factory=dict)


class FakeQuizStore:
    def __init__(self, data: QuizData):
        self.data = data
        self.closed = False

    def _open(self) -> QuizData:
        if self.closed:
            raise RuntimeError("the store is closed")
        return self.data

    @staticmethod
    def voter_key(voter_id: int) -> str:
        # As the real store: a hash, not the account id.
        return hashlib.sha256(f"quiz-voter:{voter_id}".encode()).hexdigest()

    async def start_round(self, *, model, guild_id, channel_id, real_message_id, bot_choice) -> int:
        if bot_choice not in (0, 1):
            raise ValueError("bot_choice must be 0 or 1")
        rounds = self._open().rounds
        round_id = len(rounds) + 1
        rounds[round_id] = StoredRound(model, guild_id, channel_id, real_message_id, bot_choice)
        return round_id

    async def vote(self, round_id: int, voter_id: int, choice: int) -> bool:
        if choice not in (0, 1):
            raise ValueError("choice must be 0 or 1")
        stored = self._open().rounds.get(round_id)
        if stored is None or stored.closed:
            return False
        stored.votes[self.voter_key(voter_id)] = choice
        return True

    async def reveal(self, round_id: int) -> RoundResult:
        stored = self._open().rounds[round_id]
        closed_now, stored.closed = not stored.closed, True
        votes = tuple(sum(1 for c in stored.votes.values() if c == i) for i in (0, 1))
        return RoundResult(round_id, stored.bot_choice, votes, closed_now)

    async def stats(self, *, model: str, guild_id: int | None) -> QuizStats:
        done = [
            r for r in self._open().rounds.values()
            if r.closed and r.model == model and r.guild_id == guild_id
        ]  # fmt: skip
        votes = sum(len(r.votes) for r in done)
        fooled = sum(1 for r in done for c in r.votes.values() if c == r.bot_choice)
        return QuizStats(rounds=len(done), votes=votes, fooled_votes=fooled)

    async def close(self) -> None:
        self.closed = True
