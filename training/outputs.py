"""Output folders must stay clear of the inputs they are made from.

`--overwrite` replaces the --out folder as a whole, so an --out that is an input (or holds one,
or sits inside one) would delete the user's exports or dataset once the new output is ready.
`prepare`, `train` and `run` all call `check_separate` before doing any work.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from training.errors import OutputExistsError


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
