"""A round as Discord text: the context, the two replies, then the reveal.

Nothing here can ping: every name and text goes through neutralise_mentions (<@id>, @everyone,
@here and their look-alikes defused) and names through escape_markdown (a name such as
`**bob**` or `` `x` `` stays a name). Messages are also sent with AllowedMentions.none().
"""

from __future__ import annotations

import discord

from bot.quiz.rules import LETTERS
from bot.store import RoundResult
from catgpt.reply_cleaning import DISCORD_LIMIT, neutralise_mentions, strip_controls

# One message holds it all (2000 characters): the replies, then as much context as fits.
CONTEXT_CHARS = 250  # per context turn shown: the gist, not the essay
REPLY_CHARS = 400  # per reply shown; both cut alike, so the cut tells nothing
REVEAL_ROOM = 300  # kept free for the reveal, appended to the same message


def plain(text: str) -> str:
    """Text shown as written, unable to ping or to break the layout."""
    return discord.utils.escape_markdown(neutralise_mentions(strip_controls(text)))


def _cut(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def _quote(text: str) -> str:
    return "\n".join(f"> {line}" if line.strip() else ">" for line in text.splitlines())


def context_line(message: dict, persona: str) -> str:
    name = persona if message["role"] == "assistant" else message.get("name") or "someone"
    return _quote(f"**{plain(name)}**: {plain(_cut(message['content'], CONTEXT_CHARS))}")


def round_text(
    persona: str, context: tuple[dict, ...], replies: tuple[str, str], seconds: float, votes: int
) -> str:
    """The posted round. The oldest context turns go first when it would not fit."""
    head = f"**Real or bot?** Which one did **{plain(persona)}** really write?"
    answers = "\n".join(
        f"**{letter}**\n{_quote(plain(_cut(reply, REPLY_CHARS)))}"
        for letter, reply in zip(LETTERS, replies, strict=True)
    )
    foot = f"-# Vote below: the answer comes after {_duration(seconds)} or {votes} votes."
    lines = [context_line(m, persona) for m in context]
    budget = DISCORD_LIMIT - REVEAL_ROOM
    while lines and len("\n\n".join([head, "\n".join(lines), answers, foot])) > budget:
        lines.pop(0)
    return "\n\n".join(part for part in (head, "\n".join(lines), answers, foot) if part)


def reveal_text(posted: str, persona: str, result: RoundResult, jump_url: str = "") -> str:
    """The posted round, its footer replaced by the answer and the votes."""
    body = posted.rsplit("\n\n-# ", 1)[0]
    real = LETTERS[1 - result.bot_choice]
    bot = LETTERS[result.bot_choice]
    total = sum(result.votes)
    counts = f"Votes: A {result.votes[0]}, B {result.votes[1]}."
    if total:
        fooled = f"Fooled: {result.fooled} of {total} ({result.fooled / total:.0%})."
    else:
        fooled = "Nobody voted."
    real_part = f"[{real}]({jump_url})" if jump_url else real
    answer = f"**Answer:** {real_part} is what {plain(persona)} wrote; {bot} is the bot."
    return f"{body}\n\n{answer} {counts} {fooled}"


def stats_text(persona: str, rounds: int, votes: int, fooled: int) -> str:
    name = plain(persona)
    if not rounds:
        return f"No {name} quiz rounds revealed in this server yet: `/catgpt quiz start` plays one."
    if not votes:
        return f"{name} quiz in this server: {rounds} round(s), no votes yet."
    return (
        f"{name} quiz in this server: {rounds} round(s), {votes} vote(s); the bot was taken "
        f"for {name} in {fooled} of them ({fooled / votes:.0%})."
    )


def _duration(seconds: float) -> str:
    if seconds >= 60 and seconds % 60 == 0:
        minutes = int(seconds // 60)
        return f"{minutes} minute{'s' if minutes != 1 else ''}"
    return f"{seconds:g} seconds"
