"""The one reply path: conversations in, the persona's cleaned replies out.

    conversation ─► PromptBuilder.build ─► Backend.complete ─► cut at another speaker's label
                    (catgpt.prompt)        (the model call)     ─► clean_reply (catgpt.cleaning)

The bot's engine calls it for each batch (the console goes through the engine), and
`catgpt-train eval` samples through it, so the figures eval reports describe the replies users
get. The model call is a backend: `catgpt.generator.LocalBackend` (the weights in this process),
called in batches from the engine's worker thread. An OpenAI-compatible completions server is
asked asynchronously, one request at a time, by bot.remote_engine: it holds a Replier over a
CallerBackend, builds each prompt with `prompts`, sends the Prompt's text and stop strings, and
ends the completion with `finish`, the same last step `replies` takes per row. Prompt building
and cleaning do not change with the backend.

No torch here: `catgpt.generator.load_replier` builds the local path (and imports torch).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol

from catgpt.cleaning import clean_reply, cut_at_turn, turn_pattern
from catgpt.folder import PersonaCard
from catgpt.prompt import Conversation, Prompt, PromptBuilder

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


class Replier:
    """Prompt building, one backend, and reply cleaning, for one persona."""

    def __init__(self, prompts: PromptBuilder, backend: Backend, card: PersonaCard):
        self.prompts = prompts
        self.backend = backend
        self.card = card

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
        """One reply per conversation, generated as one batch."""
        prompts = [self.prompts.build(c) for c in conversations]
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
