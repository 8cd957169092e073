"""How often the persona speaks after other people's turns: the figure prepare measures
(training/data/speaking_rate.py) and the bot samples in free-talk channels (bot/free_talk.py).

stats.json (and so catgpt.json's "dataset"."stats") records it as

    "speaking": {"after_others": {"within_1m": 0.31, "1m_to_10m": 0.04, "after_10m": 0.01},
                 "others_turns": 812, "conversations": 40}

each share being: of the other people's turns in the conversations the persona took part in,
the share the persona's next turn followed, by the silence between the end of that turn (the
last other person's message) and the persona's. The shares add up to the share of others'
turns the persona answered at all. Pure: no discord, no training imports.
"""

from __future__ import annotations

from datetime import timedelta

# (key, upper bound of the silence); the last bucket runs to the conversation gap.
BUCKETS: tuple[tuple[str, timedelta | None], ...] = (
    ("within_1m", timedelta(minutes=1)),
    ("1m_to_10m", timedelta(minutes=10)),
    ("after_10m", None),
)
BUCKET_KEYS = tuple(key for key, _ in BUCKETS)
# What a bot answering at once (after its debounce) samples: the persona's prompt answers.
IMMEDIATE = "within_1m"


def bucket_of(silence: timedelta) -> str:
    for key, bound in BUCKETS:
        if bound is None or silence < bound:
            return key
    raise AssertionError("the last bucket has no bound")  # pragma: no cover
