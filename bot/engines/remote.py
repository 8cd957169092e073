"""The remote engine: the local engine's surface, with the model on an inference server.

    caller (any thread) ── submit() ──► engine's event loop thread ──► Replier.areplies
        ▲                                                              (catgpt.reply: prompt,
        │                                                               RemoteBackend.acomplete
        │                                                               = POST /v1/completions,
        └──── asyncio.wrap_future ◄── Future ◄──────────────────────── cut, clean, copy guard)

Same surface as bot.engines.local.LocalEngine (`reply`, `submit`, `card`, `stop_accepting`,
`close`, `aclose`), so the cogs and the console take either. Why its own event
loop on its own thread, like the local engine's worker: the console waits on `submit()`'s
future from a thread with no loop, the HTTP client's connections belong to one loop, and a
tokenizer is not safe across threads; here one thread renders every prompt and owns the client,
whichever thread asked. The Discord loop only ever awaits a future.

The model folder stays the single source of the prompt, and the reply path is the local one's:
the same catgpt.reply.Replier, built with the same limits as the local backend's (the trained
bounds from catgpt.json, lowered by the settings; the window from config.json; the persona's
names as labels), with a RemoteBackend as its backend. So the cut at another speaker's label,
the cleaning, the reply budget and the copy guard's draws again are the Replier's, not a copy
of them here. Sampling values come from generation_config.json. This process loads no weights
and imports no torch.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from bot.engines.completions_client import CompletionResult, CompletionsClient
from bot.errors import EngineBusy, EngineClosed, EngineError, GenerationError, ModelLoadError
from catgpt.copy_guard import load_guard
from catgpt.errors import ModelFolderError
from catgpt.folder import (
    folder_max_new_tokens,
    folder_window,
    generation_defaults,
    load_fast_tokenizer,
    read_card,
)
from catgpt.prompt import Prompt, prompt_builder_for
from catgpt.reply import Completion, Replier

log = logging.getLogger(__name__)


def sampling_from(generation_config: dict) -> dict:
    """The folder's sampling defaults as OpenAI completion fields.

    `do_sample: false` (or no do_sample, transformers' default) is greedy: temperature 0 on
    every server. Otherwise temperature and top_p. Not sent, because they are not OpenAI
    fields (transformers serve answers 422): top_k and repetition_penalty. The servers that
    read the same folder apply them from its generation_config.json anyway (transformers serve
    starts every request from it; vLLM's `--generation-config auto`, its default); llama.cpp
    and Ollama take them as flags or Modelfile parameters (docs/bot.md). repetition_penalty is
    not mapped to frequency_penalty: one divides the logits of every token already seen once,
    the other subtracts a multiple of its count, so no one value of one equals the other.
    """
    if not generation_config.get("do_sample"):
        return {"temperature": 0.0}
    sampling = {"temperature": float(generation_config.get("temperature", 1.0))}
    if generation_config.get("top_p") is not None:
        sampling["top_p"] = float(generation_config["top_p"])
    return sampling


def stop_strings(prompt: Prompt, eos: str | None) -> list[str]:
    """What the server should stop at: eos, and the prompt's stop strings (a new line or word
    that opens another turn; see Prompt.stop_strings). Only a hint that saves tokens: the reply
    is cut by Replier.finish afterwards, as the local backend's is."""
    return sorted({*prompt.stop_strings, *([eos] if eos else [])})


def completion_from(result: CompletionResult) -> Completion:
    """The server's answer as the reply path's Completion.

    A server's "stop" is eos or one of our stop strings alike (and the client has cut the
    string off): called "eos" here, as the label stops left in the text become "label" in
    finish. "length": max_tokens ran out.
    """
    return Completion(result.text, "length" if result.finish_reason == "length" else "eos")


@dataclass
class RemoteBackend:
    """The reply path's backend for an OpenAI-compatible completions server.

    `acomplete` (what Replier.areplies awaits, on the client's loop) sends each prompt's text
    with eos and its stop strings, max_new_tokens as max_tokens and the folder's sampling
    values; `complete` serves a caller on another thread (eval, a bench) through the loop the
    client lives on (`loop`, the remote engine's)."""

    client: CompletionsClient
    max_new_tokens: int
    eos: str | None = None
    sampling: dict = field(default_factory=dict)
    loop: asyncio.AbstractEventLoop | None = None

    async def acomplete(self, prompts, *, should_stop=None, seed=None) -> list[Completion]:
        sampling = {**self.sampling, **({"seed": seed} if seed is not None else {})}
        results = await asyncio.gather(*(
            self.client.complete(prompt.text, stop=stop_strings(prompt, self.eos),
                                 max_tokens=self.max_new_tokens, sampling=sampling)
            for prompt in prompts
        ))  # fmt: skip
        return [completion_from(result) for result in results]

    def complete(self, prompts, *, should_stop=None, seed=None) -> list[Completion]:
        if self.loop is None or not self.loop.is_running():
            raise RuntimeError("the remote backend answers through its engine's running loop")
        try:
            on_loop = asyncio.get_running_loop() is self.loop
        except RuntimeError:  # no loop in this thread: the usual case
            on_loop = False
        if on_loop:  # waiting here would block the loop that has to answer
            raise RuntimeError("on the engine's loop, await Replier.areplies instead")
        asked = self.acomplete(prompts, should_stop=should_stop, seed=seed)
        return asyncio.run_coroutine_threadsafe(asked, self.loop).result()


def load_remote_replier(
    folder: str | Path,
    client: CompletionsClient,
    *,
    max_new_tokens: int | None = None,
    history: int | None = None,
    copy_guard: bool = True,
) -> Replier:
    """The reply path for a folder served by `client`'s server: card, tokenizer and template,
    no weights.

    The same construction as catgpt.local_backend.load_replier's, with the numbers the loaded
    model would give read from the folder's JSON instead. Raises ModelLoadError.
    """
    folder = Path(folder)
    try:
        card = read_card(folder)
        tokenizer = load_fast_tokenizer(folder)
        window = folder_window(folder, tokenizer)
        max_new = folder_max_new_tokens(folder)
        # The server tokenizes the text with the tokenizer's defaults, so the specials those
        # add (a BOS for some models) come on top of the prompt: they take room in the window.
        added = len(tokenizer("")["input_ids"])
        try:
            prompts, bounds = prompt_builder_for(
                tokenizer,
                card,
                window=window - added,
                max_new_tokens=max_new,
                history=history,
                wanted_new_tokens=max_new_tokens,
            )
        except ModelFolderError as error:
            # Say which folder (and file in it) cannot be served, as load_replier does.
            error.where = str(folder / error.where) if error.where else str(folder)
            raise
        guard = load_guard(folder, tokenizer) if copy_guard else None
        config = generation_defaults(folder)
    except ModelFolderError as error:
        raise ModelLoadError(error.what, where=error.where, fix=error.fix) from None
    if not copy_guard:
        log.info("copy guard off: replies may repeat training messages word for word")
    unsent = {}  # repetition_penalty counts in greedy decoding too; top_k only when sampling
    if config.get("repetition_penalty", 1.0) != 1.0:
        unsent["repetition_penalty"] = config["repetition_penalty"]
    if config.get("do_sample") and config.get("top_k"):
        unsent["top_k"] = config["top_k"]
    if unsent:
        log.info("not sent to the server (no OpenAI field; it applies its own): %s", unsent)
    backend = RemoteBackend(client, bounds.max_new_tokens, tokenizer.eos_token,
                            sampling_from(config))  # fmt: skip
    return Replier(prompts, backend, card, guard)


class RemoteEngine:
    def __init__(self, replier: Replier):
        """replier: its backend a RemoteBackend (load_remote_replier); its client and requests
        live on this engine's loop from now on."""
        self.replier = replier
        self.card = replier.card  # the persona, as the local engine holds it
        self.backend: RemoteBackend = replier.backend
        self.client = self.backend.client
        self._lock = threading.Lock()
        self._accepting = True
        self._closed = False
        self._aborting = False
        self._tasks: set[asyncio.Task] = set()  # touched on the engine's loop only
        self.stats = {"served": 0, "failed": 0, "busy": 0}
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._run_loop, name="catgpt-remote", daemon=True)
        self._thread.start()
        self.backend.loop = self._loop

    @classmethod
    def from_folder(
        cls,
        folder: str | Path,
        *,
        api_base: str,
        api_model: str | None = None,
        api_key: str | None = None,
        timeout: float = 60.0,
        concurrency: int = 32,
        queue_size: int = 32,
        max_new_tokens: int | None = None,
        history: int | None = None,
        copy_guard: bool = True,
        check: bool = True,
    ) -> RemoteEngine:
        """Read the folder's card, tokenizer and defaults, then (check=True) ask the server.

        Blocking (about a second): run it off the event loop. Raises ModelLoadError for a folder
        that cannot render prompts, BackendError when the server is unreachable or does not
        serve the model. max_new_tokens / history: the settings, capped by the trained bounds.
        """
        client = CompletionsClient(
            api_base,
            model=api_model,
            api_key=api_key,
            timeout=timeout,
            concurrency=concurrency,
            queue_size=queue_size,
        )
        replier = load_remote_replier(
            folder, client, max_new_tokens=max_new_tokens, history=history, copy_guard=copy_guard
        )
        engine = cls(replier)
        if check:
            try:
                engine.check()
            except BaseException:
                engine.close(1.0)
                raise
        log.info(
            "persona %r from %s, served by %s as %r; prompts of at most %d tokens%s, replies of %d",
            replier.card.name,
            folder,
            client.base_url,
            client.model,
            replier.prompts.max_tokens,
            f" and {replier.prompts.max_turns} turns" if replier.prompts.max_turns else "",
            replier.max_new_tokens,
        )
        return engine

    @classmethod
    def from_settings(cls, settings, *, check: bool = True) -> RemoteEngine:
        return cls.from_folder(
            settings.model,
            api_base=settings.api_base,
            api_model=settings.api_model,
            api_key=settings.api_key,
            timeout=settings.api_timeout,
            # In flight at the server at once: the server batches them (continuous batching).
            concurrency=settings.max_batch,
            queue_size=settings.queue_size,
            max_new_tokens=settings.max_new_tokens,
            history=settings.history,
            copy_guard=settings.copy_guard,
            check=check,
        )

    def __repr__(self) -> str:
        return f"RemoteEngine({self.client!r}, persona={self.card.name!r})"

    # ---- the caller's side (any thread) ---------------------------------------------------

    def check(self) -> str:
        """The server's health check (blocking); returns the model name it serves."""
        return asyncio.run_coroutine_threadsafe(self.client.check(), self._loop).result()

    def submit(self, messages: Sequence[dict]) -> concurrent.futures.Future:
        """Start one reply; EngineClosed at once when closing, EngineBusy via the future."""
        with self._lock:
            if not self._accepting:
                raise EngineClosed()
            return asyncio.run_coroutine_threadsafe(self._answer(list(messages)), self._loop)

    async def reply(self, messages: Sequence[dict]) -> str:
        """The persona's reply; cancelling the awaiting task cancels the HTTP request."""
        return await asyncio.wrap_future(self.submit(messages))

    def stop_accepting(self) -> None:
        with self._lock:
            self._accepting = False

    def close(self, timeout: float = 10.0) -> bool:
        """Stop taking requests, let those in flight finish within `timeout`, cancel the rest.

        Blocking; returns True when the loop thread exited. Safe to call twice.
        """
        with self._lock:
            self._accepting = False
            first, self._closed = not self._closed, True
        if first and self._thread.is_alive():
            done = asyncio.run_coroutine_threadsafe(self._shutdown(timeout), self._loop)
            try:
                done.result(timeout + 5.0)
            except Exception:  # a failing close must not stop the bot's own shutdown
                log.warning("remote engine did not shut down cleanly", exc_info=True)
            self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5.0)
        return not self._thread.is_alive()

    async def aclose(self, timeout: float = 10.0) -> bool:
        return await asyncio.to_thread(self.close, timeout)

    # ---- the engine's loop thread -----------------------------------------------------------

    def _run_loop(self) -> None:
        asyncio.set_event_loop(self._loop)
        try:
            self._loop.run_forever()
        finally:
            self._loop.close()

    async def _answer(self, messages: list[dict]) -> str:
        task = asyncio.current_task()
        self._tasks.add(task)
        try:
            # Rendering and the guard are milliseconds of CPU on this thread, never on the
            # Discord loop; the reply path is the local one's (catgpt.reply.Replier).
            reply = (await self.replier.areplies([messages]))[0]
        except asyncio.CancelledError:
            if self._aborting:  # cut short by shutdown: the user hears "going to sleep"
                raise EngineClosed() from None
            raise
        except EngineBusy:
            self.stats["busy"] += 1
            raise
        except EngineError:
            self.stats["failed"] += 1
            raise
        except Exception:  # a bug or a template error: logged, and the user hears the apology
            log.exception("remote reply failed")
            self.stats["failed"] += 1
            raise GenerationError() from None
        finally:
            self._tasks.discard(task)
        self.stats["served"] += 1
        return reply.text

    async def _shutdown(self, timeout: float) -> None:
        pending = set(self._tasks)
        if pending:
            _, pending = await asyncio.wait(pending, timeout=timeout)
        if pending:
            log.warning("%d remote request(s) still running; cancelling them", len(pending))
            self._aborting = True
            for task in pending:
                task.cancel()
            await asyncio.gather(*pending, return_exceptions=True)
        await self.client.aclose()
