"""Give the heap that start-up used and freed back to the operating system.

Loading a model folder parses the tokenizer's JSON, renders templates and (with the bot's
database) runs migrations: tens of MB allocated and freed again. glibc's malloc keeps freed
memory in its arenas rather than returning it, so a bot that has finished starting would stay
about 30 MB larger than what it holds (bench/bot_memory.py: 166 -> 136 MB on the openai
backend). `malloc_trim(0)` returns it; it is called once after each start-up step, never per
message. Elsewhere (macOS, musl, Windows) there is no such call and this does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools


@functools.cache
def _malloc_trim():
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        return ctypes.CDLL(name).malloc_trim
    except (OSError, AttributeError):  # not glibc
        return None


def trim_heap() -> bool:
    """Return freed heap pages to the OS; whether the platform could."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
