"""What the persona says, made safe to send: no own-name prefix, no live mentions, <= 2000 chars.

Mentions are neutralised in the text (a zero-width space breaks the syntax) *and* every send uses
`AllowedMentions.none()`: the first stops the blue highlight and a later edit from pinging, the
second stops a ping even if a pattern here is missed. Pure functions; no discord import (console
mode uses them too, and needs no Discord).
"""

from __future__ import annotations

import re
from collections.abc import Iterable

DISCORD_LIMIT = 2000
MAX_CHUNKS = 3
FALLBACK = "(nothing came to mind, try me again?)"
ZWSP = "\u200b"

# <@123>, <@!123> (users), <@&123> (roles); a zero-width space after "<" stops Discord
# parsing them while they still read the same.
_MENTION = re.compile(r"<(@[!&]?\d+)>")
_MASS = re.compile(r"@(everyone|here)\b", re.IGNORECASE)


def strip_name_prefix(text: str, names: Iterable[str]) -> str:
    """Drop `mochi:` (or `@mochi:`, `**mochi**:`) the model may write before its own words."""
    alternatives = "|".join(re.escape(n) for n in sorted(set(names), key=len, reverse=True) if n)
    if not alternatives:
        return text.strip()
    prefix = re.compile(rf"^\s*(?:\*\*)?@?(?:{alternatives})(?:\*\*)?\s*:\s*", re.IGNORECASE)
    previous = None
    while previous != text:  # "mochi: mochi: hi" happens with undertrained models
        previous, text = text, prefix.sub("", text, count=1)
    return text.strip()


def neutralise_mentions(text: str) -> str:
    # Not discord.utils.escape_mentions: this module stays discord-free (console, `eval`), and
    # that one skips ids under 17 digits and @EVERYONE in capitals.
    text = _MENTION.sub(lambda m: f"<{ZWSP}{m.group(1)}>", text)
    return _MASS.sub(lambda m: f"@{ZWSP}{m.group(1)}", text)


def split_message(text: str, limit: int = DISCORD_LIMIT, max_chunks: int = MAX_CHUNKS) -> list[str]:
    """Split at paragraph, line or word boundaries into <= `limit`-char chunks; trim the rest."""
    # Not discord.ext.commands.Paginator: discord-free here, and it raises on a line longer than
    # a page (a model's reply is often one long line) where this cuts at a word.
    chunks: list[str] = []
    rest = text.strip()
    while rest:
        if len(chunks) == max_chunks:
            last = chunks[-1]
            chunks[-1] = last[: limit - 1].rstrip() + "…"
            break
        if len(rest) <= limit:
            chunks.append(rest)
            break
        window = rest[:limit]
        cut = max(window.rfind("\n\n"), window.rfind("\n"), window.rfind(" "))
        if cut < limit // 2:  # no good boundary: a hard cut beats a tiny chunk
            cut = limit
        chunks.append(rest[:cut].rstrip())
        rest = rest[cut:].strip()
    return chunks


def prepare_reply(
    text: str,
    names: Iterable[str],
    *,
    fallback: str = FALLBACK,
    limit: int = DISCORD_LIMIT,
    max_chunks: int = MAX_CHUNKS,
) -> list[str]:
    """The messages to send for one generated reply; never empty."""
    # U+FFFD is what decoding leaves of a character cut in half (an emoji at the token limit).
    text = text.replace("\ufffd", "")
    text = neutralise_mentions(strip_name_prefix(text, names))
    return split_message(text, limit, max_chunks) or [fallback]
