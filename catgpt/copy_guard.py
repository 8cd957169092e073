"""The copy guard: a reply that repeats a long run of one training reply is drawn again.

A model trained hard on a small history recites it, and those are private messages served to
anyone who mentions the bot. `catgpt-train train` writes `copy_index.json` into the model folder:
keyed 64-bit hashes of every run of `n` tokens of every training reply, where `n` was chosen from
the data (training/model/copy_index.py: longer than the runs the person's own held-out replies
share with their training replies, i.e. longer than their habitual phrases). The reply path
(catgpt.reply.Replier) counts a reply's runs found in the index and draws again for those that
have any, a few times, then sends the least copying candidate.

The index holds no text: token ids are hashed with BLAKE2b keyed by a random per-folder key
(stored in the file, so the bot can check replies; it is a salt, not a secret). Anyone holding
the folder can still test a guessed run of `n` tokens for membership, which is why `n` is long:
a guess must get a whole sentence right, word for word.

Backend-agnostic: it reads the cleaned reply text and tokenizes it itself (the folder's
tokenizer), so a backend that returns text only (an OpenAI-compatible server) is guarded alike.
No torch here.
"""

from __future__ import annotations

import base64
import bisect
import hashlib
import json
import logging
import os
import struct
import sys
from array import array
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from catgpt.errors import ModelFolderError
from catgpt.folder import generation_defaults

log = logging.getLogger(__name__)

INDEX_FILE = "copy_index.json"
FORMAT = 1
KEY_BYTES = 16
RETRIES = 3  # draws after the first for a reply that copies; each costs about one generation
HASH = "blake2b-64, keyed, over the n token ids as little-endian uint32"


def token_ids(tokenizer, text: str) -> list[int]:
    """How the guard (and eval's copy measures) see a text: its ids, no special tokens added."""
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def _hash(key: bytes, gram: Sequence[int]) -> int:
    data = struct.pack(f"<{len(gram)}I", *gram)
    return int.from_bytes(hashlib.blake2b(data, digest_size=8, key=key).digest(), "little")


@dataclass(frozen=True)
class NgramIndex:
    """Sorted keyed hashes of token n-grams: membership without the text (8 bytes per n-gram)."""

    n: int
    key: bytes
    hashes: array  # 'Q', sorted, distinct

    @classmethod
    def build(
        cls, sequences: Iterable[Sequence[int]], n: int, key: bytes | None = None
    ) -> NgramIndex:
        key = key if key is not None else os.urandom(KEY_BYTES)
        found = {
            _hash(key, ids[i : i + n]) for ids in sequences for i in range(len(ids) - n + 1)
        }
        return cls(n, key, array("Q", sorted(found)))

    def __len__(self) -> int:
        return len(self.hashes)

    def __contains__(self, gram: Sequence[int]) -> bool:
        value = _hash(self.key, gram)
        at = bisect.bisect_left(self.hashes, value)
        return at < len(self.hashes) and self.hashes[at] == value

    def hits(self, ids: Sequence[int]) -> int:
        """How many of the n-token windows of `ids` are in the index (0: it copies no run)."""
        n = self.n
        return sum(tuple(ids[i : i + n]) in self for i in range(len(ids) - n + 1))

    def to_json(self) -> dict:
        packed = array("Q", self.hashes)
        if sys.byteorder == "big":
            packed.byteswap()  # the file is little-endian everywhere
        return {
            "format": FORMAT,
            "n": self.n,
            "hash": HASH,
            "key": self.key.hex(),
            "count": len(self.hashes),
            "hashes": base64.b64encode(packed.tobytes()).decode("ascii"),
        }

    @classmethod
    def from_json(cls, data: dict) -> NgramIndex:
        if not isinstance(data, dict) or data.get("format") != FORMAT:
            raise ValueError(f"not a copy index of format {FORMAT}")
        n, key = data["n"], bytes.fromhex(data["key"])
        if not isinstance(n, int) or n < 1 or not key:
            raise ValueError("no n or no key")
        hashes = array("Q")
        hashes.frombytes(base64.b64decode(data["hashes"], validate=True))
        if sys.byteorder == "big":
            hashes.byteswap()
        if len(hashes) != data.get("count"):
            raise ValueError("the hash count does not match")
        return cls(n, key, hashes)

    def save(self, path: Path) -> None:
        Path(path).write_text(json.dumps(self.to_json()) + "\n", encoding="utf-8")


class CopyGuard:
    """Counts the training runs of `index.n` tokens a reply repeats; the Replier draws again."""

    def __init__(
        self, index: NgramIndex, encode: Callable[[str], Sequence[int]], retries: int = RETRIES
    ):
        self.index = index
        self.encode = encode
        self.retries = retries

    @property
    def n(self) -> int:
        return self.index.n

    def copied(self, text: str) -> int:
        return self.index.hits(self.encode(text)) if text else 0


def read_index(folder: str | Path) -> NgramIndex | None:
    """The folder's copy index; None when it has none; a damaged one is one clear line."""
    path = Path(folder) / INDEX_FILE
    if not path.is_file():
        return None
    try:
        return NgramIndex.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ModelFolderError(
            f"unreadable {INDEX_FILE} ({error})",
            where=str(path),
            fix="Copy the model folder again, or train it again with `catgpt-train train`.",
        ) from None


def load_guard(folder: str | Path, tokenizer, retries: int = RETRIES) -> CopyGuard | None:
    """The guard for a model folder, or None (one log line) for a folder without an index."""
    index = read_index(folder)
    if index is None:
        # INFO, not WARNING: any Hugging Face folder may be served, and most have no index.
        log.info(
            "%s has no %s: the copy guard is off, so replies may repeat training messages word "
            "for word (train the folder again to make one)", folder, INDEX_FILE,
        )  # fmt: skip
        return None
    if not generation_defaults(folder).get("do_sample"):
        # Greedy decoding writes the same reply every time: drawing again would only spend
        # generation (locally and on a server alike). The guard still counts the copying.
        log.info("copy guard: %s decodes greedily, so a copying reply is not drawn again",
                 folder)  # fmt: skip
        retries = 0
    else:
        log.info("copy guard on: replies repeating a %d-token run of a training reply are "
                 "drawn again (up to %d times)", index.n, retries)  # fmt: skip
    return CopyGuard(index, lambda text: token_ids(tokenizer, text), retries)
