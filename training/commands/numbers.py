"""argparse types for counts, so `--eval-batch-size 0` is a usage error, not a traceback later."""

from __future__ import annotations

import argparse


def _integer(text: str, minimum: int, wanted: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be {wanted}, not {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be {wanted}, not {value}")
    return value


def positive_int(text: str) -> int:
    """1 or more: batch sizes, step counts, patience, ranks."""
    return _integer(text, 1, "a positive integer")


def count(text: str) -> int:
    """0 or more: how many of something to show or sample, where 0 means none."""
    return _integer(text, 0, "0 or more")
