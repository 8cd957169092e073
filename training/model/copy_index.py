"""The copy guard's index, written by `train`: how long a "long run" is, chosen from the data.

People repeat themselves: their held-out (val) replies share short runs of tokens with their
training replies ("gonna find the sunniest windowsill"), and those habits are the style the model
should learn. A reply sharing a *long* run with one training reply is a recital. "Long" is the
smallest n (within FLOOR..CEILING tokens) for which at most THRESHOLD of the val replies share an
n-token run with some training reply: longer than the person's habitual phrases. Without val
replies there is nothing to measure, and n is the ceiling.

Writes MODEL/copy_index.json (catgpt.copy_guard: keyed hashes of the runs of n tokens and of the
whole replies of 20+ characters, the tokenizer's fingerprint, no text) and returns the
"copy_guard" section of catgpt.json: n, why, and the val share at each n measured.

The runs are counted with the guard's own index (catgpt.copy_guard.NgramIndex over
reply_sequences: each reply alone and after a space), so the shares n is read from are what the
guard would find.
"""

from __future__ import annotations

import logging
from pathlib import Path

from catgpt.copy_guard import (
    INDEX_FILE,
    RETRIES,
    WHOLE_MIN_CHARS,
    CopyIndex,
    NgramIndex,
    reply_sequences,
    token_ids,
)
from training.model.measures import split_target

log = logging.getLogger(__name__)

FLOOR, CEILING = 6, 16  # tokens: below 6, common phrases; above 16, a whole chat message
THRESHOLD = 0.05  # share of the person's real held-out replies the guard may treat as copies


def shares_by_length(
    train: list[list[int]], val: list[list[int]], lengths: range
) -> dict[int, float]:
    """For each n: the share of `val` replies that share an n-token run with some `train` one
    (`train` as the guard indexes it: catgpt.copy_guard.reply_sequences)."""
    key = bytes(16)  # a throwaway index: any key counts the same
    shares = {}
    for n in lengths:
        index = NgramIndex.build(train, n, key)
        shares[n] = sum(index.hits(ids) > 0 for ids in val) / len(val) if val else 0.0
    return shares


def choose_n(shares: dict[int, float], threshold: float = THRESHOLD) -> tuple[int, str]:
    """The smallest n whose val share is at most `threshold` (else the ceiling), and why."""
    if not shares:
        return CEILING, "no val replies to measure habits on: the ceiling"
    for n in sorted(shares):
        if shares[n] <= threshold:
            return n, f"the shortest run at most {threshold:.0%} of the val replies share"
    return CEILING, f"no run up to {CEILING} tokens is shared by {threshold:.0%} or fewer of " \
        "the val replies: the ceiling"  # fmt: skip


def write_index(folder: Path, tokenizer, train: list[dict], val: list[dict]) -> dict:
    """Choose n, write folder/copy_index.json, return catgpt.json's "copy_guard" section."""
    replies = [split_target(e)[1] for e in train]
    val_ids = [token_ids(tokenizer, split_target(e)[1]) for e in val]
    train_ids = reply_sequences(tokenizer, replies)
    shares = shares_by_length(train_ids, val_ids, range(FLOOR, CEILING + 1)) if val_ids else {}
    n, why = choose_n(shares)
    index = CopyIndex.build(tokenizer, replies, n, train_ids)
    index.save(Path(folder) / INDEX_FILE)
    log.info("copy guard: runs of %d tokens (%s; %s of the val replies share one with training)",
             n, why, f"{shares[n]:.0%}" if shares else "no val")  # fmt: skip
    return {
        "file": INDEX_FILE,
        "n": n,
        "why": why,
        "ngrams": len(index.runs),
        # Training replies of WHOLE_MIN_CHARS or more, found whole in any reply.
        "whole_replies": len(index.whole),
        "whole_min_chars": WHOLE_MIN_CHARS,
        "tokenizer": index.tokenizer,
        "retries": RETRIES,
        "threshold": THRESHOLD,
        "bounds": [FLOOR, CEILING],
        "val_replies": len(val_ids),
        # The val share at each n: the person's habits, the curve n was read from.
        "val_share_by_n": {str(k): round(v, 4) for k, v in shares.items()},
    }
