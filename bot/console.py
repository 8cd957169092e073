"""`catgpt-bot --console`: chat with the model over stdin/stdout, no Discord token needed.

Same engine, same conversation shape and same sanitising as the Discord path, so what you see
here is what the bot would say. Interactive on a terminal (a prompt, /reset, /quit); with a
pipe it reads one line per turn and prints a transcript (`you: ...` / `mochi: ...`).
`--demo` plays DEMO_LINES instead when stdin is not a terminal (`make demo` in CI).
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable, Iterable
from typing import TextIO

from bot.errors import EngineError
from catgpt.labels import speaker_label
from catgpt.reply_cleaning import prepare_reply, typing_pause

DEMO_LINES = (
    "hi mochi! what are you up to?",
    "did you eat already?",
    "what's your favourite game right now?",
    "ok good night!",
)

HELP = "/reset forgets the conversation, /quit (or Ctrl-D) leaves."


def chat_lines(
    engine,
    lines: Iterable[str],
    *,
    name: str = "you",
    history: int = 20,
    out: TextIO = sys.stdout,
    echo: bool = False,
    bursts: bool = False,
    pause: Callable[[float], None] | None = None,
) -> int:
    """Answer each line; returns the number of replies. `echo` writes the user's line too.

    bursts: a reply's lines as separate `persona:` lines (CATGPT_BURSTS, as the bot sends them),
    with `pause(seconds)` between them where given (a terminal; not a pipe).
    """
    persona = engine.card.name
    names = engine.card.names
    # `--name mochi` (the real person trying their bot) must not read as the persona's turns.
    label = speaker_label(name, names)
    turns: list[dict] = []
    replies = 0
    iterator = iter(lines)
    while True:
        try:
            line = next(iterator)
        except StopIteration:
            break
        line = line.strip()
        if not line:
            continue
        if line in ("/quit", "/exit"):
            break
        if line == "/reset":
            turns.clear()
            out.write("(conversation forgotten)\n")
            continue
        if line == "/help":
            out.write(HELP + "\n")
            continue
        if echo:
            out.write(f"{name}: {line}\n")
        turns.append({"role": "user", "name": label, "content": line})
        try:
            # The console has no event loop of its own: wait on the engine's future directly.
            text = engine.submit(turns[-history:]).result()
        except EngineError as error:
            out.write(f"{persona}: {error.user_message}\n")
            turns.pop()
            continue
        chunks = prepare_reply(text, names, bursts=bursts)
        turns.append({"role": "assistant", "content": "\n".join(chunks)})
        for index, chunk in enumerate(chunks):
            if bursts:  # each quick message on its own line, as Discord shows them
                if index and pause is not None:
                    pause(typing_pause(chunk))
                out.write(f"{persona}: {chunk}\n")
            else:
                out.write((f"{persona}: " if index == 0 else "") + chunk + "\n")
            out.flush()
        replies += 1
    return replies


def _stdin_lines(stdin: TextIO) -> Iterable[str]:
    yield from stdin  # line by line, so a pipe is answered as it arrives


def run_console(
    engine,
    *,
    name: str = "you",
    history: int = 20,
    demo: bool = False,
    bursts: bool = False,
    stdin: TextIO = sys.stdin,
    stdout: TextIO = sys.stdout,
    stderr: TextIO = sys.stderr,
) -> int:
    interactive = stdin.isatty()
    if demo and not interactive:
        lines: Iterable[str] = DEMO_LINES
    elif interactive:
        lines = _interactive_lines(name)
    else:
        lines = _stdin_lines(stdin)
    stderr.write(f"Chatting with {engine.card.name}. {HELP}\n" if interactive else "")
    try:
        chat_lines(
            engine,
            lines,
            name=name,
            history=history,
            out=stdout,
            echo=not interactive,
            bursts=bursts,
            pause=time.sleep if interactive else None,
        )
    except KeyboardInterrupt:
        stdout.write("\n")
    return 0


def _interactive_lines(name: str) -> Iterable[str]:
    # input() gives line editing (readline) and prints the prompt on the terminal.
    while True:
        try:
            yield input(f"{name}> ")
        except EOFError:
            print()
            return
