"""bot/heap.py: the start-up's freed heap goes back to the OS (glibc), and elsewhere nothing
breaks. Measured in a fresh interpreter, so the test process's own heap does not count."""

from __future__ import annotations

import ctypes.util
import json
import platform

import pytest

from bot.heap import trim_heap

from .conftest import run_python

CHILD = """
import json
from pathlib import Path
from bot.heap import trim_heap

def rss_mb():
    line = next(l for l in Path('/proc/self/status').read_text().splitlines()
                if l.startswith('VmRSS'))
    return int(line.split()[1]) / 1024

# ~120 MB in 2 kB blocks (malloc's, not Python's small-object arenas), then all but every
# 64th freed: the survivors pin the heap's top, so malloc keeps the holes without a trim.
blocks = [bytes(2048) for _ in range(60_000)]
kept = blocks[::64]
del blocks
held = rss_mb()
trimmed = trim_heap()
print(json.dumps({"held": held, "after": rss_mb(), "trimmed": trimmed, "kept": len(kept)}))
"""


@pytest.mark.skipif(platform.system() != "Linux" or "glibc" not in platform.libc_ver()[0],
                    reason="malloc_trim is glibc's")
def test_freed_heap_goes_back_to_the_os():
    result = run_python("-c", CHILD, stdin="")
    assert result.returncode == 0, result.stderr
    figures = json.loads(result.stdout)
    assert figures["trimmed"]
    assert figures["after"] < figures["held"] - 50  # most of the ~118 MB freed is returned


def test_without_a_c_library_it_does_nothing(monkeypatch):
    from bot import heap

    heap._malloc_trim.cache_clear()
    monkeypatch.setattr(ctypes.util, "find_library", lambda name: None)
    try:
        assert trim_heap() is False
    finally:
        heap._malloc_trim.cache_clear()
