"""Opening a JSON export safely: past a byte order mark, and never nested absurdly deep.

ijson's cost grows with the square of the nesting depth (it keeps the path to each value
as a string): content nested 50,000 levels deep takes half a minute to parse for 100 KB.
DiscordChatExporter nests six or seven levels (messages > message > embed > fields > field),
so anything past MAX_DEPTH is a damaged or crafted file and is refused at once.
"""

from __future__ import annotations

from pathlib import Path

import ijson

from training.errors import ExportError
from training.readers.base import CountingReader

MAX_DEPTH = 64
_STRIDE = 17  # prime: a repeating pattern shorter than this is sampled at every offset


def open_json(path: Path):
    """The file in binary, past a UTF-8 byte order mark if it has one (Windows editors
    write one; the JSON after it is fine, but the parser would call the mark invalid)."""
    raw = path.open("rb")
    if raw.read(3) != b"\xef\xbb\xbf":
        raw.seek(0)
    return raw


class DepthGuard(CountingReader):
    """A reader for ijson that counts bytes (for error messages) and refuses JSON nested
    deeper than MAX_DEPTH before the parser reaches it.

    The look at each chunk is cheap: deep nesting is a run of brackets (`[[[[`, `{"a":{"a":`),
    so a chunk where brackets are an eighth or more of every seventeenth byte is the sign
    (DCE JSON has about one in forty, compact or pretty-printed). Only then is the true
    depth measured, with ijson's event parser (linear in the depth), on a second handle
    that picks up where it last stopped. Counting every byte instead cost 8% of prepare. A
    message full of typed brackets can trip the sign; the measurement clears it.
    """

    def __init__(self, raw, path: Path):
        super().__init__(raw)
        self._path = path
        self._measure = None  # (handle, its counter, event iterator), once needed
        self._depth = 0

    def read(self, size: int = -1) -> bytes:
        chunk = super().read(size)
        sample = chunk[::_STRIDE]
        if (sample.count(b"[") + sample.count(b"{")) * 8 >= len(sample) > 0:
            self._measure_to(self.position)
        return chunk

    def close(self) -> None:
        if self._measure is not None:
            self._measure[0].close()

    def _measure_to(self, position: int) -> None:
        if self._measure is None:
            handle = open_json(self._path)
            counter = CountingReader(handle)
            self._measure = (handle, counter, ijson.basic_parse(counter))
        _, counter, events = self._measure
        if counter.position > position:
            return  # measured past this chunk already
        try:
            for event, _ in events:
                if event in ("start_map", "start_array"):
                    self._depth += 1
                    if self._depth > MAX_DEPTH:
                        raise ExportError(
                            f"the JSON is nested more than {MAX_DEPTH} levels deep (near byte "
                            f"{counter.position}); DiscordChatExporter never writes that",
                            where=str(self._path),
                            fix="The file is damaged or was altered: re-export the channel.",
                        )
                elif event in ("end_map", "end_array"):
                    self._depth -= 1
                if counter.position > position:
                    return
        except ijson.JSONError:
            pass  # the main parse reports a broken file, with its place
