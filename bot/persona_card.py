"""The persona's own Discord accounts, from the model folder's catgpt.json.

`persona.account_ids` lists the accounts `catgpt-train prepare` resolved the persona to
(DESIGN.md contract 2). The bot labels those accounts apart whatever name they show now, so
the real person talking to their bot never reads to the model as the persona itself.
(Kept apart from the rest of the card on purpose: small enough to move wherever the card's
reading ends up.)
"""

from __future__ import annotations

import json
import logging
from pathlib import Path

from bot.errors import ModelLoadError

log = logging.getLogger(__name__)


def persona_account_ids(folder: Path) -> frozenset[int]:
    """The ids in `persona.account_ids`; none for a folder without a card or without ids."""
    card = Path(folder) / "catgpt.json"
    if not card.is_file():
        return frozenset()
    try:
        persona = json.loads(card.read_text(encoding="utf-8")).get("persona") or {}
    except (OSError, ValueError, AttributeError) as error:
        raise ModelLoadError(f"unreadable catgpt.json ({error})", where=str(card)) from None
    raw = persona.get("account_ids") if isinstance(persona, dict) else None
    if not isinstance(raw, list):
        return frozenset()
    # Ids are written as strings (JSON numbers lose digits past 2**53) or numbers; an export
    # without ids has none to give, so anything else is skipped, not an error.
    ids = [str(v) for v in raw if not isinstance(v, bool)]
    ids = [v for v in ids if v.isascii() and v.isdigit()]
    if len(ids) < len(raw):
        log.warning(
            "catgpt.json: %d persona account id(s) are not Discord ids; ignored",
            len(raw) - len(ids),
        )
    return frozenset(int(v) for v in ids)
