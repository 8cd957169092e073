"""Errors a user can fix. The CLI prints them as one line and exits non-zero, no traceback.

Every message says what is wrong, where (file, line, byte or message id) and how to fix it.
Anything that is not a CatGPTError is a bug in CatGPT and keeps its traceback.
"""

from __future__ import annotations

from catgpt.errors import FixableError


class CatGPTError(FixableError):
    """A user mistake or an unusable input in training: `where: what. fix`."""


class ExportError(CatGPTError):
    """An export file that cannot be read: truncated, binary, wrongly shaped, unknown format."""


class DatasetError(CatGPTError):
    """A dataset folder that training cannot use: missing, empty, no persona turns."""


class ModelError(CatGPTError):
    """A base or model folder that cannot be loaded or cannot hold an example."""


class OutputExistsError(CatGPTError):
    """The output folder exists and --overwrite was not given; nothing was written."""
