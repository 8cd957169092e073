"""Output folders must stay clear of the inputs they are made from, and be writable.

`--overwrite` replaces the --out folder as a whole, so an --out that is an input (or holds one,
or sits inside one) would delete the user's exports or dataset once the new output is ready.
`prepare`, `train` and `run` all call `check_separate` and `check_writable` before doing any
work.
"""

from __future__ import annotations

from collections.abc import Iterable
from os import W_OK, X_OK, access
from pathlib import Path

from training.errors import CatGPTError, OutputExistsError


def _resolved(path: Path | str) -> Path:
    # resolve() follows symlinks, so a link to the exports counts as the exports.
    return Path(path).expanduser().resolve()


def check_separate(out: Path | str, inputs: Iterable[Path | str]) -> None:
    """Refuse an --out that equals, contains or is inside any of `inputs`."""
    target = _resolved(out)
    for given in inputs:
        source = _resolved(given)
        if target == source:
            relation = "is the input"
        elif source.is_relative_to(target):
            relation = "contains the input"
        elif target.is_relative_to(source):
            relation = "is inside the input"
        else:
            continue
        raise OutputExistsError(
            f"the output folder {relation} {given}", where=str(out),
            fix="Choose a separate --out folder",
        )  # fmt: skip


def check_writable(out: Path | str) -> None:
    """Refuse an --out whose folder cannot be written to, before any work rather than as a
    PermissionError after it. Every command builds beside --out and moves the result in, so
    the folder that must be writable is the parent (or the nearest one that exists yet)."""
    folder = _resolved(out).parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not access(folder, W_OK | X_OK):
        raise CatGPTError(
            f"cannot write to {folder} (permission denied or a read-only disk)", where=str(out),
            fix="Choose an --out in a folder you can write to",
        )
