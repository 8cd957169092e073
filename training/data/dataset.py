"""Writing the dataset folder (contract 2 in DESIGN.md): train.jsonl, val.jsonl, stats.json.

Examples are streamed to a scratch file as they are made, with duplicates dropped by an
8-byte digest (so memory holds digests, not examples). Once all are known, conversations
are shuffled with the seed and whole conversations go to val until it holds its share:
splitting by line would put half a conversation in each and let val leak into train.
"""

from __future__ import annotations

import json
import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from training.data.conversations import Example, json_string

SCRATCH_NAME = ".examples.jsonl"


@dataclass
class SplitCounts:
    train_examples: int = 0
    val_examples: int = 0
    train_conversations: int = 0
    val_conversations: int = 0


def choose_val_conversations(sizes: dict[str, int], val_share: float, seed: int) -> set[str]:
    """Whole conversations for val, about `val_share` of the examples, reproducible by seed.

    With at least two conversations and a share above zero, val gets at least one, so a
    small dataset still has something to measure on; train always keeps at least one.
    """
    if val_share <= 0 or len(sizes) < 2:
        return set()
    order = sorted(sizes)  # a fixed order before shuffling: dicts differ by input order
    random.Random(seed).shuffle(order)
    target = val_share * sum(sizes.values())
    chosen: set[str] = set()
    taken = 0
    for conversation in order[:-1]:
        if taken >= target:
            break
        chosen.add(conversation)
        taken += sizes[conversation]
    return chosen


class ExampleWriter:
    """Collects examples into `out_dir`, then splits them into train.jsonl and val.jsonl."""

    def __init__(self, out_dir: Path):
        self.out_dir = out_dir
        self.scratch = out_dir / SCRATCH_NAME
        self._handle = self.scratch.open("w", encoding="utf-8")
        self._seen: set[int] = set()
        self.sizes: Counter[str] = Counter()  # conversation -> examples
        self.duplicates = 0
        self.written = 0
        self._conversation = ("", '""')  # the last conversation id, and as JSON

    def add(self, example: Example) -> bool:
        """Keep `example` unless an identical one (same context and target) was kept."""
        turns = [turn.encoded() for turn in example.turns]
        # Python's own 64-bit hash of the turns' JSON: as collision-safe as an 8-byte digest;
        # each turn's string caches its hash, so a turn in eight examples is hashed once.
        # Only this run compares the values, so the per-process seed is harmless.
        digest = hash(tuple(turns))
        if digest in self._seen:
            self.duplicates += 1
            return False
        self._seen.add(digest)
        if example.conversation != self._conversation[0]:  # examples come by conversation
            self._conversation = (example.conversation, json_string(example.conversation))
        body = ",".join(turns)
        self._handle.write(f'{{"messages":[{body}],"conversation":{self._conversation[1]}}}\n')
        self.sizes[example.conversation] += 1
        self.written += 1
        return True

    def finish(self, val_share: float, seed: int) -> SplitCounts:
        self._handle.close()
        self._seen.clear()
        val = choose_val_conversations(self.sizes, val_share, seed)
        counts = SplitCounts(val_conversations=len(val),
                             train_conversations=len(self.sizes) - len(val))
        # Compared as `add` wrote them (JSON strings), so no line needs decoding.
        val_written = {json_string(conversation) for conversation in val}
        with (self.scratch.open(encoding="utf-8") as examples,
              (self.out_dir / "train.jsonl").open("w", encoding="utf-8") as train,
              (self.out_dir / "val.jsonl").open("w", encoding="utf-8") as held_out):
            for line in examples:
                if val_written and _conversation_of(line) in val_written:
                    held_out.write(line)
                    counts.val_examples += 1
                else:
                    train.write(line)
                    counts.train_examples += 1
        self.scratch.unlink()
        return counts

    def abandon(self) -> None:
        self._handle.close()
        self.scratch.unlink(missing_ok=True)


def _conversation_of(line: str) -> str:
    """The conversation id as JSON, which `add` writes last on each line: `"<id>"`."""
    return line[line.rindex(',"conversation":') + len(',"conversation":'):].rstrip()[:-1]


def write_stats(out_dir: Path, stats: dict) -> None:
    text = json.dumps(stats, indent=2, ensure_ascii=False, sort_keys=False)
    (out_dir / "stats.json").write_text(text + "\n", encoding="utf-8")
