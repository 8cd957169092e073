"""The engine: one worker thread owns the replier; requests wait in a bounded queue.

    event loop ── submit() ──► [queue, at most queue_size waiting] ──► worker thread
        ▲                                                             takes up to max_batch
        └──── asyncio.wrap_future ◄── Future.set_result ◄────────────── replier.generate()

The replier is catgpt.reply's Replier (prompt within the trained context, the model, the cut
at another speaker's label, reply cleaning): the path `catgpt-train eval` measures.

Why one thread: a fast tokenizer is not safe across threads, and one model on one device gains
nothing from several threads racing for it. Why batches: a decoder step costs nearly the same
for 8 rows as for 1 on a CPU or GPU, so answering the waiting requests together multiplies
throughput. Why bounded: under load a clear "busy" now beats an answer minutes late.

No discord import. The bot awaits `reply()`; console mode, which has no event loop, waits on
`submit()`'s future. The event loop is never blocked: `submit` only takes a lock and puts to a
queue.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import queue
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from bot.errors import EngineBusy, EngineClosed, GenerationError, ModelLoadError
from catgpt.errors import ModelFolderError
from catgpt.folder import PersonaCard

log = logging.getLogger(__name__)


class Generator(Protocol):
    """What the engine drives (catgpt.reply.Replier, or a fake in tests)."""

    card: PersonaCard  # the persona it speaks as (catgpt.json), read once at load

    def generate(self, conversations, should_stop=None) -> list[str]: ...


@dataclass
class _Request:
    messages: list[dict]
    future: concurrent.futures.Future = field(default_factory=concurrent.futures.Future)


_STOP = object()  # sentinel: the worker exits when it reaches this in the queue


class LocalEngine:
    def __init__(
        self,
        replier: Generator,
        *,
        queue_size: int = 32,
        max_batch: int = 32,
        batch_wait: float = 0.05,
    ):
        if queue_size < 1 or max_batch < 1 or batch_wait < 0:
            raise ValueError("queue_size and max_batch must be at least 1, batch_wait >= 0")
        self.replier = replier
        # The persona the replies speak as: what the bot labels apart and strips from replies.
        self.card = replier.card
        self.queue_size = queue_size
        self.max_batch = max_batch
        # Seconds the worker waits for more requests to join a batch: small against a
        # generation (seconds), large against a burst of handlers reaching submit().
        self.batch_wait = batch_wait
        # An unbounded queue with our own count: the bound is checked under the lock, and the
        # stop sentinel can always be put even when the queue is "full".
        self._queue: queue.SimpleQueue = queue.SimpleQueue()
        self._lock = threading.Lock()
        self._waiting = 0
        self._accepting = True
        self._stop_sent = False
        self._abort = threading.Event()
        self.stats = {"served": 0, "failed": 0, "busy": 0, "batches": 0}
        self._thread = threading.Thread(target=self._run, name="catgpt-engine", daemon=True)
        self._thread.start()

    @classmethod
    def from_folder(
        cls,
        folder,
        *,
        device: str = "auto",
        queue_size: int = 32,
        max_batch: int = 32,
        max_new_tokens: int | None = None,
        history: int | None = None,
        cpu_threads: int | None = None,
        copy_guard: bool = True,
    ) -> LocalEngine:
        """Load a model folder and start the worker. Blocking: run it off the event loop.

        The reply path is catgpt.reply's, over the local backend; every way the folder or the
        device cannot serve is a ModelLoadError (one line from catgpt-bot).
        """
        # torch loads only when a real model is used
        from catgpt.local_backend import load_replier
        from catgpt.runtime import DeviceUnavailable

        try:
            replier = load_replier(
                folder,
                device=device,
                max_new_tokens=max_new_tokens,
                history=history,
                cpu_threads=cpu_threads,
                copy_guard=copy_guard,
            )
        except DeviceUnavailable as error:
            raise ModelLoadError(
                str(error),
                where="CATGPT_DEVICE",
                fix="Use auto or cpu, or an accelerator this machine has.",
            ) from None
        except ModelFolderError as error:
            raise ModelLoadError(error.what, where=error.where, fix=error.fix) from None
        return cls(replier, queue_size=queue_size, max_batch=max_batch)

    @classmethod
    def from_settings(cls, settings) -> LocalEngine:
        """The engine for a bot.settings.Settings (blocking, like from_folder)."""
        return cls.from_folder(
            settings.model,
            device=settings.device,
            queue_size=settings.queue_size,
            max_batch=settings.max_batch,
            max_new_tokens=settings.max_new_tokens,
            history=settings.history,
            cpu_threads=settings.cpu_threads,
            copy_guard=settings.copy_guard,
        )

    # ---- the caller's side (any thread, usually the event loop) ---------------------------

    def submit(self, messages: Sequence[dict]) -> concurrent.futures.Future:
        """Queue one conversation; raises EngineBusy or EngineClosed at once, never waits."""
        request = _Request(list(messages))
        with self._lock:
            if not self._accepting:
                raise EngineClosed()
            if self._waiting >= self.queue_size:
                self.stats["busy"] += 1
                raise EngineBusy()
            self._waiting += 1
            self._queue.put(request)
        return request.future

    async def reply(self, messages: Sequence[dict]) -> str:
        """The persona's reply to `messages` (chat-template dicts, oldest first).

        Cancelling the awaiting task cancels the request if the worker has not started it.
        """
        return await asyncio.wrap_future(self.submit(messages))

    def stop_accepting(self) -> None:
        with self._lock:
            self._accepting = False

    def close(self, timeout: float = 10.0) -> bool:
        """Stop taking requests, finish what is queued within `timeout`, cancel the rest.

        Blocking; returns True when the worker exited in time. Safe to call twice.
        """
        with self._lock:
            self._accepting = False
            send_stop, self._stop_sent = not self._stop_sent, True
        if send_stop:
            self._queue.put(_STOP)
        self._thread.join(timeout)
        if self._thread.is_alive():
            log.warning("engine still busy after %.1fs; cancelling what is left", timeout)
            # The stopping criterion checks this flag after every token.
            self._abort.set()
            self._thread.join(5.0)
        return not self._thread.is_alive()

    async def aclose(self, timeout: float = 10.0) -> bool:
        return await asyncio.to_thread(self.close, timeout)

    # ---- the worker thread -----------------------------------------------------------------

    def _take(self, timeout: float | None):
        """The next queued item; None blocks until one comes, raises queue.Empty on timeout."""
        item = self._queue.get(timeout=timeout) if timeout != 0 else self._queue.get_nowait()
        if item is not _STOP:
            with self._lock:
                self._waiting -= 1
        return item

    def _take_batch(self) -> tuple[list[_Request], bool]:
        """Block for one request, then gather others for up to `batch_wait` seconds.

        Mentions come in bursts (a channel pinging the bot at once, each handler reaching
        submit() a few milliseconds after the last); without the short wait the first one
        would be generated alone and every other one would wait a whole generation for it.
        """
        batch: list[_Request] = []
        stop = False
        item = self._take(timeout=None)
        deadline = time.monotonic() + self.batch_wait
        while True:
            if item is _STOP:
                stop = True
                break
            # False when the caller cancelled it while it waited: drop it.
            if item.future.set_running_or_notify_cancel():
                batch.append(item)
            if len(batch) >= self.max_batch:
                break
            try:
                item = self._take(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                break
        return batch, stop

    def _run(self) -> None:
        while True:
            batch, stop = self._take_batch()
            if batch:
                if self._abort.is_set():
                    self._fail(batch, EngineClosed())
                else:
                    self._serve(batch)
            if stop:
                break
        self._cancel_leftovers()
        log.debug("engine worker exited")

    def _serve(self, batch: list[_Request]) -> None:
        self.stats["batches"] += 1
        try:
            replies = self.replier.generate([r.messages for r in batch], self._abort.is_set)
        except Exception:  # the worker must outlive any one failure
            if len(batch) > 1:
                # One bad request (or a batch too big for memory) should not fail the others.
                log.warning("batch of %d failed; retrying one by one", len(batch), exc_info=True)
                for request in batch:
                    self._serve([request])
                return
            log.exception("generation failed")
            self.stats["failed"] += 1
            self._fail(batch, GenerationError())
            return
        if self._abort.is_set():
            # Cut short by shutdown: a half reply is not worth sending.
            self._fail(batch, EngineClosed())
            return
        for request, text in zip(batch, replies, strict=True):
            request.future.set_result(text)
            self.stats["served"] += 1

    @staticmethod
    def _fail(batch: list[_Request], error: Exception) -> None:
        for request in batch:
            if not request.future.done():
                request.future.set_exception(error)

    def _cancel_leftovers(self) -> None:
        while True:
            try:
                item = self._take(timeout=0)
            except queue.Empty:
                return
            if item is not _STOP and item.future.set_running_or_notify_cancel():
                item.future.set_exception(EngineClosed())
