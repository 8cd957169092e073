"""Output folders: kept clear of the inputs they are made from, writable, and written whole or
not at all.

Every command builds its output in a hidden folder beside --out and renames it into place at
the end (`move_into_place`), so a failure leaves the old output (if any) untouched and no
half-written folder where the user or the bot looks: `prepare` and `run`'s dataset in a
`scratch_folder` that is always removed, `train` in its `staging_folder`, which stays after a
failure so --resume can pick its checkpoints up again.

`--overwrite` replaces the --out folder as a whole, so an --out that is an input (or holds one,
or sits inside one) would delete the user's exports or dataset once the new output is ready.
`prepare`, `train` and `run` all call `check_separate` and `check_writable` before doing any
work.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
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


def staging_folder(out: Path) -> Path:
    """Where `train` builds `out`: a hidden sibling that outlives a failed run (--resume)."""
    return out.parent / f".{out.name}.partial"


@contextmanager
def scratch_folder(out: Path, label: str = "") -> Iterator[Path]:
    """A new hidden folder beside `out`, removed when the block ends, however it ends.

    Beside, so that moving it into place is a rename on one filesystem, never a copy.
    """
    out.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{out.name}.{label}", dir=out.parent))
    try:
        yield scratch
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def move_into_place(new: Path, out: Path) -> None:
    """Rename the finished folder `new` to `out`, replacing an existing `out` only now.

    The old `out` is set aside first and deleted once `new` stands in its place; if that
    rename fails, the old one is put back.
    """
    if not out.exists():
        os.replace(new, out)
        return
    old = new.with_name(new.name + ".old")
    shutil.rmtree(old, ignore_errors=True)  # left by a crash between the two renames
    os.replace(out, old)
    try:
        os.replace(new, out)
    except OSError:
        os.replace(old, out)
        raise
    shutil.rmtree(old, ignore_errors=True)


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
