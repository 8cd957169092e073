"""A channel's history -> one of the persona's real turns and the context it answered.

The context is what training would read for that turn (catgpt/turns.py, with the model's
shape), and each message is read as the mention path reads it (MentionContext.read: mentions
as @name, the same speaker labels), so the model answers the very prompt a mention there would
give it. The persona's turn is its quick messages in a row, merged as training merges them.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass

import discord

from bot.conversation import MentionContext
from bot.memory import SeenMessage
from bot.quiz.rules import judgeable
from catgpt.turns import ChannelTurns, ClosedTurn

# Messages read back, newest first: five history pages (Discord gives 100 per request).
HISTORY_LIMIT = 500
# The newest judgeable turns a round is drawn from: recent enough to be the persona of now,
# several so two rounds in a row do not show the same message.
CANDIDATES = 20


@dataclass(frozen=True)
class Pick:
    """A real persona turn and the context it answered."""

    message_id: int  # the turn's first message
    real: str  # the turn's text, as people read it (its messages joined by line breaks)
    context: tuple[dict, ...]  # chat messages, oldest first: what the model is asked with
    jump_url: str = ""


def persona_turns(
    messages: Sequence[discord.Message],
    context: MentionContext,
    persona_ids: Collection[int],
    me: discord.abc.User,
) -> list[tuple[int, ClosedTurn]]:
    """The persona's turns in `messages` (oldest first), each with its first message's id.

    The bot's own messages are left out: its replies and quiz posts are not the persona's
    words, and training never saw them.
    """
    turns = ChannelTurns(context.shape, str(messages[0].channel.id) if messages else "")
    first_ids: dict[int, int] = {}  # id(Turn) -> the id of the message that opened it
    closed: list[ClosedTurn] = []

    def keep(done: ClosedTurn | None) -> None:
        if done is not None:
            closed.append(done)

    for message in messages:
        if message.author.id == me.id:
            continue
        seen = read(message, context, persona_ids, me)
        if seen is None:
            continue
        opened = turns.open_turn
        keep(turns.add(
            str(seen.id), seen.speaker, seen.name, seen.is_persona, seen.created_at,
            seen.content, str(seen.reply_to) if seen.reply_to else None,
        ))  # fmt: skip
        if turns.open_turn is not opened:
            first_ids[id(turns.open_turn)] = seen.id
    keep(turns.close())
    return [(first_ids[id(done.turn)], done) for done in closed]


def read(
    message: discord.Message,
    context: MentionContext,
    persona_ids: Collection[int],
    me: discord.abc.User,
) -> SeenMessage | None:
    """`message` as the mention path reads it (a mention of the bot reads @persona), the
    persona's accounts speaking as the persona."""
    seen = context.read(message, me)
    if seen is None:
        return None
    return dataclasses.replace(seen, is_persona=message.author.id in persona_ids)


def candidates(
    turns: Sequence[tuple[int, ClosedTurn]],
    *,
    is_copy: Callable[[str], bool] | None = None,
    exclude: Collection[int] = (),
    limit: int = CANDIDATES,
) -> list[tuple[int, ClosedTurn]]:
    """The newest `limit` turns a person can judge, newest first.

    Skipped: too short or only links/emoji (rules.judgeable), a copy of a training reply
    (is_copy), one with no context to answer (the start of a conversation), and `exclude`d
    ids (rounds played lately).
    """
    found = []
    for message_id, done in reversed(turns):
        if message_id in exclude or not done.context or not judgeable(done.turn.text):
            continue
        if is_copy is not None and is_copy(done.turn.text):
            continue
        found.append((message_id, done))
        if len(found) >= limit:
            break
    return found


async def pick(
    channel,
    context: MentionContext,
    *,
    persona_ids: Collection[int],
    me: discord.abc.User,
    is_copy: Callable[[str], bool] | None = None,
    exclude: Collection[int] = (),
    rng: random.Random | None = None,
    history: int = HISTORY_LIMIT,
) -> Pick | None:
    """One real persona turn of `channel` and its context; None when there is none to judge.

    Reads at most `history` messages back (raises discord.Forbidden without Read Message
    History: the caller checks first and says which permission is missing).
    """
    read_back = [m async for m in channel.history(limit=history)]
    # Oldest first, by id (snowflakes are time-ordered), whatever order the pages came in.
    turns = persona_turns(sorted(read_back, key=lambda m: m.id), context, persona_ids, me)
    found = candidates(turns, is_copy=is_copy, exclude=exclude)
    if not found:
        return None
    message_id, done = (rng or random).choice(found)
    jump = f"{channel.jump_url}/{message_id}" if hasattr(channel, "jump_url") else ""
    return Pick(
        message_id=message_id,
        real=done.turn.text,
        context=tuple(turn.as_chat_message() for turn in done.context),
        jump_url=jump,
    )
