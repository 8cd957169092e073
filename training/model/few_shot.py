"""The "prompted base": what people do instead of fine-tuning, for `eval` to compare against.

The base model gets a few of the persona's real *training* replies as example turns in front of
the very context the fine-tuned model answers: each example is the turn the persona answered
and the persona's reply, as in the dataset, so the base sees who speaks how before the chat it
is to continue. Pure functions over dataset examples ({"messages": [...]}, contract 3).
"""

from __future__ import annotations

import random

SHOT_MAX_CHARS = 200  # keep examples short, so the prefix leaves the context its room


def pick_shots(train: list[dict], count: int, seed: int) -> list[dict]:
    """`count` (answered turn, persona reply) message pairs from train, chosen by seed."""
    if count <= 0:
        return []
    usable = []
    for example in train:
        messages = example["messages"]
        reply, before = messages[-1], messages[-2] if len(messages) > 1 else None
        if (reply["role"] == "assistant" and before is not None and before["role"] != "assistant"
                and 0 < len(reply["content"]) <= SHOT_MAX_CHARS
                and len(before["content"]) <= SHOT_MAX_CHARS):  # fmt: skip
            usable.append([before, reply])
    # One pick per distinct reply: a seed that drew the same "nya~" three times shows one style
    # once, not the range of it.
    distinct = list({pair[1]["content"]: pair for pair in usable}.values())
    chosen = random.Random(seed).sample(distinct, min(count, len(distinct)))
    return [message for pair in chosen for message in pair]


def with_prefix(examples: list[dict], prefix: list[dict]) -> list[dict]:
    """The same examples with `prefix` messages in front (the target stays the last turn)."""
    return [{**example, "messages": [*prefix, *example["messages"]]} for example in examples]


def other_speakers(examples: list[dict]) -> list[str]:
    """Everyone else's messages in these examples, each once (contexts overlap)."""
    seen = {}
    for example in examples:
        for message in example["messages"]:
            if message["role"] != "assistant":
                seen.setdefault(message["content"], None)
    return list(seen)
