"""A conversation -> the prompt the model reads, bounded by the context it was trained on.

    [{"role": "user", "name": "alice", "content": "hi"}, ...]   (chat dicts, oldest first)
        -> the last `max_turns` turns (the bot's are shaped to fit already: catgpt/turns.py)
        -> the chat template, add_generation_prompt      alice: hi<eos>mochi:
        -> token ids, whole oldest turns dropped until they fit `max_tokens`

Training writes examples of at most `max_length` tokens (context *and* reply) with at most
`context_turns` turns of context (catgpt.json "context"), and cuts a long one from the left at a
turn boundary (training/model/features.py left_cut). The prompt here gets the same bounds:
`max_length - max_new_tokens` tokens, cut the same way, so the bot never shows the model more
context than it learned from (a test compares the ids with training's).

Needs only a tokenizer (any `PreTrainedTokenizerBase`): no torch, so a bot that sends prompts to
an inference server renders them with this module without loading torch.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass

from jinja2 import TemplateError

from catgpt.errors import ModelFolderError
from catgpt.folder import PersonaCard
from catgpt.labels import speaker_label
from catgpt.turns import context_turns_for

log = logging.getLogger(__name__)

Conversation = Sequence[dict]

# Fewer tokens than this for the prompt is no conversation at all: a setup error, said at load.
MIN_PROMPT_TOKENS = 8
# Rendered once at load time: a template that cannot write this cannot serve anyone.
PROBE = (
    {"role": "user", "name": "alice", "content": "hi there"},
    {"role": "assistant", "content": "hello"},
    {"role": "user", "name": "bob", "content": "what are you up to?"},
)


@dataclass(frozen=True)
class Prompt:
    """One rendered prompt: token ids for a local model, text for an inference server."""

    ids: list[int]
    text: str
    stop_names: tuple[str, ...]  # the labels that start another turn (see cleaning.turn_pattern)
    own_names: tuple[str, ...] = ()  # which of them are the persona's (see stop_strings)

    @property
    def stop_strings(self) -> list[str]:
        """Exact stop strings for a server's `stop`: a label after a newline or a space.

        Only a hint that saves tokens (the reply is cut with turn_pattern afterwards), so it
        must never stop where that cut would not: the persona's own names get no " name:" form,
        since a model often opens its reply with its own label (" mochi: hi"), which the cut
        leaves and the cleaning strips; a server stopping there would leave nothing.
        """
        own = {name.casefold() for name in self.own_names}
        return [
            f"{gap}{name}:"
            for name in self.stop_names
            for gap in ("\n", " ")
            if gap == "\n" or name.casefold() not in own
        ]


@dataclass(frozen=True)
class Limits:
    """How much the model reads and writes: the trained bounds, lowered by the settings."""

    max_new_tokens: int
    prompt_tokens: int  # the prompt's budget: the trained length (or window) less the reply's
    turns: int | None  # turns of context at most; None: no bound but the tokens


def limits(
    card: PersonaCard,
    *,
    window: int,
    max_new_tokens: int,
    history: int | None = None,
    wanted_new_tokens: int | None = None,
) -> Limits:
    """Settings may lower the trained bounds, never exceed them: a larger one is capped (logged).

    window: the model's context window. max_new_tokens: the folder's own reply length.
    history / wanted_new_tokens: the settings (CATGPT_HISTORY, CATGPT_MAX_NEW_TOKENS), or None.
    A folder without trained bounds (foreign, or older than catgpt.json's "context") is bounded
    by the window alone, as before, and a reply that leaves no room for a prompt is an error.
    """
    length = min(card.max_length, window) if card.max_length else window
    new_tokens = wanted_new_tokens or max_new_tokens
    if card.max_length and new_tokens > length - MIN_PROMPT_TOKENS:
        capped = max(1, length - MIN_PROMPT_TOKENS)
        log.warning(
            "max_new_tokens %d is more than the %d-token examples this model was trained on "
            "allow: using %d", new_tokens, length, capped,
        )  # fmt: skip
        new_tokens = capped
    if length - new_tokens < MIN_PROMPT_TOKENS:
        raise ModelFolderError(
            f"max_new_tokens {new_tokens} leaves no room for a prompt in a {length}-token context",
            fix="Lower CATGPT_MAX_NEW_TOKENS.",
        )
    # The one rule the bot's context assembly uses too (PersonaCard.shape), so a conversation
    # it shaped (catgpt/turns.py, reply chain in front) is never cut again here.
    turns = context_turns_for(card.context_turns, history)
    if card.context_turns and history and history > card.context_turns:
        # INFO, not a warning: CATGPT_HISTORY's default (20) is above most trained bounds, so
        # every start would warn; the cap is what the setting's docs promise.
        log.info(
            "a history of %d turns is more than the %d this model was trained with: using %d",
            history, turns, turns,
        )  # fmt: skip
    return Limits(max_new_tokens=new_tokens, prompt_tokens=length - new_tokens, turns=turns)


def prompt_builder_for(
    tokenizer,
    card: PersonaCard,
    *,
    window: int,
    max_new_tokens: int,
    history: int | None = None,
    wanted_new_tokens: int | None = None,
) -> tuple[PromptBuilder, Limits]:
    """The persona's prompt builder within `limits(...)`, its template checked; and the limits.

    The one construction for both backends: the local one passes the loaded model's window
    and reply length, the remote one config.json's and generation_config.json's (catgpt.folder),
    so a server serving the folder reads the same prompt as the weights loaded here would.
    """
    bounds = limits(
        card,
        window=window,
        max_new_tokens=max_new_tokens,
        history=history,
        wanted_new_tokens=wanted_new_tokens,
    )
    prompts = PromptBuilder(
        tokenizer,
        persona_names=card.names,
        max_tokens=bounds.prompt_tokens,
        max_turns=bounds.turns,
    )
    prompts.probe()
    return prompts, bounds


class PromptBuilder:
    """Renders conversations for one tokenizer and persona within fixed limits."""

    def __init__(
        self,
        tokenizer,
        *,
        persona_names: Sequence[str],
        max_tokens: int,
        max_turns: int | None = None,
    ):
        template = getattr(tokenizer, "chat_template", None)
        if isinstance(template, dict):  # several named templates: apply_chat_template's default
            template = template.get("default")
        if not template:
            raise ModelFolderError(
                "the tokenizer has no chat template",
                fix="Serve a folder written by `catgpt-train train` (it writes "
                "chat_template.jinja), or add a chat template to this model.",
            )
        if max_tokens < 1 or (max_turns is not None and max_turns < 1):
            raise ValueError("max_tokens and max_turns must be at least 1")
        self.tokenizer = tokenizer
        self.persona_names = tuple(persona_names)
        self.max_tokens = max_tokens
        self.max_turns = max_turns
        # Foreign templates (ChatML, Llama) ignore `name`; then the name goes into the text.
        self._template_uses_names = "name" in str(template)

    def probe(self) -> None:
        """Render a small conversation now: a broken template is refused at load, not per reply."""
        try:
            self.build(PROBE)
        except (TemplateError, ValueError, TypeError) as error:
            raise ModelFolderError(
                f"the chat template does not render ({type(error).__name__}: {error})",
                where="chat_template.jinja",
                fix="Fix the template, or train the folder again with `catgpt-train train`.",
            ) from None

    def build(self, messages: Conversation) -> Prompt:
        """The prompt for the persona's reply to `messages`.

        A conversation longer than `max_turns` keeps its last ones. The bot's never is: it is
        shaped by catgpt/turns.py to the same bound (PersonaCard.shape and `limits` share
        context_turns_for), with its reply chain in front, which a cut here would drop first.
        """
        if not messages:
            raise ValueError("a conversation needs at least one message")
        kept = list(messages)[-self.max_turns :] if self.max_turns else list(messages)
        ids = self._fit(kept)
        text = self.tokenizer.decode(ids)
        return Prompt(
            ids=ids, text=text, stop_names=self.stop_names(messages), own_names=self.persona_names
        )

    def stop_names(self, messages: Conversation) -> tuple[str, ...]:
        """The persona's names and every speaker's label: a new turn starts with one of them."""
        names = [*self.persona_names]
        names += [speaker_label(m["name"]) for m in messages if m.get("name")]
        return tuple(dict.fromkeys(names))

    def render(self, messages: Conversation) -> list[int]:
        """Token ids of `messages` and the persona's label, uncut."""
        messages = list(messages)
        if not self._template_uses_names:
            messages = [_inline_name(m) for m in messages]
        try:
            text = self.tokenizer.apply_chat_template(
                messages, add_generation_prompt=True, tokenize=False
            )
        except TemplateError:
            # Strict templates (Llama 2, Gemma) raise unless user/assistant alternate;
            # a Discord channel never does.
            text = self.tokenizer.apply_chat_template(
                _alternate(messages), add_generation_prompt=True, tokenize=False
            )
        # The template already wrote any special tokens it wants (as apply_chat_template's own
        # tokenize=True does, which training uses).
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def _fit(self, messages: list[dict]) -> list[int]:
        """Drop the oldest whole turns until the rest fits; one turn too long keeps its end.

        With our template each turn ends with eos, so this is training's left_cut: the first
        turn boundary that fits, else the newest `max_tokens` tokens.
        """
        ids = self.render(messages)
        if len(ids) <= self.max_tokens:
            return ids
        # Binary search for the fewest dropped turns: the length only shrinks as turns go.
        low, high, best = 1, len(messages) - 1, None
        while low <= high:
            middle = (low + high) // 2
            candidate = self.render(messages[middle:])
            if len(candidate) <= self.max_tokens:
                best, high = candidate, middle - 1
            else:
                low = middle + 1
        if best is None:
            best = self.render(messages[-1:])
        # One turn longer than the whole budget: keep its end (the newest words).
        return best[-self.max_tokens :]


def _inline_name(message: dict) -> dict:
    name = message.get("name")
    if message.get("role") != "user" or not name:
        return message
    return {"role": "user", "content": f"{speaker_label(name)}: {message['content']}"}


def _alternate(messages: list[dict]) -> list[dict]:
    """Merge runs of one role and start with a user turn, for templates that insist."""
    merged: list[dict] = []
    for message in messages:
        role = "assistant" if message.get("role") == "assistant" else "user"
        content = message["content"]
        if role == "user" and message.get("name"):
            content = f"{speaker_label(message['name'])}: {content}"
        if merged and merged[-1]["role"] == role:
            merged[-1]["content"] += "\n" + content
        else:
            merged.append({"role": role, "content": content})
    if merged and merged[0]["role"] == "assistant":
        merged.pop(0)
    return merged or [{"role": "user", "content": ""}]
