"""The one shape of an error a user can fix, and how a command line reports it.

`bot.errors.BotError` and `training.errors.CatGPTError` both subclass `FixableError`, so the two
halves word their errors alike (`where: what. fix`) and their CLIs exit alike: one line on
stderr, no traceback, a non-zero status. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations

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


def run_cli(prog: str, body: Callable[[], int]) -> int:
    """A console script's exit status: `body()`'s, or 1 line on stderr for a fixable error."""
    try:
        return body()
    except FixableError as error:
        print(f"{prog}: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
