"""Speaker labels: how a person's name is written before their turn in a chat template."""

from __future__ import annotations

from collections.abc import Iterable

NOT_THE_PERSONA = " (not the persona)"


def speaker_label(name: str, persona_names: Iterable[str] = ()) -> str:
    """A name usable as a turn label: one line, no colon (the template ends labels with one).

    Someone whose name is the persona's (the real person, or a namesake) is labelled
    `<name> (not the persona)`, in prepare and in the bot alike: under the persona's own label
    their words would read to the model as its own.
    """
    label = _one_line(name) or "user"
    # Compared in label form, so `mo:chi` is caught as the persona `mo chi`'s namesake.
    if label.casefold() in {_one_line(n).casefold() for n in persona_names}:
        label = speaker_label(label + NOT_THE_PERSONA)
    return label


def _one_line(name: str) -> str:
    return " ".join(str(name).replace(":", " ").split())
