"""`catgpt-bot --quiz DATASET_FOLDER`: the owner plays "real or bot?" in the terminal.

The rounds come from the dataset's val split (val.jsonl, written by `catgpt-train prepare`;
no conversation of it was trained on): each example's context, its real persona reply and the
model's reply to the same context through the same engine as `--console`, in random order.
Results go to the quiz store with guild_id None when one is given, so the owner's own score
sits apart from every server's.

val.jsonl's lines (contract 3): {"messages": [{"role": "user", "name": ..., "content": ...},
..., {"role": "assistant", "content": ...}], "conversation": "..."}. Read here, not through
training/ (the bot never imports it).
"""

from __future__ import annotations

import asyncio
import json
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from bot.errors import BotError, EngineError
from bot.quiz.rules import LETTERS, MIN_WORDS, judgeable
from bot.store import QuizStore
from catgpt.reply_cleaning import prepare_reply, strip_controls

PREPARE_FIX = "Give the folder `catgpt-train prepare --out` wrote (it holds val.jsonl)."


@dataclass(frozen=True)
class Example:
    line: int  # its line in val.jsonl: the round's "message id"
    context: tuple[dict, ...]
    real: str


class DatasetError(BotError):
    """A dataset folder the console quiz cannot play from."""


def read_val(folder: str | Path, is_copy: Callable[[str], bool] | None = None) -> list[Example]:
    """The val examples a person can judge; DatasetError (one line) for anything else.

    is_copy: the engine's copy guard (rules.copy_check); its copies are no fair round.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise DatasetError("no such dataset folder", where=str(folder), fix=PREPARE_FIX)
    path = folder / "val.jsonl"
    if not path.is_file():
        raise DatasetError(
            "no val.jsonl in the dataset folder",
            where=str(path),
            fix="Run `catgpt-train prepare` again with a val share above 0 (--val-share).",
        )
    examples, lines = [], 0
    with path.open(encoding="utf-8") as handle:
        for number, text in enumerate(handle, 1):
            if not text.strip():
                continue
            lines += 1
            example = _example(number, text, path)
            if example is None or not judgeable(example.real):
                continue
            if is_copy is not None and is_copy(example.real):
                continue
            examples.append(example)
    if not examples:
        raise DatasetError(
            f"no example to quiz on ({lines} line(s), none with a persona reply of "
            f"{MIN_WORDS}+ words after some context)",
            where=str(path),
            fix="Prepare the dataset from a longer export, or with a larger val share.",
        )
    return examples


def _example(number: int, text: str, path: Path) -> Example | None:
    where = f"{path}:{number}"
    try:
        record = json.loads(text)
        messages = record["messages"]
        if not isinstance(messages, list) or not all(
            isinstance(m, dict) and isinstance(m.get("content"), str) and m.get("role")
            for m in messages
        ):
            raise TypeError
    except (ValueError, KeyError, TypeError):
        raise DatasetError(
            "not a dataset line ({'messages': [...]} with role and content each)",
            where=where,
            fix="Write the folder again with `catgpt-train prepare`.",
        ) from None
    if len(messages) < 2 or messages[-1]["role"] != "assistant":
        return None
    return Example(number, tuple(messages[:-1]), messages[-1]["content"])


@dataclass
class Score:
    rounds: int = 0
    right: int = 0

    @property
    def fooled(self) -> int:
        return self.rounds - self.right


async def play(
    engine,
    examples: list[Example],
    *,
    rounds: int = 10,
    stdin: TextIO,
    out: TextIO,
    rng: random.Random,
    store: QuizStore | None = None,
    model: str = "",
) -> Score:
    """Up to `rounds` rounds (fewer when the split is smaller, or stdin ends)."""
    persona = engine.card.name
    score = Score()
    chosen = rng.sample(examples, min(rounds, len(examples)))
    for number, example in enumerate(chosen, 1):
        try:
            text = await asyncio.wrap_future(engine.submit(list(example.context)))
        except EngineError as error:
            out.write(f"({error.user_message} Round skipped.)\n")
            continue
        model_reply = "\n".join(prepare_reply(text, engine.card.names))
        bot_choice = rng.randrange(2)
        replies = [model_reply, example.real] if bot_choice == 0 else [example.real, model_reply]
        out.write(f"\nRound {number} of {len(chosen)}\n")
        for message in example.context:
            name = persona if message["role"] == "assistant" else message.get("name", "someone")
            out.write(_indent(f"{name}: {message['content']}", "  ") + "\n")
        for letter, reply in zip(LETTERS, replies, strict=True):
            out.write(_indent(f"{persona}: {reply}", f"{letter}) ", "   ") + "\n")
        choice = await _ask(stdin, out)
        if choice is None:
            out.write("\n")
            break
        score.rounds += 1
        real = LETTERS[1 - bot_choice]
        if choice != bot_choice:
            score.right += 1
            out.write(f"Right: {real} is what {persona} wrote.\n")
        else:
            bot = LETTERS[bot_choice]
            out.write(f"Fooled: {real} is what {persona} wrote; {bot} is the bot.\n")
        if store is not None:
            round_id = await store.start_round(
                model=model, guild_id=None, channel_id=0,
                real_message_id=example.line, bot_choice=bot_choice,
            )  # fmt: skip
            await store.vote(round_id, 0, choice)
            await store.reveal(round_id)
    out.write(summary(score) + "\n")
    return score


def summary(score: Score) -> str:
    if not score.rounds:
        return "No rounds played."
    return (
        f"Score: {score.right} of {score.rounds} right. The model fooled you in "
        f"{score.fooled} of {score.rounds} ({score.fooled / score.rounds:.0%})."
    )


async def _ask(stdin: TextIO, out: TextIO) -> int | None:
    """A or B from stdin (asked again until it is one); None at the end of input."""
    while True:
        out.write("A or B? ")
        out.flush()
        line = await asyncio.to_thread(stdin.readline)
        if not line:
            return None
        answer = line.strip().upper()
        if answer in LETTERS:
            return LETTERS.index(answer)


def _indent(text: str, first: str, rest: str | None = None) -> str:
    # Terminal escapes in data or replies would repaint the screen: shown as nothing.
    lines = strip_controls(text).splitlines() or [""]
    rest = " " * len(first) if rest is None else rest
    return "\n".join([first + lines[0], *(rest + line for line in lines[1:])])


def run_quiz(
    engine,
    examples: list[Example],
    *,
    rounds: int = 10,
    stdin: TextIO,
    stdout: TextIO,
    store: QuizStore | None = None,
    open_store: Callable[[], Awaitable[QuizStore]] | None = None,
    model: str = "",
    seed: int | None = None,
) -> int:
    """The console quiz from a plain (non-async) caller; returns the exit status.

    `open_store` opens the results store inside the quiz's event loop (an async database
    engine belongs to the loop it was opened in); `store` is one already open."""

    async def main() -> None:
        nonlocal store
        if store is None and open_store is not None:
            store = await open_store()
        try:
            await play(engine, examples, rounds=rounds, stdin=stdin, out=stdout,
                       rng=random.Random(seed), store=store, model=model)  # fmt: skip
        finally:
            if store is not None:
                await store.close()

    asyncio.run(main())
    return 0
