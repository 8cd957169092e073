"""One model folder turned into a text generator: load, format, truncate, generate, cut.

Not thread-safe (a fast tokenizer must not be shared across threads): the engine calls it from
its one worker thread only. No discord import; any Hugging Face causal LM folder with a chat
template works, ours (DESIGN.md, contract 5) or anyone's.
"""

from __future__ import annotations

import copy
import json
import logging
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from jinja2 import TemplateError
from transformers import (
    AutoModelForCausalLM,
    AutoTokenizer,
    StoppingCriteria,
    StoppingCriteriaList,
)
from transformers.utils import logging as hf_logging

from bot.errors import ModelLoadError
from catgpt import runtime
from catgpt.labels import speaker_label

log = logging.getLogger(__name__)

DEFAULT_MAX_NEW_TOKENS = 64
Conversation = Sequence[dict]


def pick_device(name: str = "auto") -> torch.device:
    """CATGPT_DEVICE as a torch device; an accelerator this machine lacks is a clear error."""
    try:
        return runtime.pick_device(name)
    except runtime.DeviceUnavailable as error:
        raise ModelLoadError(str(error), where="CATGPT_DEVICE", fix="Use auto or cpu.") from None


def read_persona(folder: Path) -> tuple[str, tuple[str, ...]]:
    """The persona's name and aliases from `catgpt.json`; `assistant` for a foreign model."""
    card = folder / "catgpt.json"
    if not card.is_file():
        return "assistant", ()
    try:
        persona = json.loads(card.read_text(encoding="utf-8")).get("persona") or {}
    except (OSError, ValueError, AttributeError) as error:
        raise ModelLoadError(f"unreadable catgpt.json ({error})", where=str(card)) from None
    if isinstance(persona, str):  # tolerate the short form {"persona": "mochi"}
        persona = {"name": persona}
    name = str(persona.get("name") or "assistant")
    aliases = tuple(str(a) for a in persona.get("aliases") or () if str(a).strip())
    return name, aliases


class _TurnStop(StoppingCriteria):
    """Per row: stop once the reply starts another speaker's turn; all rows on abort.

    eos already ends a turn (the template puts eos after every turn and the model learned it);
    this catches a model that skips eos and writes `alice: ...` itself.

    Not transformers' StopStringCriteria (`stop_strings`): it matches exact, case-sensitive
    strings, one list for the whole batch, with no "after whitespace" rule, leaves the label in
    the reply, and cannot poll the engine's abort flag (checked here every token).
    """

    def __init__(self, tokenizer, prompt_width: int, patterns, should_stop):
        self.tokenizer = tokenizer
        self.prompt_width = prompt_width
        self.patterns = patterns
        self.should_stop = should_stop

    def __call__(self, input_ids: torch.Tensor, scores, **kwargs) -> torch.Tensor:
        if self.should_stop is not None and self.should_stop():
            return torch.ones(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
        done = []
        for row, pattern in zip(input_ids[:, self.prompt_width :], self.patterns, strict=True):
            text = self.tokenizer.decode(row, skip_special_tokens=True)
            done.append(cut_at_turn(text, pattern) != text)
        return torch.tensor(done, dtype=torch.bool, device=input_ids.device)


def turn_pattern(names: Sequence[str]) -> re.Pattern:
    """`<whitespace>name:` for any speaker of the conversation: where a new turn begins."""
    alternatives = "|".join(re.escape(n) for n in sorted(set(names), key=len, reverse=True) if n)
    return re.compile(rf"\s(?:{alternatives}):", re.IGNORECASE)


def cut_at_turn(text: str, pattern: re.Pattern) -> str:
    # A label at the very start is the persona's own prefix; sanitize strips that.
    stripped = text.lstrip()
    match = pattern.search(stripped)
    return stripped[: match.start()] if match else text


class HFGenerator:
    """A causal LM and its tokenizer: conversations in, reply texts out (batched, left-padded)."""

    def __init__(
        self,
        model,
        tokenizer,
        *,
        persona: str = "assistant",
        aliases: Sequence[str] = (),
        max_new_tokens: int | None = None,
    ):
        if not getattr(tokenizer, "chat_template", None):
            raise ModelLoadError(
                "the tokenizer has no chat template",
                fix="Serve a folder written by `catgpt-train train` (it writes "
                "chat_template.jinja), or add a chat template to this model.",
            )
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.persona = persona
        self.aliases = tuple(aliases)
        self.device = next(model.parameters()).device
        self.generation_config = copy.deepcopy(model.generation_config)
        self.max_new_tokens = (
            max_new_tokens or self.generation_config.max_new_tokens or DEFAULT_MAX_NEW_TOKENS
        )
        self.context_window = (
            runtime.context_window(model, tokenizer) or runtime.DEFAULT_CONTEXT_WINDOW
        )
        # The prompt gets what the reply does not need.
        self.prompt_budget = self.context_window - self.max_new_tokens
        if self.prompt_budget < 8:
            raise ModelLoadError(
                f"max_new_tokens {self.max_new_tokens} leaves no room for a prompt in a "
                f"{self.context_window}-token context",
                fix="Lower CATGPT_MAX_NEW_TOKENS.",
            )
        eos = self.generation_config.eos_token_id
        eos_ids = set(eos if isinstance(eos, list) else [] if eos is None else [eos])
        if tokenizer.eos_token_id is not None:
            eos_ids.add(tokenizer.eos_token_id)
        self.pad_id = tokenizer.pad_token_id
        if self.pad_id is None:
            self.pad_id = tokenizer.eos_token_id if tokenizer.eos_token_id is not None else 0
        self.generation_config.eos_token_id = sorted(eos_ids) or None
        self.generation_config.pad_token_id = self.pad_id
        self.generation_config.max_new_tokens = self.max_new_tokens
        self.generation_config.max_length = None
        # Foreign templates (ChatML, Llama) ignore `name`; then the name goes into the text.
        template = tokenizer.chat_template
        if isinstance(template, dict):  # several named templates: apply_chat_template's default
            template = template.get("default", "")
        self._template_uses_names = "name" in str(template)

    @classmethod
    def load(
        cls,
        folder: str | Path,
        *,
        device: str = "auto",
        max_new_tokens: int | None = None,
        cpu_threads: int | None = None,
    ) -> HFGenerator:
        """Blocking (seconds): call it off the event loop."""
        folder = Path(folder)
        target = pick_device(device)
        if cpu_threads and target.type == "cpu":
            # Process-wide. On a small or shared CPU fewer threads can be faster: OpenMP
            # threads spin while they wait, and the event loop needs some CPU too.
            torch.set_num_threads(cpu_threads)
        # Progress bars are for notebooks; here they would land in the logs or the console chat.
        hf_logging.disable_progress_bar()
        persona, aliases = read_persona(folder)
        try:
            tokenizer = AutoTokenizer.from_pretrained(folder)
            # float32 on the CPU (half precision is slow there); the saved dtype elsewhere.
            dtype = torch.float32 if target.type == "cpu" else "auto"
            model = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype)
        except (OSError, ValueError) as error:
            raise ModelLoadError(f"cannot load the model ({error})", where=str(folder)) from None
        model.to(target)
        log.info(
            "loaded %s (%s, persona %r) on %s",
            folder,
            type(model).__name__,
            persona,
            target,
        )
        try:
            return cls(
                model, tokenizer, persona=persona, aliases=aliases, max_new_tokens=max_new_tokens
            )
        except ModelLoadError as error:
            error.where = error.where or str(folder)  # say which folder cannot be served
            raise

    # ---- prompts -------------------------------------------------------------------------

    def _render(self, messages: Conversation) -> list[int]:
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
        # The template already wrote any special tokens it wants.
        return self.tokenizer(text, add_special_tokens=False)["input_ids"]

    def prompt_ids(self, messages: Conversation) -> list[int]:
        """Token ids of the prompt, dropping the oldest turns until it fits the budget."""
        if not messages:
            raise ValueError("a conversation needs at least one message")
        ids = self._render(messages)
        if len(ids) <= self.prompt_budget:
            return ids
        # Binary search for the fewest dropped turns: the length only shrinks as turns go.
        low, high, best = 1, len(messages) - 1, None
        while low <= high:
            middle = (low + high) // 2
            candidate = self._render(messages[middle:])
            if len(candidate) <= self.prompt_budget:
                best, high = candidate, middle - 1
            else:
                low = middle + 1
        if best is None:
            best = self._render(messages[-1:])
        # One turn longer than the whole budget: keep its end (the newest words).
        return best[-self.prompt_budget :]

    def stop_names(self, messages: Conversation) -> list[str]:
        names = [self.persona, *self.aliases]
        names += [speaker_label(m["name"]) for m in messages if m.get("name")]
        return names

    # ---- generation ----------------------------------------------------------------------

    def generate(
        self,
        conversations: Sequence[Conversation],
        should_stop: Callable[[], bool] | None = None,
    ) -> list[str]:
        """One reply text per conversation, generated as one left-padded batch."""
        prompts = [self.prompt_ids(c) for c in conversations]
        patterns = [turn_pattern(self.stop_names(c)) for c in conversations]
        width = max(len(p) for p in prompts)
        # By hand, not tokenizer.pad(padding_side="left"): it pads only with the tokenizer's own
        # pad token, and lending one (id 0 when there is no eos) would make a real token special.
        input_ids = torch.tensor([[self.pad_id] * (width - len(p)) + p for p in prompts])
        attention = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts])
        stop = _TurnStop(self.tokenizer, width, patterns, should_stop)
        with torch.inference_mode():
            output = self.model.generate(
                input_ids=input_ids.to(self.device),
                attention_mask=attention.to(self.device),
                generation_config=self.generation_config,
                stopping_criteria=StoppingCriteriaList([stop]),
            )
        replies = []
        for row, pattern in zip(output[:, width:].tolist(), patterns, strict=True):
            text = self.tokenizer.decode(row, skip_special_tokens=True)
            replies.append(cut_at_turn(text, pattern).strip())
        return replies


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
