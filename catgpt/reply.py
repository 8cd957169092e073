"""The one reply path: conversations in, the persona's cleaned replies out.

    conversation ─► PromptBuilder.build ─► Backend.complete ─► cut at another speaker's label
                    (catgpt.prompt)        (the model call)     ─► clean_reply (catgpt.cleaning)

The bot's engine calls it for each batch (the console goes through the engine), and
`catgpt-train eval` samples through it, so the figures eval reports describe the replies users
get. The model call is a backend: `catgpt.generator.LocalBackend` (the weights in this process);
an OpenAI-compatible completions server fits the same seam, since a Prompt carries its text and
stop strings and a Completion is text plus why it ended. Prompt building and cleaning do not
change with the backend.

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
        replies = []
        for prompt, completion in zip(prompts, completions, strict=True):
            text = cut_at_turn(completion.text, turn_pattern(prompt.stop_names))
            finish = "label" if text != completion.text else completion.finish
            replies.append(Reply(clean_reply(text, self.card.names), finish))
        return replies

    def generate(
        self,
        conversations: Sequence[Conversation],
        should_stop: Callable[[], bool] | None = None,
    ) -> list[str]:
        """The reply texts (what the bot's engine asks for)."""
        return [reply.text for reply in self.replies(conversations, should_stop)]

