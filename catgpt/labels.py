"""Speaker labels: how a person's name is written before their turn in a chat template."""

from __future__ import annotations

import unicodedata
from collections.abc import Iterable

NOT_THE_PERSONA = " (not the persona)"


def speaker_label(name: str, persona_names: Iterable[str] = ()) -> str:
    """A name usable as a turn label: one line, no colon (the template ends labels with one).

    Someone whose name is the persona's (the real person, or a namesake) is labelled
    `<name> (not the persona)`, in prepare and in the bot alike: under the persona's own label
    their words would read to the model as its own.
    """
    label = _one_line(name) or "user"
    if _look_alike_key(label) in {_look_alike_key(n) for n in persona_names if n.strip()}:
        label = speaker_label(label + NOT_THE_PERSONA)
    return label


def _one_line(name: str) -> str:
    return " ".join(str(name).replace(":", " ").split())


def _look_alike_key(name: str) -> str:
    """What a name reads as: full-width letters folded (NFKC), case ignored, invisible
    characters, spaces and colons dropped. `ＭＯＣＨＩ`, `mo\u200bchi`, `m o c h i` and `mo:chi`
    all read as `mochi`, so each is labelled apart from the persona `mochi` (when unsure,
    protect: a namesake read as the persona would put words in its mouth)."""
    folded = unicodedata.normalize("NFKC", str(name)).casefold()
    return "".join(c for c in folded if not c.isspace() and c != ":"
                   and unicodedata.category(c) != "Cf")
