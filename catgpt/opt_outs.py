"""The opt-out file: the accounts whose messages must not be trained on (issue 17, consent).

Both halves read and write it, so its format lives here once: plain UTF-8 text, one Discord
account id a line, `#` starts a comment (whole line or after an id), blank lines are ignored.
The bot writes it from its database (`catgpt-bot export-opt-outs FILE`); `prepare --opt-outs
FILE` leaves those accounts' messages out of the dataset.

Only account ids, never names: a name is anyone's to take (DESIGN.md, persona identity), so a
name in this file could silently drop a namesake's messages or, worse, keep the real person's.
A line that is not an id stops the read with its line number rather than being skipped: a
skipped line is a person whose wish was ignored.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from catgpt.errors import FixableError

# Discord snowflakes are 17-20 digits today; any all-digit value up to 2^64 is accepted so a
# test server's small ids work too.
_MAX_ID = 2**64 - 1
_FIX_LINE = ("Write one account id a line (Discord: Developer Mode on, then right-click the "
             "person > Copy User ID); `#` starts a comment")


# write_opt_outs' first line: a file that starts with it is ours to overwrite.
HEADER = "# CatGPT opt-outs: these accounts asked that their messages not be trained on.\n"


def written_by_us(path: Path) -> bool:
    """Whether `path` is a file write_opt_outs wrote (it starts with HEADER)."""
    try:
        with Path(path).open("rb") as file:
            return file.read(len(HEADER.encode())) == HEADER.encode()
    except OSError:
        return False


class OptOutFileError(FixableError):
    """An opt-out file that cannot be read or holds a line that is not an account id."""


def read_opt_outs(path: Path) -> frozenset[str]:
    """The account ids in `path`, as strings (the Message record's `author_id` form)."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise OptOutFileError("no such opt-out file", where=str(path),
                              fix="Check the path given to --opt-outs") from None
    except IsADirectoryError:
        raise OptOutFileError("is a folder, not an opt-out file", where=str(path),
                              fix="Give the file `catgpt-bot export-opt-outs` wrote") from None
    except UnicodeDecodeError:
        raise OptOutFileError("not UTF-8 text", where=str(path),
                              fix="Save it as UTF-8 plain text, one account id a line") from None
    except OSError as error:
        raise OptOutFileError(f"cannot be read ({error.strerror})", where=str(path),
                              fix="Check its permissions") from None
    ids: set[str] = set()
    # Lines end at \n or \r only, as editors number them: str.splitlines would also split at
    # \x1c-\x1e and \u2028, so a comment holding one could turn its tail into an id line.
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    for number, line in enumerate(lines, start=1):
        value = line.split("#", 1)[0].strip()
        if not value:
            continue
        if not (value.isascii() and value.isdigit() and int(value) <= _MAX_ID):
            shown = value if len(value) <= 40 else value[:40] + "..."
            raise OptOutFileError(f"{shown!r} is not an account id", where=f"{path}:{number}",
                                  fix=_FIX_LINE)
        ids.add(str(int(value)))  # leading zeros are not part of a snowflake
    return frozenset(ids)


def write_opt_outs(path: Path, account_ids: Iterable[int | str]) -> int:
    """Write `account_ids` to `path` in the format read_opt_outs reads; returns how many."""
    ids = sorted({str(int(i)) for i in account_ids}, key=int)
    header = HEADER + "# Use with: catgpt-train prepare --opt-outs THIS_FILE ...\n"
    Path(path).write_text(header + "".join(f"{i}\n" for i in ids), encoding="utf-8")
    return len(ids)
