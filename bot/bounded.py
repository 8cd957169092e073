"""A bounded map: nothing the bot keeps per channel or per user grows with its audience."""

from __future__ import annotations

from collections import OrderedDict
from typing import TypeVar

K = TypeVar("K")
V = TypeVar("V")


class LRU(OrderedDict[K, V]):
    """At most `maxsize` entries. Setting a key (or `touch`) makes it the newest; past the bound
    the oldest goes. Reading leaves the order alone, so a lookup never evicts anything."""

    def __init__(self, maxsize: int):
        if maxsize < 1:
            raise ValueError("maxsize must be at least 1")
        super().__init__()
        self.maxsize = maxsize

    def __setitem__(self, key: K, value: V) -> None:
        super().__setitem__(key, value)
        self.move_to_end(key)
        while len(self) > self.maxsize:
            self.popitem(last=False)

    def touch(self, key: K) -> None:
        self.move_to_end(key)
