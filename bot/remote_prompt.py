"""ADAPTER, to be replaced at merge by catgpt/prompt.py (rendering) and catgpt/cleaning.py.

A conversation rendered to prompt text with only the model folder's tokenizer and chat
template, bounded by the model's context window, plus the turn cut, without torch. It repeats
what bot/generator.py does today (HFGenerator._render / prompt_ids / stop_names, turn_pattern,
cut_at_turn, read_persona), because that module imports torch at the top and the remote
backend must not. Nothing else here: when the shared discord-free reply path lands, the remote
engine calls it instead and this file is deleted.

Differences from bot/generator.py, all deliberate and small: the tokenizer is loaded as
PreTrainedTokenizerFast (AutoTokenizer imports torch), the context window is read from
config.json (catgpt.runtime.context_window needs the loaded model) and the prompt is returned
as text, since completion servers take text.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Sequence
from pathlib import Path

from jinja2 import TemplateError

from bot.errors import ModelLoadError
from catgpt.labels import speaker_label

log = logging.getLogger(__name__)

DEFAULT_MAX_NEW_TOKENS = 64  # bot/generator.py's
# catgpt/runtime.py's (which imports torch): where a config states its window, in this order.
WINDOW_ATTRIBUTES = ("max_position_embeddings", "n_positions", "n_ctx", "seq_length")
NO_TOKENIZER_LIMIT = 1_000_000
DEFAULT_CONTEXT_WINDOW = 2048


def read_json(path: Path) -> dict:
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ModelLoadError(f"unreadable {path.name} ({error})", where=str(path)) from None
    return data if isinstance(data, dict) else {}


def read_persona(folder: Path) -> tuple[str, tuple[str, ...]]:
    """The persona's name and aliases from `catgpt.json`; `assistant` for a foreign model."""
    persona = read_json(folder / "catgpt.json").get("persona") or {}
    if isinstance(persona, str):
        persona = {"name": persona}
    name = str(persona.get("name") or "assistant")
    aliases = tuple(str(a) for a in persona.get("aliases") or () if str(a).strip())
    return name, aliases


def context_window(folder: Path, tokenizer) -> int:
    config = read_json(folder / "config.json")
    config = {**config, **(config.get("text_config") or {})}  # multimodal configs nest it
    for key in WINDOW_ATTRIBUTES:
        value = config.get(key)
        if isinstance(value, int) and value > 0:
            return value
    limit = getattr(tokenizer, "model_max_length", None)
    if isinstance(limit, int) and 0 < limit < NO_TOKENIZER_LIMIT:
        return limit
    return DEFAULT_CONTEXT_WINDOW


def turn_pattern(names: Sequence[str]) -> re.Pattern:
    """`<whitespace>name:` for any speaker of the conversation: where a new turn begins."""
    alternatives = "|".join(re.escape(n) for n in sorted(set(names), key=len, reverse=True) if n)
    return re.compile(rf"\s(?:{alternatives}):", re.IGNORECASE)


def cut_at_turn(text: str, pattern: re.Pattern) -> str:
    stripped = text.lstrip()
    match = pattern.search(stripped)
    return stripped[: match.start()] if match else text


class FolderPrompt:
    """A model folder's tokenizer and template: conversations in, prompt text out."""

    def __init__(self, folder: str | Path, *, max_new_tokens: int | None = None):
        from transformers import PreTrainedTokenizerFast  # tokenizers + jinja; no torch

        folder = Path(folder)
        self.folder = folder
        self.persona, self.aliases = read_persona(folder)
        if not (folder / "tokenizer.json").is_file():
            raise ModelLoadError(
                "no tokenizer.json (the remote backend needs a fast tokenizer)",
                where=str(folder),
                fix="Save the tokenizer with a recent transformers, or use CATGPT_BACKEND=local.",
            )
        try:
            self.tokenizer = PreTrainedTokenizerFast.from_pretrained(folder)
        except (OSError, ValueError) as error:
            raise ModelLoadError(
                f"cannot load the tokenizer ({error})", where=str(folder)
            ) from None
        template = self.tokenizer.chat_template
        if not template:
            raise ModelLoadError(
                "the tokenizer has no chat template",
                where=str(folder),
                fix="Serve a folder written by `catgpt-train train` (it writes "
                "chat_template.jinja), or add a chat template to this model.",
            )
        if isinstance(template, dict):
            template = template.get("default", "")
        self._template_uses_names = "name" in str(template)
        self.generation_config = read_json(folder / "generation_config.json")
        self.max_new_tokens = (
            max_new_tokens or self.generation_config.get("max_new_tokens") or DEFAULT_MAX_NEW_TOKENS
        )
        self.context_window = context_window(folder, self.tokenizer)
        # The server tokenizes the text with the tokenizer's defaults (a BOS for some models).
        added = len(self.tokenizer("")["input_ids"])
        self.prompt_budget = self.context_window - self.max_new_tokens - added
        if self.prompt_budget < 8:
            raise ModelLoadError(
                f"max_new_tokens {self.max_new_tokens} leaves no room for a prompt in a "
                f"{self.context_window}-token context",
                where=str(folder),
                fix="Lower CATGPT_MAX_NEW_TOKENS.",
            )

    @property
    def eos_token(self) -> str | None:
        return self.tokenizer.eos_token

    def _text(self, messages: Sequence[dict]) -> str:
        messages = list(messages)
        if not self._template_uses_names:
            messages = [_inline_name(m) for m in messages]
        try:
            return self.tokenizer.apply_chat_template(
                messages, add_generation_prompt=True, tokenize=False
            )
        except TemplateError:
            return self.tokenizer.apply_chat_template(
                _alternate(messages), add_generation_prompt=True, tokenize=False
            )

    def _ids(self, text: str) -> list[int]:
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def render(self, messages: Sequence[dict]) -> str:
        """The prompt text, dropping the oldest turns until it fits the budget."""
        if not messages:
            raise ValueError("a conversation needs at least one message")
        text = self._text(messages)
        if len(self._ids(text)) <= self.prompt_budget:
            return text
        low, high, best = 1, len(messages) - 1, None
        while low <= high:
            middle = (low + high) // 2
            candidate = self._text(messages[middle:])
            if len(self._ids(candidate)) <= self.prompt_budget:
                best, high = candidate, middle - 1
            else:
                low = middle + 1
        if best is not None:
            return best
        # One turn longer than the whole budget: keep its end (the newest words). Decoded text
        # can re-tokenize a little longer than the ids it came from, so trim until it fits.
        ids = self._ids(self._text(messages[-1:]))
        keep = self.prompt_budget
        while True:
            text = self.tokenizer.decode(ids[-keep:], skip_special_tokens=False)
            if len(self._ids(text)) <= self.prompt_budget or keep <= 8:
                return text
            keep -= 8

    def stop_names(self, messages: Sequence[dict]) -> list[str]:
        names = [self.persona, *self.aliases]
        names += [speaker_label(m["name"]) for m in messages if m.get("name")]
        return names


def _inline_name(message: dict) -> dict:
    name = message.get("name")
    if message.get("role") != "user" or not name:
        return message
    return {"role": "user", "content": f"{speaker_label(name)}: {message['content']}"}


def _alternate(messages: list[dict]) -> list[dict]:
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
