"""Consent (issue 17): who opted out of the bot reading their messages, and where it is paused.

The database (bot/store's ConsentStore) is the truth; this keeps a copy in process so the
per-message filter is a set lookup (`opted_out`), loaded at start and changed at once by this
process's own commands. Other processes (several hosts on one PostgreSQL database) learn a
change when their copy is older than `refresh_s` (60 s) at their next reply or command: the
pause gate (`paused`), which every reply path awaits before it reads anything, reads the
database again then. So another host stops using someone's messages within a minute of their
`/catgpt forget` and a restart; this host at once.

When an account opts out (here, or found on a refresh) every `on_opt_out` callback runs: the
mention memory drops that person's messages, discord.py's message cache too.

Without a database (`store` None) nobody is opted out and nothing is paused; the commands say
the bot's database is not configured (bot/cogs/consent.py).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

from bot.store import ConsentStore, StoreError

log = logging.getLogger(__name__)

# Seconds a copy of the database's opt-outs and pauses is trusted before it is read again.
REFRESH_S = 60.0


class Consent:
    def __init__(
        self,
        store: ConsentStore | None = None,
        *,
        refresh_s: float = REFRESH_S,
        clock: Callable[[], float] = time.monotonic,
    ):
        self.store = store
        self.refresh_s = refresh_s
        self.clock = clock  # tests pass one they move by hand: no real waiting
        self._opted_out: frozenset[int] = frozenset()
        self._paused: frozenset[int | None] = frozenset()
        self._read_at: float | None = None  # when the copy was read; None: never
        self._lock = asyncio.Lock()
        self.on_opt_out: list[Callable[[int], None]] = []  # called with each newly opted-out id

    @property
    def configured(self) -> bool:
        return self.store is not None

    # ---- reading (the per-message filter and the gate) -------------------------------------

    def opted_out(self, user_id: int) -> bool:
        """Whether `user_id` asked the bot to forget them: a set lookup, no database call."""
        return user_id in self._opted_out

    @property
    def opted_out_ids(self) -> frozenset[int]:
        return self._opted_out

    async def paused(self, guild_id: int | None) -> bool:
        """Whether the bot keeps quiet here: paused everywhere, or in this server. Reads the
        database again first when the copy is older than `refresh_s` (other hosts' changes)."""
        await self.refresh()
        return self.paused_here(guild_id)

    async def keeps_quiet(self, guild_id: int | None, user_id: int) -> bool:
        """The reply path's one gate: paused here, or the person asking opted out (their words
        would be the prompt, and the bot reads none of them)."""
        return await self.paused(guild_id) or self.opted_out(user_id)

    def paused_here(self, guild_id: int | None) -> bool:
        """`paused` from the copy as it is (no refresh)."""
        return None in self._paused or (guild_id is not None and guild_id in self._paused)

    @property
    def paused_everywhere(self) -> bool:
        return None in self._paused

    async def load(self) -> None:
        """Read the database's opt-outs and pauses (at start: a failure stops the start)."""
        if self.store is None:
            return
        async with self._lock:
            await self._read()

    async def refresh(self) -> None:
        """Read again when the copy is older than refresh_s; a database that cannot be reached
        keeps the copy (logged) and is asked again after the next refresh_s."""
        if self.store is None or not self._stale():
            return
        async with self._lock:
            if not self._stale():  # another caller refreshed while this one waited
                return
            try:
                await self._read()
            except StoreError as error:
                self._read_at = self.clock()
                log.warning("consent: kept the last opt-outs and pauses read: %s", error)

    def _stale(self) -> bool:
        return self._read_at is None or self.clock() - self._read_at >= self.refresh_s

    async def _read(self) -> None:
        opted_out = await self.store.opted_out_ids()
        self._paused = await self.store.paused_scopes()
        self._read_at = self.clock()
        self._set_opted_out(opted_out)

    def _set_opted_out(self, ids: frozenset[int]) -> None:
        new = ids - self._opted_out
        self._opted_out = ids
        for user_id in new:
            self._forget_everywhere(user_id)

    def _forget_everywhere(self, user_id: int) -> None:
        for callback in self.on_opt_out:
            callback(user_id)

    # ---- changes (the commands) ---------------------------------------------------------------

    async def forget(self, user_id: int) -> bool:
        """Opt `user_id` out: recorded first (a failure raises StoreError and changes nothing
        here), then their messages leave this process's memory. False: already opted out."""
        changed = await self._store().opt_out(user_id)
        if user_id not in self._opted_out:
            self._opted_out = self._opted_out | {user_id}
        # Again even when already recorded: a copy that missed it (another host) catches up.
        self._forget_everywhere(user_id)
        return changed

    async def remember(self, user_id: int) -> bool:
        """Undo `forget`: their messages from now on are read again. False: was not opted out."""
        changed = await self._store().opt_in(user_id)
        self._opted_out = self._opted_out - {user_id}
        return changed

    async def pause(self, guild_id: int | None) -> bool:
        """Pause everywhere (None) or in one server. False: it already was."""
        changed = await self._store().pause(guild_id)
        self._paused = self._paused | {guild_id}
        return changed

    async def resume(self, guild_id: int | None) -> bool:
        """Lift the pause everywhere (None) or in one server (only that one)."""
        changed = await self._store().resume(guild_id)
        self._paused = self._paused - {guild_id}
        return changed

    def _store(self) -> ConsentStore:
        if self.store is None:  # the commands check `configured` first
            raise RuntimeError("consent commands need the bot's database")
        return self.store
