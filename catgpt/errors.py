"""The one shape of an error a user can fix, and how a command line reports it.

`bot.errors.BotError` and `training.errors.CatGPTError` both subclass `FixableError`, so the two
halves word their errors alike (`where: what. fix`) and their CLIs exit alike: one line on
stderr, no traceback, a non-zero status. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable


class FixableError(Exception):
    """A mistake the user can fix: `where: what. fix`."""

    exit_code = 1

    def __init__(self, what: str, *, where: str | None = None, fix: str | None = None):
        self.what = what
        self.where = where
        self.fix = fix
        super().__init__(str(self))

    def __str__(self) -> str:
        # Read at print time: a caller may fill `where` in on the way up.
        text = f"{self.where}: {self.what}" if self.where else self.what
        if self.fix:
            text = f"{text.rstrip('.')}. {self.fix}"
        return text


class ModelFolderError(FixableError):
    """A model folder that cannot be served or measured: no tokenizer, a template that does not
    render, unreadable weights or catgpt.json. `bot` re-raises it as its ModelLoadError."""


class MissingExtra(FixableError):
    """A library of an optional part of the install (pyproject's extras) is not installed."""


def missing_extra(error: ModuleNotFoundError, *, extra: str, modules: frozenset[str],
                  needed_for: str) -> MissingExtra:
    """`error` as one line naming the pip command, when the module is one of `extra`'s;
    anything else missing is a bug in the install or in us, and is raised as it is."""
    name = (error.name or "").split(".", 1)[0]
    if name not in modules:
        raise error
    return MissingExtra(f"{needed_for} needs {name}, which is not installed",
                        fix=f"Install it with: pip install 'catgpt[{extra}]'")


def report(prog: str, error: FixableError) -> int:
    """One line on stderr; the exit status."""
    print(f"{prog}: error: {error}", file=sys.stderr)
    return error.exit_code


def run_cli(prog: str, body: Callable[[], int]) -> int:
    """A console script's exit status: `body()`'s, or 1 line on stderr for a fixable error."""
    try:
        code = body()
        sys.stdout.flush()  # a reader that went away shows here, not at interpreter exit
        return code
    except FixableError as error:
        return report(prog, error)
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `catgpt-train ... | head -1`: the reader has all it wanted. Stop quietly, as CLIs do.
        _stdout_to_devnull()
        return 141  # 128 + SIGPIPE: what the shell reports for a CLI stopped by the pipe


def _stdout_to_devnull() -> None:
    """Point stdout at /dev/null, so Python's own flush at exit cannot fail on the closed pipe
    again (the recipe in Python's `signal` docs, "Note on SIGPIPE")."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # not a real file (e.g. under capture)
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)
