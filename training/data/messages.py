"""The Message record: what every export reader yields (contract 1 in DESIGN.md).

Readers stream these oldest first per channel; everything downstream (cleaning, turns,
examples) is a pure function over them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum


class MessageKind(str, Enum):
    DEFAULT = "default"
    REPLY = "reply"
    SYSTEM = "system"  # joins, pins, calls, thread created...: dropped by prepare


# Not frozen: a frozen dataclass sets each field through object.__setattr__, which made
# building a Message a third of prepare's per-message cost. Treat it as read-only anyway.
@dataclass(slots=True)
class Message:
    id: str
    channel_id: str
    channel_name: str
    guild_name: str | None  # None for DMs and exports that do not say
    author_id: str
    author_name: str  # the name shown for the author in this export (nickname if any)
    # Every name the author is known by in the export (username, nickname, display name),
    # so --persona can match any of them. author_name is always among them.
    author_aliases: tuple[str, ...]
    is_bot: bool
    timestamp: datetime  # UTC, tz-aware
    content: str  # the text as typed; mentions/emoji normalised by prepare, not by readers
    reply_to: str | None = None  # message id this one replies to; may be absent from the file
    attachment_count: int = 0
    kind: MessageKind = MessageKind.DEFAULT
    # Display names for raw mentions in content (`<@id>` -> name), as the export rendered them.
    mention_names: dict[str, str] = field(default_factory=dict, compare=False, hash=False)
    # What a message carries besides text: prepare needs these to tell an attachment-,
    # sticker- or embed-only message (which has nothing to learn from) from an empty one.
    sticker_names: tuple[str, ...] = ()
    embed_count: int = 0
    # A forwarded message quotes someone else's words: never the author's own style.
    forwarded: bool = False
    # The account's unique handle (Discord username) where the format names one: DCE JSON's
    # author.name, the author column of DCE CSV and text, a data package's user.json. Empty for
    # text copied from the client, which shows display names only. --persona trusts a handle
    # (or the id) over a display name, which anyone can take.
    author_username: str = ""

    def __post_init__(self):
        if self.timestamp.tzinfo is None:
            raise ValueError(f"message {self.id}: timestamp must be tz-aware (UTC)")

    def known_as(self) -> set[str]:
        """Lower-cased names and id this author can be matched by (for --persona)."""
        return {n.casefold() for n in (*self.author_aliases, self.author_name, self.author_id) if n}
