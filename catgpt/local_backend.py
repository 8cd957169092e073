"""The local backend: a causal LM in this process, prompts in, completions out (batched).

Not thread-safe (a fast tokenizer must not be shared across threads): the bot's engine calls it
from its one worker thread only. Any Hugging Face causal LM folder with a chat template works,
ours (DESIGN.md, contract 5) or anyone's. `load_replier` is the start-up check of a folder too:
every way it cannot serve (no tokenizer, a template that does not render, unreadable weights)
is one ModelFolderError line here, never a traceback per message later.
"""

from __future__ import annotations

import copy
import logging
import pickle
from collections.abc import Callable, Sequence
from pathlib import Path

import torch
from safetensors import SafetensorError
from transformers import AutoModelForCausalLM, StoppingCriteria, StoppingCriteriaList
from transformers.utils import logging as hf_logging

from catgpt import runtime
from catgpt.copy_guard import CopyGuard, load_guard
from catgpt.errors import ModelFolderError
from catgpt.folder import (
    DEFAULT_MAX_NEW_TOKENS,
    PersonaCard,
    generation_defaults,
    load_tokenizer,
    read_card,
)
from catgpt.folder_checks import as_checked
from catgpt.prompt import Prompt, prompt_builder_for
from catgpt.reply import Completion, Replier
from catgpt.reply_cleaning import cut_at_turn, strip_controls, turn_pattern

log = logging.getLogger(__name__)

# What a corrupt or mismatched weights file raises from from_pretrained: a truncated
# safetensors header, a pickle cut short, tensors of the wrong shape, a missing file.
WEIGHT_ERRORS = (
    OSError, ValueError, KeyError, RuntimeError, EOFError, SafetensorError,
    pickle.UnpicklingError,
)  # fmt: skip


class _TurnStop(StoppingCriteria):
    """Per row: stop once the reply starts another speaker's turn; all rows on abort.

    eos already ends a turn (the template puts eos after every turn and the model learned it);
    this catches a model that skips eos and writes `alice: ...` itself. It records the step
    each row stopped at, so the padding generate() writes after a finished row is never read
    as the model's words.

    Not transformers' StopStringCriteria (`stop_strings`): it matches exact, case-sensitive
    strings, one list for the whole batch, with no "after whitespace" rule, leaves the label in
    the reply, and cannot poll the engine's abort flag (checked here every token).
    """

    def __init__(self, tokenizer, prompt_width: int, patterns, should_stop):
        self.tokenizer = tokenizer
        self.prompt_width = prompt_width
        self.patterns = patterns
        self.should_stop = should_stop
        self.stopped_at: list[int | None] = [None] * len(patterns)  # new tokens when it stopped
        self.aborted = False

    def __call__(self, input_ids: torch.Tensor, scores, **kwargs) -> torch.Tensor:
        steps = input_ids.shape[1] - self.prompt_width
        if self.should_stop is not None and self.should_stop():
            self.aborted = True
            return torch.ones(input_ids.shape[0], dtype=torch.bool, device=input_ids.device)
        done = []
        for row, (new, pattern) in enumerate(
            zip(input_ids[:, self.prompt_width :], self.patterns, strict=True)
        ):
            text = strip_controls(self.tokenizer.decode(new, skip_special_tokens=True))
            stop = cut_at_turn(text, pattern) != text
            if stop and self.stopped_at[row] is None:
                self.stopped_at[row] = steps
            done.append(stop)
        return torch.tensor(done, dtype=torch.bool, device=input_ids.device)


class LocalBackend:
    """A causal LM and its tokenizer on one device: prompt ids in, completions out."""

    def __init__(self, model, tokenizer):
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.device = next(model.parameters()).device
        self.generation_config = copy.deepcopy(model.generation_config)
        eos = self.generation_config.eos_token_id
        eos_ids = set(eos if isinstance(eos, list) else [] if eos is None else [eos])
        if tokenizer.eos_token_id is not None:
            eos_ids.add(tokenizer.eos_token_id)
        self.eos_ids = frozenset(eos_ids)
        self.pad_id = tokenizer.pad_token_id
        if self.pad_id is None:
            self.pad_id = tokenizer.eos_token_id if tokenizer.eos_token_id is not None else 0
        self.generation_config.eos_token_id = sorted(eos_ids) or None
        self.generation_config.pad_token_id = self.pad_id
        self.generation_config.max_length = None
        # temperature 0 is greedy, as on an OpenAI-compatible server, and a JSON 2 is 2.0:
        # transformers would refuse both on every reply (catgpt.folder_checks).
        as_checked(self.generation_config)
        self._suppress_pad(tokenizer.pad_token_id)
        self.max_new_tokens = (
            self.generation_config.max_new_tokens or DEFAULT_MAX_NEW_TOKENS
        )
        self.context_window = (
            runtime.context_window(model, tokenizer) or runtime.DEFAULT_CONTEXT_WINDOW
        )

    @property
    def max_new_tokens(self) -> int:
        return self.generation_config.max_new_tokens

    @max_new_tokens.setter
    def max_new_tokens(self, value: int) -> None:
        self.generation_config.max_new_tokens = value

    def _suppress_pad(self, pad_id: int | None) -> None:
        """Never sample the pad token: GPT-2's was added for training and its embedding row is
        random. Folders `train` writes say so in generation_config.json; older ones get it here.
        Not when pad is an eos (a model without a pad token of its own pads with eos)."""
        if pad_id is None or pad_id in self.eos_ids:
            return
        suppressed = list(self.generation_config.suppress_tokens or [])
        if pad_id not in suppressed:
            self.generation_config.suppress_tokens = [*suppressed, pad_id]

    def generate_ids(
        self,
        prompts: Sequence[list[int]],
        stop_names: Sequence[Sequence[str]],
        should_stop: Callable[[], bool] | None = None,
    ) -> tuple[list[list[int]], list[str]]:
        """New token ids per prompt (up to and without eos) and why each ended."""
        width = max(len(p) for p in prompts)
        # By hand, not tokenizer.pad(padding_side="left"): it pads only with the tokenizer's own
        # pad token, and lending one (id 0 when there is no eos) would make a real token special.
        # Left padding: every prompt ends at the same column, where generation starts. (B, T)
        input_ids = torch.tensor([[self.pad_id] * (width - len(p)) + list(p) for p in prompts])
        attention = torch.tensor([[0] * (width - len(p)) + [1] * len(p) for p in prompts])
        stop = _TurnStop(self.tokenizer, width, [turn_pattern(n) for n in stop_names], should_stop)
        with torch.inference_mode():
            output = self.model.generate(
                input_ids=input_ids.to(self.device),
                attention_mask=attention.to(self.device),
                generation_config=self.generation_config,
                stopping_criteria=StoppingCriteriaList([stop]),
            )
        rows, finishes = [], []
        for row, stopped_at in zip(output[:, width:].tolist(), stop.stopped_at, strict=True):
            end = next((i for i, token in enumerate(row) if token in self.eos_ids), None)
            if end is not None and (stopped_at is None or end < stopped_at):
                rows.append(row[:end])
                finishes.append("eos")
            elif stopped_at is not None:
                rows.append(row[:stopped_at])
                finishes.append("label")
            else:  # after the abort flag or at max_new_tokens: generate() padded nothing
                rows.append(row)
                finishes.append("abort" if stop.aborted else "length")
        return rows, finishes

    def complete(
        self,
        prompts: Sequence[Prompt],
        *,
        should_stop: Callable[[], bool] | None = None,
        seed: int | None = None,
    ) -> list[Completion]:
        if seed is not None:
            torch.manual_seed(seed)  # sampling draws from torch's global generator
        rows, finishes = self.generate_ids(
            [p.ids for p in prompts], [p.stop_names for p in prompts], should_stop
        )
        # Without escapes and control characters, so the cut at a label sees what users will.
        return [
            Completion(strip_controls(self.tokenizer.decode(row, skip_special_tokens=True)), finish)
            for row, finish in zip(rows, finishes, strict=True)
        ]


def local_replier(
    model,
    tokenizer,
    card: PersonaCard,
    *,
    max_new_tokens: int | None = None,
    history: int | None = None,
    guard: CopyGuard | None = None,
) -> Replier:
    """The reply path over an already loaded model (what `eval` holds), within the card's bounds.

    max_new_tokens / history: the settings, capped by the trained bounds (catgpt.prompt.limits).
    guard: the copy guard (catgpt.copy_guard); None sends the first draw as it is.
    """
    backend = LocalBackend(model, tokenizer)
    prompts, bounds = prompt_builder_for(
        tokenizer,
        card,
        window=backend.context_window,
        max_new_tokens=backend.max_new_tokens,
        history=history,
        wanted_new_tokens=max_new_tokens,
    )
    backend.max_new_tokens = bounds.max_new_tokens
    return Replier(prompts, backend, card, guard)


def load_model(folder: Path, device: torch.device):
    """The folder's weights on `device`; a corrupt or mismatched file is one clear line."""
    # float32 on the CPU (half precision is slow there); the saved dtype elsewhere.
    dtype = torch.float32 if device.type == "cpu" else "auto"
    try:
        model = AutoModelForCausalLM.from_pretrained(folder, dtype=dtype)
        return model.to(device)
    except torch.OutOfMemoryError:
        raise ModelFolderError(
            f"the model does not fit in {device}'s memory",
            where=str(folder),
            fix="Use another device (CATGPT_DEVICE), or a smaller model.",
        ) from None
    except WEIGHT_ERRORS as error:
        reason = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ModelFolderError(
            f"cannot load the weights ({type(error).__name__}: {reason})",
            where=str(folder),
            fix="Copy the model files again, or train the folder again with `catgpt-train train`.",
        ) from None


def load_replier(
    folder: str | Path,
    *,
    device: str = "auto",
    max_new_tokens: int | None = None,
    history: int | None = None,
    cpu_threads: int | None = None,
    copy_guard: bool = True,
) -> Replier:
    """Load and check a model folder for serving. Blocking (seconds): call it off the event loop.

    copy_guard: draw again a reply that repeats a training reply, whole or a long run of it
    (the folder's copy_index.json; a folder train did not index is served unguarded, with one
    log line; a missing index train wrote, or one of another tokenizer, is a ModelFolderError).

    Raises runtime.DeviceUnavailable for a device this machine lacks, ModelFolderError for a
    folder that cannot serve; checks the cheap things (card, tokenizer, template) before the
    weights.
    """
    folder = Path(folder)
    target = runtime.pick_device(device)
    if cpu_threads and target.type == "cpu":
        # Process-wide. On a small or shared CPU fewer threads can be faster: OpenMP
        # threads spin while they wait, and the event loop needs some CPU too.
        torch.set_num_threads(cpu_threads)
    # Progress bars are for notebooks; here they would land in the logs or the console chat.
    hf_logging.disable_progress_bar()
    card = read_card(folder)
    # Checked here, before the weights: transformers reads the file while loading them and
    # would report a bad value (max_new_tokens 0) as damaged weights, or pass it on to fail
    # every reply (top_k "fifty").
    generation_defaults(folder)
    tokenizer = load_tokenizer(folder)
    if copy_guard:
        guard = load_guard(folder, tokenizer)  # before the weights: a damaged index is cheap
    else:
        guard = None
        log.info("copy guard off: replies may repeat training messages word for word")
    model = load_model(folder, target)
    try:
        replier = local_replier(
            model, tokenizer, card, max_new_tokens=max_new_tokens, history=history, guard=guard
        )
    except ModelFolderError as error:
        # Say which folder (and file in it) cannot be served.
        error.where = str(folder / error.where) if error.where else str(folder)
        raise
    log.info(
        "loaded %s (%s, persona %r) on %s; prompts of at most %d tokens%s, replies of %d",
        folder, type(model).__name__, card.name, target, replier.prompts.max_tokens,
        f" and {replier.prompts.max_turns} turns" if replier.prompts.max_turns else "",
        replier.max_new_tokens,
    )  # fmt: skip
    return replier
