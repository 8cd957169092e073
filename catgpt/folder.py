"""What a model folder says about itself, read the same way by the bot and by `eval`.

`catgpt.json` (DESIGN.md, contract 4) carries the persona card and the context the model was
trained on:

    {"persona": {"name": "mochi", "aliases": [...], "account_ids": [...]},
     "context": {"max_length": 512, "context_turns": 8}, ...}

`max_length` is the longest training example in tokens (context *and* reply); `context_turns`
the most turns of context before a reply. Folders written before "context" existed recorded the
same numbers under "dataset" (max_length, stats.options.context_turns); they are read from there.
A foreign folder has no catgpt.json: the persona is `assistant` and nothing bounds the context
but the model's own window.

No torch here: the tokenizer loader imports transformers' AutoTokenizer (which pulls torch) only
when called.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from catgpt.errors import ModelFolderError

CATGPT_JSON = "catgpt.json"
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

    @property
    def names(self) -> tuple[str, ...]:
        """Every name the persona goes by: stop labels, and stripped from the front of replies."""
        return (self.name, *self.aliases)


def _positive(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value > 0 else None


def card_from_dict(card: dict) -> PersonaCard:
    """A PersonaCard from catgpt.json's content (what `eval` already holds as a dict)."""
    persona = card.get("persona") or {}
    if isinstance(persona, str):  # tolerate the short form {"persona": "mochi"}
        persona = {"name": persona}
    if not isinstance(persona, dict):
        persona = {}
    context = card.get("context") if isinstance(card.get("context"), dict) else {}
    dataset = card.get("dataset") if isinstance(card.get("dataset"), dict) else {}
    stats = dataset.get("stats") if isinstance(dataset.get("stats"), dict) else {}
    options = stats.get("options") if isinstance(stats.get("options"), dict) else {}
    return PersonaCard(
        name=str(persona.get("name") or "assistant"),
        aliases=tuple(str(a) for a in persona.get("aliases") or () if str(a).strip()),
        account_ids=tuple(str(a) for a in persona.get("account_ids") or ()),
        max_length=_positive(context.get("max_length")) or _positive(dataset.get("max_length")),
        context_turns=(
            _positive(context.get("context_turns")) or _positive(options.get("context_turns"))
        ),
    )


def read_card(folder: str | Path) -> PersonaCard:
    """The folder's persona card; the defaults (persona `assistant`, no bounds) without one."""
    path = Path(folder) / CATGPT_JSON
    if not path.is_file():
        return PersonaCard()
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:  # JSONDecodeError and UnicodeDecodeError included
        raise ModelFolderError(f"unreadable {CATGPT_JSON} ({error})", where=str(path)) from None
    if not isinstance(card, dict):
        raise ModelFolderError(f"{CATGPT_JSON} is not a JSON object", where=str(path))
    return card_from_dict(card)


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
    if len(tokenizer) <= len(tokenizer.all_special_tokens):
        raise ModelFolderError(
            "the tokenizer has no vocabulary beyond its special tokens",
            where=str(folder),
            fix="Copy the tokenizer saved with the model into the folder.",
        )
    return tokenizer
