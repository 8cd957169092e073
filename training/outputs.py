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

`--overwrite` also replaces only a folder catgpt-train wrote: every output gets a marker file
(`mark_ours`), and `check_replaceable` refuses any other non-empty folder, whatever the flag says
(someone's `--out ~/Documents` must not cost them their documents).
"""

from __future__ import annotations

import json
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
    try:
        return Path(path).expanduser().resolve()
    except RuntimeError:  # a symlink loop leads nowhere, so it holds nothing to protect;
        return Path(path).expanduser().absolute()  # the reader names it as an error



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


# Written into every folder catgpt-train writes; --overwrite replaces only folders that have it.
MARKER = ".catgpt-output"


def mark_ours(folder: Path, kind: str) -> None:
    """Mark `folder` (a dataset or model folder being built) as written by catgpt-train."""
    record = {"written_by": "catgpt-train", "kind": kind}
    (folder / MARKER).write_text(json.dumps(record) + "\n", encoding="utf-8")


def is_ours(folder: Path) -> bool:
    return (folder / MARKER).is_file()


def check_replaceable(out: Path, overwrite: bool, *, empty_is_free: bool = True) -> None:
    """Refuse, before any work, an --out that this run must not replace.

    Free: a missing folder, and (when `empty_is_free`) an empty one. Replaceable with
    --overwrite: a folder catgpt-train wrote, or an empty one. Never: a file, or a non-empty
    folder without our marker, whatever the flags say.
    """
    if not out.exists():
        return
    if not out.is_dir():
        raise OutputExistsError("the output path exists and is not a folder", where=str(out),
                                fix="Choose another --out.")  # fmt: skip
    empty = not any(out.iterdir())
    if empty and empty_is_free:
        return
    if not overwrite:
        raise OutputExistsError(
            "the output folder already exists" + ("" if empty else " and is not empty"),
            where=str(out), fix="Pass --overwrite to replace it, or choose another --out.",
        )  # fmt: skip
    if not empty and not is_ours(out):
        raise OutputExistsError(
            f"not replaced: catgpt-train did not write this folder (it has no {MARKER} file), "
            "and --overwrite replaces only folders it wrote",
            where=str(out),
            fix="Choose another --out; if the folder's contents really may go, delete it yourself.",
        )


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
    if old.exists() and is_ours(old):
        shutil.rmtree(old)  # left by a crash between the two renames
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
