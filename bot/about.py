"""What the bot says about itself: `/catgpt about` and its status line (issue 17, §3).

Pure text from the persona card (catgpt.json, read once by the engine): the persona's name
and the day of the newest message it was trained on (`dataset.last_persona_message`).
"""

from __future__ import annotations

from catgpt.folder import PersonaCard

# Discord shows at most 128 characters of a custom status.
STATUS_LIMIT = 128
UNKNOWN_DATE = "an unknown date"


def trained_until(card: PersonaCard) -> str:
    return card.last_message.isoformat() if card.last_message else UNKNOWN_DATE


def status_line(card: PersonaCard) -> str:
    """The bot's custom status: what it is, and where to read more."""
    tail = " · /catgpt about"
    head = f"AI imitating {card.name}"
    if len(head) + len(tail) > STATUS_LIMIT:
        head = head[: STATUS_LIMIT - len(tail) - 1] + "…"
    return head + tail


def about_text(card: PersonaCard, *, paused: str | None = None) -> str:
    """`/catgpt about`: a model imitating the persona, trained up to a day, and the consent
    commands. `paused`: why it is quiet here, when it is."""
    name = card.name
    lines = [
        f"I'm a bot, not {name}: a language model imitating {name}, trained on their "
        f"messages up to {trained_until(card)}.",
        "`/catgpt forget`: I forget your messages, never read them again and stop answering "
        "you; `/catgpt remember` undoes it.",
        f"`/catgpt pause` / `/catgpt resume`: {name} can stop me everywhere, a server's admins "
        "(Manage Server) in their server.",
    ]
    if paused:
        lines.append(f"Right now I'm paused here ({paused}).")
    return "\n".join(lines)
