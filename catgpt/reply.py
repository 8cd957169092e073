"""The one reply path: conversations in, the persona's cleaned replies out.

    conversation ─► PromptBuilder.build ─► Backend.complete ─► cut to the reply budget
                    (catgpt.prompt)        (the model call)  ─► cut at another speaker's label
                                                             ─► clean_reply
                                                                (catgpt.reply_cleaning)
                                                             ─► copy guard (catgpt.copy_guard)

The bot's engines call it for each request or batch (the console goes through an engine), and
`catgpt-train eval` samples through it, so the figures eval reports describe the replies users
get. The model call is a backend, and one Replier serves either:
- `catgpt.local_backend.LocalBackend`: the weights in this process, called in batches from the
  local engine's worker thread (`replies`);
- `bot.engines.remote.RemoteBackend`: an OpenAI-compatible completions server, awaited on the
  remote engine's event loop (`areplies`; its `complete` serves a synchronous caller).
`replies` and `areplies` drive one sequence of steps (`_steps`): the first draw, then, with the
copy guard, the draws again for the replies that copy; only how the backend is called differs.

The reply budget: a completion is cut to what max_new_tokens tokens can hold (its longest token's
characters each) before anything else reads it. A local model never writes more; a server that
answers megabytes anyway costs the cleaning and the guard milliseconds, not seconds.

No torch here: `catgpt.local_backend.load_replier` builds the local path (and imports torch).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Generator, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Literal, Protocol

from catgpt.folder import PersonaCard
from catgpt.prompt import Conversation, Prompt, PromptBuilder
from catgpt.reply_cleaning import clean_reply, cut_at_turn, turn_pattern

if TYPE_CHECKING:
    from catgpt.copy_guard import CopyGuard

log = logging.getLogger(__name__)

# eos: the model ended its turn; label: it began another speaker's turn (cut there);
# length: max_new_tokens ran out; abort: the caller's should_stop said stop.
Finish = Literal["eos", "label", "length", "abort"]
FALLBACK_TOKEN_CHARS = 64  # characters per token allowed when a tokenizer lists no vocabulary


@dataclass(frozen=True)
class Completion:
    """What a backend wrote after one prompt (special tokens removed), and why it ended."""

    text: str
    finish: Finish


class Backend(Protocol):
    """A model call: prompts in, completions out, in order. One batch per call.

    A backend whose model is asked asynchronously (a server) also has `acomplete`, with the
    same arguments, awaited by `Replier.areplies`."""

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
        self._token_chars = longest_token_chars(prompts.tokenizer)

    @property
    def max_new_tokens(self) -> int:
        return self.backend.max_new_tokens

    @property
    def reply_chars(self) -> int:
        """The most characters max_new_tokens tokens can decode to: what a reply may have."""
        return self.max_new_tokens * self._token_chars

    def replies(
        self,
        conversations: Sequence[Conversation],
        should_stop: Callable[[], bool] | None = None,
        seed: int | None = None,
    ) -> list[Reply]:
        """One reply per conversation, generated as one batch (and, with the copy guard, the
        replies that copy drawn again as a smaller batch)."""
        prompts = [self.prompts.build(c) for c in conversations]
        steps = self._steps(prompts, should_stop)
        asked = next(steps)
        while True:
            completions = self.backend.complete(asked, should_stop=should_stop, seed=seed)
            # No seed for the draws again: they go on from the first one's, so a seeded batch
            # stays reproducible.
            seed = None
            try:
                asked = steps.send(completions)
            except StopIteration as done:
                return done.value

    async def areplies(
        self,
        conversations: Sequence[Conversation],
        should_stop: Callable[[], bool] | None = None,
        seed: int | None = None,
    ) -> list[Reply]:
        """`replies` for a backend asked asynchronously (its `acomplete`): the same steps."""
        prompts = [self.prompts.build(c) for c in conversations]
        steps = self._steps(prompts, should_stop)
        asked = next(steps)
        while True:
            completions = await self.backend.acomplete(asked, should_stop=should_stop, seed=seed)
            seed = None
            try:
                asked = steps.send(completions)
            except StopIteration as done:
                return done.value

    def _steps(
        self, prompts: list[Prompt], should_stop
    ) -> Generator[list[Prompt], list[Completion], list[Reply]]:
        """The reply path's steps, whoever calls the backend: yields the prompts to draw for,
        is sent their completions, returns the replies.

        With the copy guard: draw again, up to guard.retries times, for the replies that copy;
        keep each one's candidate that copies least (the earlier one on a tie)."""
        completions = yield prompts
        replies = [self.finish(p, c) for p, c in zip(prompts, completions, strict=True)]
        guard = self.guard
        if guard is None:
            return replies
        started = time.perf_counter()
        best = [replace(r, copied=guard.copied(r.text)) for r in replies]
        replaced: set[int] = set()  # the replies whose first draw was not the least copying
        for _ in range(guard.retries):
            again = [i for i, reply in enumerate(best) if reply.copied]
            if not again or (should_stop is not None and should_stop()):
                break
            log.debug("copy guard: drawing again for %d of %d replies", len(again), len(best))
            asked = [prompts[i] for i in again]
            completions = yield asked
            drawn = [self.finish(p, c) for p, c in zip(asked, completions, strict=True)]
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

    def finish(self, prompt: Prompt, completion: Completion) -> Reply:
        """One completion of `prompt` as the reply: cut to the reply budget, cut at another
        speaker's label, cleaned."""
        raw, finish = completion.text, completion.finish
        if len(raw) > self.reply_chars:
            # More than max_new_tokens can decode to: a server that ignored max_tokens.
            raw, finish = raw[: self.reply_chars], "length"
        text = cut_at_turn(raw, turn_pattern(prompt.stop_names))
        finish = "label" if text != raw else finish
        return Reply(clean_reply(text, self.card.names), finish)

    def generate(
        self,
        conversations: Sequence[Conversation],
        should_stop: Callable[[], bool] | None = None,
    ) -> list[str]:
        """The reply texts (what the bot's engine asks for)."""
        return [reply.text for reply in self.replies(conversations, should_stop)]


def longest_token_chars(tokenizer) -> int:
    """The most characters one token of `tokenizer` can decode to (at least 1).

    A token's vocabulary string is never shorter than its text: byte-level BPE writes a byte
    per character, SentencePiece a space as one "▁", WordPiece adds "##". Added tokens count
    with their content. A tokenizer that lists no vocabulary gets FALLBACK_TOKEN_CHARS."""
    vocab = tokenizer.get_vocab() if hasattr(tokenizer, "get_vocab") else None
    return max(map(len, vocab), default=1) if vocab else FALLBACK_TOKEN_CHARS
