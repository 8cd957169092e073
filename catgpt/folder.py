"""What a model folder says about itself, read the same way by the bot and by `eval`.

`catgpt.json` (DESIGN.md, contract 4) carries the persona card and the context the model was
trained on:

    {"persona": {"name": "mochi", "aliases": [...], "account_ids": [...]},
     "context": {"max_length": 512, "context_turns": 8, "merge_window_s": 300, "gap_s": 3600},
     "dataset": {"stats": {"speaking": {"after_others": {"within_1m": 0.31, ...}}, ...}},
     ...}

`dataset.last_persona_message` (a day, "YYYY-MM-DD") is when the newest persona message the
model was trained on was sent (older folders: none; `/catgpt about` then says an unknown date).

`max_length` is the longest training example in tokens (context *and* reply); `context_turns`
the most turns of context before a reply; `merge_window_s` and `gap_s` how prepare made turns
and conversations of the messages (catgpt/turns.py: the bot makes its context the same way).
Folders written before "context" existed recorded the same numbers under "dataset" (max_length,
stats.options.context_turns, .merge_window_s, .gap_s); they are read from there, and a folder
that says nothing gets prepare's defaults. "speaking" is how often the persona spoke after
others' turns (catgpt/speaking.py): what the bot samples in free-talk channels; stats.json's
whole block, copied by `train` into "dataset"."stats".
A foreign folder has no catgpt.json: the persona is `assistant` and nothing bounds the context
but the model's own window.

The folder's own numbers are read here too, from its JSON files, so a bot that only sends
prompts to an inference server gets the same bounds as one that loads the weights: the context
window (`config_window`, the one reading of it: catgpt.runtime.context_window applies it to a
loaded model's config, `folder_window` to config.json) and the reply length
(generation_config.json's max_new_tokens).

No torch here: `load_tokenizer` imports transformers' AutoTokenizer (which pulls torch) only
when called; `load_fast_tokenizer` (PreTrainedTokenizerFast: tokenizers and jinja) never does.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

from catgpt.errors import ModelFolderError
from catgpt.folder_checks import (
    CATGPT_JSON,
    GENERATION_JSON,
    LAST_MESSAGE,
    check_card,
    generation_settings,
    section,
)
from catgpt.speaking import IMMEDIATE
from catgpt.turns import DEFAULT_GAP, DEFAULT_MERGE_WINDOW, TurnShape, context_turns_for

CONFIG_JSON = "config.json"
# Read from the model config in this order (its text_config too, where a multimodal model nests
# it), then from the tokenizer's model_max_length.
WINDOW_ATTRIBUTES = ("max_position_embeddings", "n_positions", "n_ctx", "seq_length")
# Tokenizers without a limit report a huge sentinel (int(1e30)); that is no window.
NO_TOKENIZER_LIMIT = 1_000_000
# What the bot assumes when nothing states a window (training then keeps --max-length as given).
DEFAULT_CONTEXT_WINDOW = 2048
# A reply's length in tokens when neither the settings nor generation_config.json say.
DEFAULT_MAX_NEW_TOKENS = 64
# What a tokenizer is saved as: fast (tokenizer.json), SentencePiece, BPE vocab (+ merges),
# WordPiece, tiktoken. A folder with none of them loads as an empty tokenizer that encodes every
# text to nothing (then every reply is the fallback line): refused at load time instead.
TOKENIZER_FILES = (
    "tokenizer.json",
    "tokenizer.model",
    "spiece.model",
    "sentencepiece.bpe.model",
    "vocab.json",
    "vocab.txt",
    "tokenizer.tiktoken",
    "tekken.json",
)


@dataclass(frozen=True)
class PersonaCard:
    """The persona a folder serves and the context bounds it was trained with."""

    name: str = "assistant"
    aliases: tuple[str, ...] = ()
    account_ids: tuple[str, ...] = ()
    max_length: int | None = None  # tokens of context + reply in the longest training example
    context_turns: int | None = None  # turns of context before a reply, at most
    # How prepare made turns and conversations (catgpt/turns.py); its defaults when unrecorded.
    merge_window: timedelta = DEFAULT_MERGE_WINDOW
    gap: timedelta = DEFAULT_GAP
    # The day of the newest persona message trained on (UTC); None when the folder does not say.
    last_message: date | None = None
    # prepare's speaking rate (catgpt/speaking.py): (bucket, share) pairs; () when unrecorded.
    speaking: tuple[tuple[str, float], ...] = ()

    @property
    def free_talk_rate(self) -> float | None:
        """The share of others' turns the persona answered within a minute: how often a bot
        that answers at once speaks unasked (bot/free_talk.py); None when not recorded."""
        return dict(self.speaking).get(IMMEDIATE)

    def shape(self, history: int | None = None) -> TurnShape:
        """The conversation shape a reply is read in: the trained one, its context lowered
        (never raised) by CATGPT_HISTORY; with neither, prepare's default number of turns."""
        turns = context_turns_for(self.context_turns, history)
        return TurnShape(self.merge_window, self.gap, turns or TurnShape.context_turns)

    @property
    def names(self) -> tuple[str, ...]:
        """Every name the persona goes by: stop labels, and stripped from the front of replies."""
        return (self.name, *self.aliases)


def _positive(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def card_from_dict(card: dict) -> PersonaCard:
    """A PersonaCard from catgpt.json's content (what `eval` already holds as a dict).

    Checked first (catgpt.folder_checks.check_card owns every rule): a bad value is a
    ModelFolderError, so what is read here is either absent (null included) or usable.
    """
    check_card(card)
    persona = card.get("persona") or {}
    if isinstance(persona, str):  # the short form {"persona": "mochi"}
        persona = {"name": persona}
    context = section(card, "context")
    dataset = section(card, "dataset")
    stats = section(card, "dataset", "stats")
    options = section(card, "dataset", "stats", "options")
    return PersonaCard(
        name=persona.get("name") or "assistant",
        aliases=tuple(alias for alias in persona.get("aliases") or () if alias.strip()),
        account_ids=tuple(str(a) for a in persona.get("account_ids") or ()),
        max_length=context.get("max_length") or dataset.get("max_length"),
        context_turns=context.get("context_turns") or options.get("context_turns"),
        merge_window=_recorded("merge_window_s", (context, options), DEFAULT_MERGE_WINDOW),
        gap=_recorded("gap_s", (context, options), DEFAULT_GAP),
        last_message=_day(dataset.get(LAST_MESSAGE) or stats.get(LAST_MESSAGE)),
        speaking=tuple(
            (key, float(share))
            for key, share in section(card, "dataset", "stats", "speaking", "after_others").items()
            if share is not None
        ),
    )


def _day(value: str | None) -> date | None:
    return date.fromisoformat(value) if value else None  # checked by check_card


def _recorded(key: str, sources, default: timedelta) -> timedelta:
    """The first recording of `key` in seconds (catgpt.json "context", then the dataset
    options, where folders older than "context" kept it); prepare's default when neither has
    one. A merge window of 0 (never merge) is a recording, not a missing one."""
    for source in sources:
        if source.get(key) is not None:
            return timedelta(seconds=source[key])
    return default


def read_json(folder: str | Path, name: str) -> dict | None:
    """One of the folder's JSON files as a dict; None when the file is not there."""
    path = Path(folder) / name
    if not path.is_file():
        return None
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:  # JSONDecodeError and UnicodeDecodeError included
        raise ModelFolderError(f"unreadable {name} ({error})", where=str(path)) from None
    if not isinstance(content, dict):
        raise ModelFolderError(f"{name} is not a JSON object", where=str(path))
    return content


def read_card(folder: str | Path) -> PersonaCard:
    """The folder's persona card; the defaults (persona `assistant`, no bounds) without one."""
    card = read_json(folder, CATGPT_JSON)
    return PersonaCard() if card is None else _in_file(folder, CATGPT_JSON, card_from_dict, card)


def _in_file(folder: str | Path, name: str, read, content):
    """`read(content)`, its ModelFolderError naming the file's path."""
    try:
        return read(content)
    except ModelFolderError as error:
        error.where = str(Path(folder) / name)
        raise


def _field(config, key: str):
    if config is None:
        return None
    if isinstance(config, Mapping):
        return config.get(key)
    return getattr(config, key, None)


def config_window(config, tokenizer=None) -> int | None:
    """Tokens the model can attend to; None when neither config nor tokenizer says.

    `config`: a loaded model's config (attributes) or config.json's content (a dict), read the
    same way, so the bot's window is the same with the weights here or on a server.
    """
    for source in (config, _field(config, "text_config")):
        for key in WINDOW_ATTRIBUTES:
            value = _positive(_field(source, key))
            if value:
                return value
    limit = getattr(tokenizer, "model_max_length", None)
    if isinstance(limit, int) and 0 < limit < NO_TOKENIZER_LIMIT:
        return limit
    return None


def folder_window(folder: str | Path, tokenizer=None) -> int:
    """The window config.json states (the model's own, without loading it), or the default."""
    return config_window(read_json(folder, CONFIG_JSON), tokenizer) or DEFAULT_CONTEXT_WINDOW


def generation_defaults(folder: str | Path) -> dict:
    """generation_config.json's content ({} without one): sampling values and reply length,
    checked (catgpt.folder_checks.generation_settings: `temperature: 0` reads as greedy)."""
    config = read_json(folder, GENERATION_JSON) or {}
    model_config = read_json(folder, CONFIG_JSON) or {}
    vocab = _field(model_config, "vocab_size") or _field(
        _field(model_config, "text_config"), "vocab_size"
    )
    return _in_file(folder, GENERATION_JSON, lambda c: generation_settings(c, vocab), config)


def folder_max_new_tokens(folder: str | Path) -> int:
    """The folder's own reply length, as the local backend reads it from the loaded model."""
    return _positive(generation_defaults(folder).get("max_new_tokens")) or DEFAULT_MAX_NEW_TOKENS


def check_tokenizer_files(folder: str | Path) -> None:
    """Refuse a folder without tokenizer files (see TOKENIZER_FILES)."""
    folder = Path(folder)
    if not any((folder / name).is_file() for name in TOKENIZER_FILES):
        raise ModelFolderError(
            "no tokenizer files (tokenizer.json, tokenizer.model, vocab.json...)",
            where=str(folder),
            fix="Copy the tokenizer saved with the model into the folder "
            "(`tokenizer.save_pretrained(folder)`), or serve the folder `catgpt-train train` "
            "wrote.",
        )


def load_tokenizer(folder: str | Path):
    """The folder's tokenizer, checked: it exists and can write text."""
    from transformers import AutoTokenizer  # imports torch: only where a model is loaded anyway

    check_tokenizer_files(folder)
    try:
        tokenizer = AutoTokenizer.from_pretrained(folder)
    except (OSError, ValueError, KeyError) as error:
        raise ModelFolderError(f"cannot load the tokenizer ({error})", where=str(folder)) from None
    return _check_vocabulary(tokenizer, folder)


def load_fast_tokenizer(folder: str | Path):
    """The folder's tokenizer.json without torch (AutoTokenizer imports it), checked the same
    way: what a bot that sends prompts to an inference server renders them with."""
    from transformers import PreTrainedTokenizerFast  # tokenizers and jinja; no torch

    folder = Path(folder)
    if not (folder / "tokenizer.json").is_file():
        raise ModelFolderError(
            "no tokenizer.json (rendering prompts without torch needs a fast tokenizer)",
            where=str(folder),
            fix="Save the tokenizer with a recent transformers "
            "(`AutoTokenizer.from_pretrained(folder).save_pretrained(folder)`), "
            "or use CATGPT_BACKEND=local.",
        )
    try:
        tokenizer = PreTrainedTokenizerFast.from_pretrained(folder)
    except (OSError, ValueError, KeyError) as error:
        raise ModelFolderError(f"cannot load the tokenizer ({error})", where=str(folder)) from None
    return _check_vocabulary(tokenizer, folder)


def _check_vocabulary(tokenizer, folder: str | Path):
    if len(tokenizer) <= len(tokenizer.all_special_tokens):
        raise ModelFolderError(
            "the tokenizer has no vocabulary beyond its special tokens",
            where=str(folder),
            fix="Copy the tokenizer saved with the model into the folder.",
        )
    return tokenizer
