"""The one reply path: conversations in, the persona's cleaned replies out.

    conversation ─► PromptBuilder.build ─► Backend.complete ─► cut at another speaker's label
                    (catgpt.prompt)        (the model call)     ─► clean_reply (catgpt.cleaning)
                                                                ─► copy guard (catgpt.copy_guard)

The bot's engine calls it for each batch (the console goes through the engine), and
`catgpt-train eval` samples through it, so the figures eval reports describe the replies users
get. The model call is a backend: `catgpt.generator.LocalBackend` (the weights in this process),
called in batches from the engine's worker thread. An OpenAI-compatible completions server is
asked asynchronously, one request at a time, by bot.remote_engine: it holds a Replier over a
CallerBackend, builds each prompt with `prompts`, sends the Prompt's text and stop strings, and
ends the completion with `finish`, the same last step `replies` takes per row. Prompt building,
cleaning and the copy guard do not change with the backend: the guard reads the cleaned text,
and a reply that repeats a long run of a training reply is drawn again through the same backend
(the remote engine asks its server again and keeps the least copying draw).

No torch here: `catgpt.generator.load_replier` builds the local path (and imports torch).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal, Protocol

from catgpt.cleaning import clean_reply, cut_at_turn, turn_pattern
from catgpt.folder import PersonaCard
from catgpt.prompt import Conversation, Prompt, PromptBuilder

if TYPE_CHECKING:
    from catgpt.copy_guard import CopyGuard

log = logging.getLogger(__name__)

# eos: the model ended its turn; label: it began another speaker's turn (cut there);
# length: max_new_tokens ran out; abort: the caller's should_stop said stop.
Finish = Literal["eos", "label", "length", "abort"]


@dataclass(frozen=True)
class Completion:
    """What a backend wrote after one prompt (special tokens removed), and why it ended."""

    text: str
    finish: Finish


class Backend(Protocol):
    """A model call: prompts in, completions out, in order. One batch per call."""

    max_new_tokens: int

    def complete(
        self,
        prompts: Sequence[Prompt],
        *,
        should_stop: Callable[[], bool] | None = None,
        seed: int | None = None,
    ) -> list[Completion]: ...


@dataclass(frozen=True)
class Reply:
    text: str  # cleaned; "" when nothing sendable was left (the bot then sends its fallback)
    finish: Finish
    copied: int = 0  # its runs of the copy guard's n tokens found in training replies
    candidates: int = 1  # replies drawn for this conversation (more when the guard drew again)
    # With the copy guard: the first draw (what CATGPT_COPY_GUARD=off sends) when the guard
    # replaced it, and the seconds the guard added to the call (checks and draws again; the
    # same for every reply of a batch, which is answered together).
    first: Reply | None = None
    guard_seconds: float = 0.0


class Replier:
    """Prompt building, one backend, reply cleaning and the copy guard, for one persona.

    guard: None serves the first draw as it is (CATGPT_COPY_GUARD=off, or a folder without an
    index: the original project's parroting).
    """

    def __init__(
        self,
        prompts: PromptBuilder,
        backend: Backend,
        card: PersonaCard,
        guard: CopyGuard | None = None,
    ):
        self.prompts = prompts
        self.backend = backend
        self.card = card
        self.guard = guard

    @property
    def persona(self) -> str:
        return self.card.name

    @property
    def aliases(self) -> tuple[str, ...]:
        return self.card.aliases

    @property
    def max_new_tokens(self) -> int:
        return self.backend.max_new_tokens

    def replies(
        self,
        conversations: Sequence[Conversation],
        should_stop: Callable[[], bool] | None = None,
        seed: int | None = None,
    ) -> list[Reply]:
        """One reply per conversation, generated as one batch (and, with the copy guard, the
        replies that copy drawn again as a smaller batch)."""
        prompts = [self.prompts.build(c) for c in conversations]
        replies = self._draw(prompts, should_stop, seed)
        if self.guard is not None:
            replies = self._guarded(prompts, replies, should_stop)
        return replies

    def _draw(self, prompts: Sequence[Prompt], should_stop, seed) -> list[Reply]:
        completions = self.backend.complete(prompts, should_stop=should_stop, seed=seed)
        return [self.finish(p, c) for p, c in zip(prompts, completions, strict=True)]

    def finish(self, prompt: Prompt, completion: Completion) -> Reply:
        """One completion of `prompt` as the reply: cut at another speaker's label, cleaned.

        Public for a caller that asks the model itself (bot.remote_engine awaits a server, one
        request at a time, and builds with `self.prompts`): its replies end the same way.
        """
        text = cut_at_turn(completion.text, turn_pattern(prompt.stop_names))
        finish = "label" if text != completion.text else completion.finish
        return Reply(clean_reply(text, self.card.names), finish)

    def _guarded(self, prompts: Sequence[Prompt], replies: list[Reply], should_stop) -> list[Reply]:
        """Draw again, up to guard.retries times, for the replies with a training run in them;
        keep each one's candidate with the fewest such runs (the earlier one on a tie)."""
        guard, started = self.guard, time.perf_counter()
        best = [replace(r, copied=guard.copied(r.text)) for r in replies]
        replaced: set[int] = set()  # the replies whose first draw was not the least copying
        for _ in range(guard.retries):
            again = [i for i, reply in enumerate(best) if reply.copied]
            if not again or (should_stop is not None and should_stop()):
                break
            log.debug("copy guard: drawing again for %d of %d replies", len(again), len(best))
            # No seed: the draws go on from the first one's, so a seeded batch stays reproducible.
            drawn = self._draw([prompts[i] for i in again], should_stop, None)
            for i, reply in zip(again, drawn, strict=True):
                copied, tries = guard.copied(reply.text), best[i].candidates + 1
                if copied < best[i].copied:
                    best[i] = replace(reply, copied=copied, candidates=tries)
                    replaced.add(i)
                else:
                    best[i] = replace(best[i], candidates=tries)
        seconds = time.perf_counter() - started
        return [
            replace(reply, guard_seconds=seconds, first=first if i in replaced else None)
            for i, (reply, first) in enumerate(zip(best, replies, strict=True))
        ]

    def generate(
        self,
        conversations: Sequence[Conversation],
        should_stop: Callable[[], bool] | None = None,
    ) -> list[str]:
        """The reply texts (what the bot's engine asks for)."""
        return [reply.text for reply in self.replies(conversations, should_stop)]


@dataclass(frozen=True)
class CallerBackend:
    """The backend of a Replier whose caller asks the model itself (bot.remote_engine awaits an
    inference server): only the reply length; the caller builds with `prompts` and ends each
    reply with `finish`, so `replies` is not for it."""

    max_new_tokens: int

    def complete(self, prompts, *, should_stop=None, seed=None) -> list[Completion]:
        raise TypeError("this Replier's caller asks the model itself: build, then finish()")
