"""Errors a user can fix. The CLI prints them as one line and exits non-zero, no traceback.

Every message says what is wrong, where (file, line, byte or message id) and how to fix it.
Anything that is not a CatGPTError is a bug in CatGPT and keeps its traceback.
"""

from __future__ import annotations


class CatGPTError(Exception):
    """A user mistake or an unusable input: `where: what. fix`."""

    exit_code = 1

    def __init__(self, what: str, *, where: str | None = None, fix: str | None = None):
        self.what = what
        self.where = where
        self.fix = fix
        super().__init__(str(self))

    def __str__(self) -> str:
        text = f"{self.where}: {self.what}" if self.where else self.what
        if self.fix:
            text = f"{text.rstrip('.')}. {self.fix}"
        return text


class ExportError(CatGPTError):
    """An export file that cannot be read: truncated, binary, wrongly shaped, unknown format."""


class DatasetError(CatGPTError):
    """A dataset folder that training cannot use: missing, empty, no persona turns."""


class ModelError(CatGPTError):
    """A base or model folder that cannot be loaded or cannot hold an example."""


class OutputExistsError(CatGPTError):
    """The output folder exists and --overwrite was not given; nothing was written."""
