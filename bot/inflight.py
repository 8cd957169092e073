"""The handlers in progress (mentions and /catgpt), so shutdown can let them finish.

One tracker is shared by the cogs. A task is tracked until it is *done*, not until the cog's
code returns: after a /catgpt callback raises, the command tree's error handler still runs in
the same task to send the user a followup, and shutdown must wait for that too.
"""

from __future__ import annotations

import asyncio
import logging

log = logging.getLogger(__name__)


class InFlight:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task] = set()

    def __contains__(self, task: object) -> bool:
        return task in self._tasks

    def track_current(self) -> None:
        """Track the task running this handler until it is done."""
        task = asyncio.current_task()
        if task is None or task in self._tasks:
            return
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def drain(self, timeout: float) -> bool:
        """Wait up to `timeout` seconds for the tracked tasks; True when none is left."""
        pending = {task for task in self._tasks if not task.done()}
        if pending:
            _, pending = await asyncio.wait(pending, timeout=timeout)
        return not pending

    def cancel(self) -> None:
        for task in list(self._tasks):
            if not task.done():
                log.info("cancelling a reply still in progress at shutdown")
                task.cancel()
