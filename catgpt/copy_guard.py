"""The copy guard: a reply that repeats a training reply, whole or a long run of it, is drawn again.

A model trained hard on a small history recites it, and those are private messages served to
anyone who mentions the bot. `catgpt-train train` writes `copy_index.json` into the model folder
with two indexes of the training replies:
- runs: keyed 64-bit hashes of every run of `n` tokens of every training reply, where `n` was
  chosen from the data (training/model/copy_index.py: longer than the runs the person's own
  held-out replies share with their training replies, i.e. longer than their habitual phrases);
- whole replies: keyed hashes of every training reply of WHOLE_MIN_CHARS or more, normalised
  (`units`: NFKC, case-folded, invisible characters out, split into words and
  punctuation runs), so a short message -- most chat messages are shorter than n tokens -- is
  found too, in any case or spacing, alone or inside a longer reply.
The reply path (catgpt.reply.Replier) counts a reply's runs and whole replies found in the index
and draws again for those that have any, a few times, then sends the least copying candidate.

The index holds no text: keyed BLAKE2b with a random per-folder key (stored in the file, so the
bot can check replies; it is a salt, not a secret). Anyone holding the folder can still test a
guessed reply for membership, which is why only replies of 20+ characters are indexed whole and
runs are long: a guess must get a whole message right, word for word.

The index records its tokenizer's fingerprint. A folder whose tokenizer is not the one indexed
would be guarded by ids that never match (the guard silently does nothing), and a folder whose
catgpt.json says train wrote an index but whose copy_index.json is missing would be served
unguarded: both are refused at load, in one line that says how to fix it (copy the folder again,
or CATGPT_COPY_GUARD=off to serve it unguarded knowingly). Refused rather than warned about:
privacy is the default, and a warning in a bot's log is read after the messages went out.
An index written before fingerprints (format 1) is served with a WARNING: it cannot be checked
and does not cover whole replies; training the folder again makes a current one.

Its work is bounded by the reply budget: the Replier cuts a completion to what max_new_tokens can
hold before cleaning and guarding it, so a server that answers megabytes costs milliseconds.

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
import re
import struct
import sys
import unicodedata
from array import array
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from catgpt.errors import ModelFolderError
from catgpt.folder import CATGPT_JSON, generation_defaults, read_json

log = logging.getLogger(__name__)

INDEX_FILE = "copy_index.json"
FORMAT = 2  # 1: runs only, no tokenizer fingerprint (still read, with a warning)
KEY_BYTES = 16
RETRIES = 3  # draws after the first for a reply that copies; each costs about one generation
HASH = "blake2b-64, keyed, over the n token ids as little-endian uint32"
WHOLE_HASH = "blake2b-64, keyed, over the normalised units joined by U+001F, UTF-8"
WHOLE_MIN_CHARS = 20  # a training reply this long (stripped) is indexed whole
# Longer replies are covered by the runs (64 units are at least 64 tokens, far past any n), and
# the windows a reply is searched with stay few: at most this many per unit of the reply.
WHOLE_MAX_UNITS = 64
_UNIT = re.compile(r"\w+|[^\w\s]+")
# What a tokenizer's fingerprint encodes besides its vocabulary: scripts, spacing, digits, an
# emoji, so a changed normaliser or pre-tokenizer shows too.
_PROBE = "Hello, wörld!  nya~ :3 12345 \U0001f431 ÇA VA?\n\tmrrp -- the END"


def token_ids(tokenizer, text: str) -> list[int]:
    """How the guard (and eval's copy measures) see a text: its ids, no special tokens added."""
    return list(tokenizer(text, add_special_tokens=False)["input_ids"])


def reply_sequences(tokenizer, replies: Iterable[str]) -> list[list[int]]:
    """What the runs index holds for `replies`: each distinct reply's ids alone and after a space
    (a byte-level BPE writes a word's first token differently after a space, so a reply quoted
    mid-sentence still matches). `train` and eval's measures both index through this."""
    sequences = []
    for reply in sorted(set(replies)):
        if reply.strip():
            sequences += [token_ids(tokenizer, reply), token_ids(tokenizer, " " + reply)]
    return sequences


def units(text: str) -> tuple[str, ...]:
    """A text as the whole-reply index compares it: NFKC, case-folded, invisible (format)
    characters out (the reply cleaning puts a zero-width space into @everyone), then its words
    and punctuation runs; spacing is not kept."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    return tuple(_UNIT.findall(text))


def tokenizer_fingerprint(tokenizer) -> str:
    """What the index's ids depend on: the vocabulary (with added tokens) and how a probe text
    is split. Equal across save and load of one tokenizer, different for another one."""
    digest = hashlib.sha256()
    digest.update(json.dumps(sorted(tokenizer.get_vocab().items())).encode("utf-8"))
    digest.update(json.dumps(token_ids(tokenizer, _PROBE)).encode("utf-8"))
    return "sha256:" + digest.hexdigest()[:32]


def _hash_ids(key: bytes, gram: Sequence[int]) -> int:
    data = struct.pack(f"<{len(gram)}I", *gram)
    return int.from_bytes(hashlib.blake2b(data, digest_size=8, key=key).digest(), "little")


def _hash_units(key: bytes, words: Sequence[str]) -> int:
    data = "\x1f".join(words).encode("utf-8")
    return int.from_bytes(hashlib.blake2b(data, digest_size=8, key=key).digest(), "little")


def _pack(hashes: array) -> str:
    packed = array("Q", hashes)
    if sys.byteorder == "big":
        packed.byteswap()  # the file is little-endian everywhere
    return base64.b64encode(packed.tobytes()).decode("ascii")


def _unpack(text: str, count) -> array:
    hashes = array("Q")
    hashes.frombytes(base64.b64decode(text, validate=True))
    if sys.byteorder == "big":
        hashes.byteswap()
    if len(hashes) != count:
        raise ValueError("the hash count does not match")
    return hashes


def _member(hashes: array, value: int) -> bool:
    at = bisect.bisect_left(hashes, value)
    return at < len(hashes) and hashes[at] == value


@dataclass(frozen=True)
class NgramIndex:
    """Sorted keyed hashes of token n-grams: membership without the text (8 bytes per n-gram).

    The one n-gram index of the project: the guard, `train`'s choice of n and eval's copy
    measures all count runs with it."""

    n: int
    key: bytes
    hashes: array  # 'Q', sorted, distinct

    @classmethod
    def build(
        cls, sequences: Iterable[Sequence[int]], n: int, key: bytes | None = None
    ) -> NgramIndex:
        key = key if key is not None else os.urandom(KEY_BYTES)
        found = {
            _hash_ids(key, ids[i : i + n]) for ids in sequences for i in range(len(ids) - n + 1)
        }
        return cls(n, key, array("Q", sorted(found)))

    def __len__(self) -> int:
        return len(self.hashes)

    def __contains__(self, gram: Sequence[int]) -> bool:
        return _member(self.hashes, _hash_ids(self.key, gram))

    def hits(self, ids: Sequence[int]) -> int:
        """How many of the n-token windows of `ids` are in the index (0: it copies no run)."""
        n = self.n
        return sum(tuple(ids[i : i + n]) in self for i in range(len(ids) - n + 1))

    def to_json(self) -> dict:
        return {"n": self.n, "hash": HASH, "count": len(self.hashes), "hashes": _pack(self.hashes)}

    @classmethod
    def from_json(cls, data: dict, key: bytes) -> NgramIndex:
        n = data["n"]
        if not isinstance(n, int) or isinstance(n, bool) or n < 1:
            raise ValueError(f"n must be a positive whole number, not {n!r}")
        return cls(n, key, _unpack(data["hashes"], data.get("count")))


@dataclass(frozen=True)
class ReplyIndex:
    """Keyed hashes of whole training replies (WHOLE_MIN_CHARS or more), normalised (`units`).

    `found` counts the distinct indexed replies a text contains as a run of its units: the
    reply itself, or the reply inside a longer one ("lol " + it + "!!")."""

    key: bytes
    hashes: array  # 'Q', sorted, distinct
    longest: int  # units of the longest reply indexed: no window past it can match

    @classmethod
    def build(cls, replies: Iterable[str], key: bytes | None = None) -> ReplyIndex:
        key = key if key is not None else os.urandom(KEY_BYTES)
        found, longest = set(), 0
        for reply in replies:
            words = units(reply)
            if len(reply.strip()) >= WHOLE_MIN_CHARS and 0 < len(words) <= WHOLE_MAX_UNITS:
                found.add(_hash_units(key, words))
                longest = max(longest, len(words))
        return cls(key, array("Q", sorted(found)), longest)

    def __len__(self) -> int:
        return len(self.hashes)

    def found(self, text: str) -> int:
        """Distinct indexed replies in `text`; about len(units) * longest hashes (bounded by
        the reply budget, which the Replier applies before the guard)."""
        if not self.hashes:
            return 0
        words = units(text)
        seen = set()
        for start in range(len(words)):
            for end in range(start + 1, min(len(words), start + self.longest) + 1):
                value = _hash_units(self.key, words[start:end])
                if _member(self.hashes, value):
                    seen.add(value)
        return len(seen)

    def to_json(self) -> dict:
        return {"hash": WHOLE_HASH, "min_chars": WHOLE_MIN_CHARS, "longest": self.longest,
                "count": len(self.hashes), "hashes": _pack(self.hashes)}  # fmt: skip

    @classmethod
    def from_json(cls, data: dict, key: bytes) -> ReplyIndex:
        longest = data["longest"]
        if not isinstance(longest, int) or isinstance(longest, bool) or longest < 0:
            raise ValueError(f"longest must be a whole number, not {longest!r}")
        return cls(key, _unpack(data["hashes"], data.get("count")), longest)


@dataclass(frozen=True)
class CopyIndex:
    """What copy_index.json holds: the runs, the whole replies, and whose ids they are."""

    runs: NgramIndex
    whole: ReplyIndex | None  # None: a format-1 file (runs only)
    tokenizer: str | None  # the fingerprint; None: a format-1 file

    @property
    def n(self) -> int:
        return self.runs.n

    @classmethod
    def build(
        cls,
        tokenizer,
        replies: Sequence[str],
        n: int,
        sequences: Sequence[Sequence[int]] | None = None,
    ) -> CopyIndex:
        """Both indexes of `replies` under one fresh key, for `tokenizer`.

        sequences: reply_sequences(tokenizer, replies) when the caller has them already
        (`train` chooses n on them), so the training replies are tokenized once."""
        key = os.urandom(KEY_BYTES)
        if sequences is None:
            sequences = reply_sequences(tokenizer, replies)
        runs = NgramIndex.build(sequences, n, key)
        return cls(runs, ReplyIndex.build(replies, key), tokenizer_fingerprint(tokenizer))

    def to_json(self) -> dict:
        return {"format": FORMAT, "key": self.runs.key.hex(), "tokenizer": self.tokenizer,
                "runs": self.runs.to_json(), "whole": self.whole.to_json()}  # fmt: skip

    @classmethod
    def from_json(cls, data: dict) -> CopyIndex:
        if not isinstance(data, dict) or data.get("format") not in (1, FORMAT):
            raise ValueError(f"not a copy index of format 1 or {FORMAT}")
        key = bytes.fromhex(data["key"])
        if not key:
            raise ValueError("no key")
        if data["format"] == 1:  # the runs at the top level
            return cls(NgramIndex.from_json(data, key), None, None)
        if not isinstance(data["tokenizer"], str):
            raise ValueError("no tokenizer fingerprint")
        return cls(NgramIndex.from_json(data["runs"], key),
                   ReplyIndex.from_json(data["whole"], key), data["tokenizer"])  # fmt: skip

    def save(self, path: Path) -> None:
        Path(path).write_text(json.dumps(self.to_json()) + "\n", encoding="utf-8")


class CopyGuard:
    """Counts what of the training replies a reply repeats (runs of `n` tokens, and whole
    replies); the Replier draws again for a reply with any."""

    def __init__(
        self, index: CopyIndex, encode: Callable[[str], Sequence[int]], retries: int = RETRIES
    ):
        self.index = index
        self.encode = encode
        self.retries = retries

    @property
    def n(self) -> int:
        return self.index.n

    def runs(self, text: str) -> int:
        return self.index.runs.hits(self.encode(text)) if text else 0

    def whole(self, text: str) -> int:
        whole = self.index.whole
        return whole.found(text) if text and whole is not None else 0

    def copied(self, text: str) -> int:
        """Runs and whole replies of the training replies in `text` (0: it copies nothing)."""
        return self.runs(text) + self.whole(text)


def _refused(what: str, where: Path) -> ModelFolderError:
    return ModelFolderError(
        what,
        where=str(where),
        fix="Copy the whole model folder again (or train it again with `catgpt-train train`); "
        "to serve it without the copy guard knowingly, set CATGPT_COPY_GUARD=off.",
    )


def read_index(folder: str | Path) -> CopyIndex | None:
    """The folder's copy index; None when it has none; a damaged one is one clear line."""
    path = Path(folder) / INDEX_FILE
    if not path.is_file():
        return None
    try:
        return CopyIndex.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError, KeyError, TypeError) as error:
        raise ModelFolderError(
            f"unreadable {INDEX_FILE} ({error})",
            where=str(path),
            fix="Copy the model folder again, or train it again with `catgpt-train train`.",
        ) from None


def load_guard(folder: str | Path, tokenizer, retries: int = RETRIES) -> CopyGuard | None:
    """The guard for a model folder, or None (one log line) for a folder train did not index.

    Raises ModelFolderError when the guard would silently do nothing: catgpt.json says train
    wrote an index that is missing, or the index was built with another tokenizer.
    """
    folder = Path(folder)
    index = read_index(folder)
    if index is None:
        card = read_json(folder, CATGPT_JSON) or {}
        if card.get("copy_guard"):
            raise _refused(f"catgpt.json says training wrote {INDEX_FILE}, but it is missing",
                           folder / INDEX_FILE)  # fmt: skip
        # INFO, not WARNING: any Hugging Face folder may be served, and most have no index.
        log.info(
            "%s has no %s: the copy guard is off, so replies may repeat training messages word "
            "for word (train the folder again to make one)", folder, INDEX_FILE,
        )  # fmt: skip
        return None
    if index.tokenizer is None:
        log.warning(
            "%s is of format 1: it cannot be checked against this tokenizer and does not cover "
            "whole replies (most chat messages); train the folder again for a current one",
            folder / INDEX_FILE,
        )
    elif index.tokenizer != tokenizer_fingerprint(tokenizer):
        raise _refused(f"{INDEX_FILE} was built with another tokenizer than the folder's, so "
                       "the copy guard would find nothing", folder / INDEX_FILE)  # fmt: skip
    if not generation_defaults(folder).get("do_sample"):
        # Greedy decoding writes the same reply every time: drawing again would only spend
        # generation (locally and on a server alike). The guard still counts the copying.
        log.info("copy guard: %s decodes greedily, so a copying reply is not drawn again",
                 folder)  # fmt: skip
        retries = 0
    else:
        log.info("copy guard on: replies repeating a training reply, or a %d-token run of one, "
                 "are drawn again (up to %d times)", index.n, retries)  # fmt: skip
    return CopyGuard(index, lambda text: token_ids(tokenizer, text), retries)
