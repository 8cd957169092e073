"""Keep a process's resident memory near what it holds: glibc's malloc, told two things.

Start-up (the bot): loading a model folder parses the tokenizer's JSON, renders templates and
(with the bot's database) runs migrations: tens of MB allocated and freed again. malloc keeps
freed memory in its arenas rather than returning it, so a bot that has finished starting would
stay about 30 MB larger than what it holds (bench/bot_memory.py: 166 -> 136 MB on the openai
backend). `trim_heap` (`malloc_trim(0)`) returns it, once after each start-up step.

Training: every forward and backward pass allocates and frees hundreds of MB of activations in
blocks of 1-30 MB. glibc gives a block that large its own mapping, but each time one is freed
it raises that threshold to the block's size, so after the first pass the blocks come from the
heap, and freed there they stay resident: about 0.5 GB on smollm2 at one example a pass
(bench/train_memory.py). `return_large_blocks` fixes the threshold, which turns that
adjustment off: a large block is mapped on allocation and unmapped on free.

Elsewhere (macOS, musl, Windows) there are no such calls and both do nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import functools

M_MMAP_THRESHOLD = -3  # mallopt's parameter number, from glibc's malloc.h
LARGE_BLOCK_BYTES = 1 << 20


@functools.cache
def _glibc():
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        libc = ctypes.CDLL(name)
        libc.malloc_trim, libc.mallopt  # noqa: B018 (present in glibc only)
    except (OSError, AttributeError):
        return None
    return libc


def trim_heap() -> bool:
    """Return freed heap pages to the OS; whether the platform could."""
    libc = _glibc()
    if libc is None:
        return False
    libc.malloc_trim(0)
    return True


def return_large_blocks(threshold: int = LARGE_BLOCK_BYTES) -> bool:
    """From now on, blocks of `threshold` bytes or more go back to the OS when freed; whether
    the platform could. Smaller ones (Python's objects, small tensors) are not affected."""
    libc = _glibc()
    if libc is None:
        return False
    return bool(libc.mallopt(M_MMAP_THRESHOLD, threshold))
