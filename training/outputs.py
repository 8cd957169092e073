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

A full disk ends a command with one line that names the folder, what had been written and what
is free, after the staged files are removed (`disk_full_is_one_line`); the old output is never
touched, since it is only replaced by a finished folder.

A scratch folder outlives its run only when the run is killed outright (`kill -9`, power
loss). Each one holds a lock file (`.catgpt-scratch`), locked (`flock`) by the run for as long
as it lives: the kernel releases the lock when the process dies, however it dies. Every new
scratch folder's run first removes the hidden folders beside it whose lock file it can take
(`remove_abandoned`): a folder without our lock file is never touched, and a live run's lock
cannot be taken, so a concurrent run's folder stays. (Where `fcntl` is missing, on Windows,
nothing is removed.)
"""

from __future__ import annotations

import errno
import json
import logging
import os
import shutil
import tempfile
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from os import W_OK, X_OK, access
from pathlib import Path

from training.errors import CatGPTError, OutputExistsError

try:
    import fcntl
except ImportError:  # Windows: scratch folders are then never cleaned up by a later run
    fcntl = None

log = logging.getLogger(__name__)


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


SCRATCH_LOCK = ".catgpt-scratch"
_held: dict[Path, int] = {}  # scratch folder -> the descriptor holding its lock


@contextmanager
def scratch_folder(out: Path, label: str = "", what: str = "the dataset") -> Iterator[Path]:
    """A new hidden folder beside `out`, removed when the block ends, however it ends (and, after
    a `kill -9`, by the next run: `remove_abandoned`).

    Beside, so that moving it into place is a rename on one filesystem, never a copy.
    """
    with disk_full_is_one_line(out, what):
        out.parent.mkdir(parents=True, exist_ok=True)
        remove_abandoned(out.parent)
        scratch = Path(tempfile.mkdtemp(prefix=f".{out.name}.{label}", dir=out.parent))
        try:
            _lock(scratch)
            with disk_full_is_one_line(out, what, staged=scratch):
                yield scratch
        finally:
            release(scratch)
            shutil.rmtree(scratch, ignore_errors=True)


def _lock(scratch: Path) -> None:
    """Take the scratch folder's lock for this run's lifetime. Written under another name and
    renamed, locked all along, so no other run ever sees the lock file unlocked."""
    if fcntl is None:
        return
    pending = scratch / (SCRATCH_LOCK + ".new")
    descriptor = os.open(pending, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    os.write(descriptor, json.dumps({"written_by": "catgpt-train", "pid": os.getpid()}).encode())
    os.replace(pending, scratch / SCRATCH_LOCK)
    _held[scratch] = descriptor


def release(scratch: Path) -> None:
    """The scratch folder is finished (about to become an output) or gone: its lock file goes,
    so nothing in an output ever looks like an abandoned scratch folder."""
    descriptor = _held.pop(Path(scratch), None)
    if descriptor is None:
        return
    with_lock = Path(scratch) / SCRATCH_LOCK
    with_lock.unlink(missing_ok=True)
    os.close(descriptor)


def remove_abandoned(folder: Path) -> list[Path]:
    """Remove the hidden scratch folders in `folder` whose run has died; returns them.

    Only a hidden folder holding our lock file, and only when the lock can be taken (the kernel
    frees it when its process dies): a live run's folder, and anything we did not create, stay.
    """
    removed: list[Path] = []
    if fcntl is None:
        return removed
    try:
        entries = [entry for entry in os.scandir(folder)
                   if entry.name.startswith(".") and entry.is_dir(follow_symlinks=False)]
    except OSError:
        return removed
    for entry in entries:
        path = Path(entry.path)
        if path in _held:
            continue  # this process's own
        try:
            descriptor = os.open(path / SCRATCH_LOCK, os.O_RDONLY | os.O_NOFOLLOW)
        except OSError:
            continue  # not ours (or not any more)
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(descriptor)
            continue  # a live run holds it
        try:
            shutil.rmtree(path, ignore_errors=True)
        finally:
            os.close(descriptor)
        removed.append(path)
        log.info("removed %s: a scratch folder a killed run of catgpt-train left", path)
    return removed


_FULL = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}
# How a full disk reads in errors that carry no errno: safetensors (Rust's io::Error) and torch.
_FULL_WORDS = ("No space left on device", "StorageFull", "os error 28", "Disk quota exceeded")


def is_disk_full(error: BaseException) -> bool:
    """Whether `error` (or one it was raised from) says the disk or the quota is full."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, OSError) and error.errno in _FULL:
            return True
        if any(words in str(error) for words in _FULL_WORDS):
            return True
        error = error.__cause__ or error.__context__
    return False


class DiskFullError(CatGPTError):
    """The disk (or quota) filled while an output was written; the staged files are gone."""


@contextmanager
def disk_full_is_one_line(out: Path, what: str, staged: Path | None = None) -> Iterator[None]:
    """A full disk inside the block becomes one line naming the folder, what had been written
    and what is free; `staged` (the half-written output) is removed first."""
    try:
        yield
    except DiskFullError:
        raise
    except Exception as error:
        if not is_disk_full(error):
            raise
        written = _size(staged) if staged is not None else 0
        if staged is not None:
            release(staged)
            shutil.rmtree(staged, ignore_errors=True)
        free = _free(out)
        kept = " (the previous one is untouched)" if out.exists() else ""
        raise DiskFullError(
            f"the disk is full: writing {what} stopped after {_amount(written)}, and "
            f"{_amount(free)} is free now that the partial files are removed{kept}",
            where=str(out),
            fix=f"Free more than {_amount(max(written, 1 << 20))} there, or choose an --out on "
            "a disk with room",
        ) from error


def _size(folder: Path) -> int:
    total = 0
    for root, _, files in os.walk(folder):
        for name in files:
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                continue
    return total


def _free(out: Path) -> int:
    folder = _resolved(out)
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return 0


def _amount(size: int) -> str:
    for unit in ("bytes", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:,.0f} {unit}" if unit == "bytes" else f"{size:,.1f} {unit}"
        size /= 1024
    return f"{size:,.1f} TB"


def move_into_place(new: Path, out: Path) -> None:
    """Rename the finished folder `new` to `out`, replacing an existing `out` only now.

    The old `out` is set aside first and deleted once `new` stands in its place; if that
    rename fails, the old one is put back.
    """
    release(new)  # an output, no longer a scratch folder
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
