"""Export readers: find the files behind the paths given, tell their format from their
content, and stream Message records out of each.

    sources = find_sources([Path("exports/")])
    for source in sources:
        for message in read_source(source, salvage=False): ...
"""

from __future__ import annotations

import errno
import logging
import os
import re
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from training.data.messages import Message
from training.errors import ExportError
from training.readers import copied_text, data_package, dce_csv, dce_json, dce_text
from training.readers.base import ReadReport

log = logging.getLogger(__name__)

# Tried in this order; data packages are folders and detected separately.
_FILE_READERS = (dce_json, dce_csv, dce_text, copied_text)
READERS = {module.FORMAT: module for module in (*_FILE_READERS, data_package)}
FORMATS = tuple(READERS)
# Extensions looked at inside a folder; anything else there (images, README.md,
# DCE's `_Files` media folders) is skipped.
_EXPORT_SUFFIXES = {".json", ".csv", ".txt"}
_HEAD_BYTES = 4096
# How a JSON document starts (`[11-Jun-20 07:55 PM] alice` is not one).
_JSON_START = re.compile(r'\{|\[\s*(?:[\[{"\]\d-]|true|false|null|$)')
_SUPPORTED = (
    "Supported: DiscordChatExporter JSON, CSV or plain text, a Discord data package "
    "folder, or text copied from the Discord client (see docs/data.md)."
)


@dataclass(frozen=True)
class Source:
    path: Path
    format: str


def find_sources(paths: list[Path]) -> list[Source]:
    """Every export behind `paths` (files, folders, a data package), formats detected."""
    sources: list[Source] = []
    for path in paths:
        if _is_folder(path):
            sources.extend(_sources_in_folder(path))
        else:
            sources.append(Source(path, detect_format(path)))
    return sources


def _is_folder(path: Path) -> bool:
    """True for a folder, False for a regular file; anything else is a one-line error.

    A pipe or device is refused before it is opened: reading one would wait forever.
    """
    try:
        mode = os.stat(path).st_mode
    except OSError as error:
        raise _unreachable(path, error) from error
    if stat.S_ISDIR(mode):
        return True
    if not stat.S_ISREG(mode):
        what = ("a named pipe (FIFO)" if stat.S_ISFIFO(mode) else "a socket"
                if stat.S_ISSOCK(mode) else "a device")
        raise ExportError(f"{what}, not a file", where=str(path),
                          fix="Give the export file itself: prepare reads regular files and "
                          "folders only.")
    return False


def _unreachable(path: Path, error: OSError) -> ExportError:
    if error.errno == errno.ELOOP:
        return ExportError("a symbolic link loop: the link leads back to itself",
                           where=str(path), fix="Give the export file itself.")
    if error.errno in (errno.ENOENT, errno.ENOTDIR):
        if path.is_symlink():
            return ExportError(f"a broken link (to {os.readlink(path)}, which does not exist)",
                               where=str(path), fix="Give the export file itself.")
        return ExportError("no such file or folder", where=str(path),
                           fix="Check the path; give an export file or a folder of them.")
    if error.errno in (errno.EACCES, errno.EPERM):
        return ExportError("cannot be reached (permission denied)", where=str(path),
                           fix="Check the permissions of the file and of every folder above it "
                           "(folders need execute permission).")
    return ExportError(f"cannot be read ({error.strerror or error})", where=str(path),
                       fix="Check the path and its permissions.")


def _sources_in_folder(folder: Path) -> list[Source]:
    if not os.access(folder, os.R_OK | os.X_OK):
        raise ExportError("the folder cannot be read", where=str(folder),
                          fix="Check its permissions (it needs read and execute).")
    if data_package.messages_folder(folder) is not None:
        return [Source(folder, data_package.FORMAT)]
    found: list[Source] = []
    try:
        walked = sorted(folder.rglob("*"))
    except OSError as error:
        raise ExportError(f"the folder cannot be listed ({error.strerror})", where=str(folder),
                          fix="Check its permissions.") from error
    for path in walked:
        if any(s.format == data_package.FORMAT and s.path in path.parents for s in found):
            continue  # already covered by its package
        if path.is_dir():
            if data_package.messages_folder(path) is not None:
                found.append(Source(path, data_package.FORMAT))
            elif not os.access(path, os.R_OK | os.X_OK):
                log.warning("skipping %s: the folder cannot be read (check its permissions)",
                            path)
            continue
        if path.suffix.lower() not in _EXPORT_SUFFIXES:
            continue
        if any(part.endswith("_Files") for part in path.relative_to(folder).parts):
            continue  # DCE's downloaded media
        try:
            # One stray file should not sink a folder of good exports; say so and go on.
            if _is_folder(path):
                continue
            found.append(Source(path, detect_format(path)))
        except ExportError as error:
            log.warning("skipping %s", error)
    if not found:
        raise ExportError("no export files found in the folder", where=str(folder),
                          fix=_SUPPORTED)
    return found


def detect_format(path: Path) -> str:
    """The format of one file, from its first few kilobytes (the name is only a hint)."""
    try:
        with path.open("rb") as handle:
            head_bytes = handle.read(_HEAD_BYTES)
    except OSError as error:
        raise ExportError(f"cannot be read ({error.strerror})", where=str(path),
                          fix="Check the file's permissions.") from error
    if not head_bytes.strip():
        raise ExportError("the file is empty", where=str(path),
                          fix="Export the channel again; the file has no messages.")
    if head_bytes.startswith(b"PK\x03\x04"):
        raise ExportError("this is a zip archive", where=str(path),
                          fix="Unzip it and give the folder (a data package) or the files inside.")
    if head_bytes.startswith((b"\xff\xfe", b"\xfe\xff")):
        raise ExportError("this is UTF-16 text", where=str(path),
                          fix="Save it as UTF-8 (e.g. in a text editor) and run prepare again.")
    if b"\x00" in head_bytes:
        first_nul = head_bytes.index(b"\x00")
        raise ExportError("this is a binary file, not a chat export",
                          where=f"{path}: byte {first_nul}", fix=_SUPPORTED)
    # A multi-byte character may be cut at the end of the head: decode leniently.
    head = head_bytes.decode("utf-8", errors="replace")
    if head.lstrip("\ufeff \r\n\t").lower().startswith(("<!doctype html", "<html")):
        raise ExportError("DiscordChatExporter HTML exports cannot be read", where=str(path),
                          fix="Export again with --format Json (or Csv / PlainText).")
    for module in _FILE_READERS:
        if module.looks_like(head):
            return module.FORMAT
    if _JSON_START.match(head.lstrip("\ufeff \r\n\t")):
        raise ExportError(
            "JSON, but not a DiscordChatExporter export (no 'guild'/'channel' at the start)",
            where=f"{path}: byte 0", fix=_SUPPORTED,
        )
    if "\ufffd" in head_bytes[:-4].decode("utf-8", errors="replace"):
        # Not UTF-8 (the last bytes may be a character cut by the read): most likely a copied
        # text saved as cp1252 by an old editor, which is why no format's header matched.
        raise ExportError("not UTF-8 text, so its format cannot be recognised",
                          where=f"{path}: line 1", fix="Save the file as UTF-8 and run again.")
    raise ExportError("unknown export format", where=f"{path}: line 1", fix=_SUPPORTED)


def read_source(source: Source, report: ReadReport, *, salvage: bool = False,
                ) -> Iterator[Message]:
    """Stream the messages of one source; `report` counts them as they go (and, at the end,
    says which were dropped as unusable)."""
    try:
        yield from READERS[source.format].read(source.path, report, salvage=salvage)
        report.finish()
    except UnicodeDecodeError as error:
        raise ExportError(f"not UTF-8 text at byte {error.start}", where=str(source.path),
                          fix="Give the export as DiscordChatExporter wrote it (UTF-8).") from error
    except OSError as error:
        raise ExportError(f"cannot be read ({error.strerror or error})", where=str(source.path),
                          fix="Check the file and its permissions.") from error


__all__ = [
    "FORMATS", "ReadReport", "Source", "detect_format", "find_sources", "read_source",
]
