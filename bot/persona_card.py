"""The persona's own Discord accounts, from the model folder's catgpt.json.

`persona.account_ids` lists the accounts `catgpt-train prepare` resolved the persona to
(DESIGN.md contract 2). The bot labels those accounts apart whatever name they show now, so
the real person talking to their bot never reads to the model as the persona itself. The card
is read by catgpt.folder's reader (the engine reads it too, at load); this turns its ids into
Discord's integers.
"""

from __future__ import annotations

import logging
from pathlib import Path

from bot.errors import ModelLoadError
from catgpt.errors import ModelFolderError
from catgpt.folder import PersonaCard, read_card

log = logging.getLogger(__name__)


def read_persona_card(folder: Path) -> PersonaCard:
    """The folder's persona card; a bad one is the bot's one-line ModelLoadError."""
    try:
        return read_card(folder)
    except ModelFolderError as error:
        raise ModelLoadError(error.what, where=error.where, fix=error.fix) from None


def discord_ids(card: PersonaCard) -> frozenset[int]:
    """The card's `persona.account_ids` as Discord's integers."""
    raw = card.account_ids
    # Ids are written as strings (JSON numbers lose digits past 2**53) or numbers; an export
    # without ids has none to give, so anything else is skipped, not an error.
    ids = [v for v in raw if v.isascii() and v.isdigit()]
    if len(ids) < len(raw):
        log.warning(
            "catgpt.json: %d persona account id(s) are not Discord ids; ignored",
            len(raw) - len(ids),
        )
    return frozenset(int(v) for v in ids)


def persona_account_ids(folder: Path) -> frozenset[int]:
    """The ids in `persona.account_ids`; none for a folder without a card or without ids."""
    return discord_ids(read_persona_card(folder))
