"""prepare's speaking rate (issue 17): of the other people's turns, the share the persona's
next turn followed, by the silence before it; measured on generated exports whose pattern is
known, so the figure must equal the constructed one."""

from __future__ import annotations

import json
import random

import pytest

from catgpt.speaking import BUCKET_KEYS

# Silence before the persona's turn, in minutes, for each bucket (None: it does not answer).
LATENCY = {"within_1m": 0.5, "1m_to_10m": 4.0, "after_10m": 25.0, None: None}


def generated_chat(dce, seed: int, turns: int):
    """alice and bob take turns; after each, mochi answers at a latency drawn from LATENCY.
    Returns (messages, how many of the others' turns each bucket followed)."""
    rng = random.Random(seed)
    messages, followed, minute = [], dict.fromkeys(BUCKET_KEYS, 0), 0.0
    for i in range(turns):
        # Two lines within the merge window: one turn, so turns (not lines) are counted.
        who = "alice" if i % 2 else "bob"
        messages.append(dce.message(len(messages), who, f"line {i}", minute))
        messages.append(dce.message(len(messages), who, f"more {i}", minute + 0.2))
        bucket = rng.choice(list(LATENCY))
        if bucket is not None:
            minute += 0.2 + LATENCY[bucket]
            messages.append(dce.message(len(messages), "mochi", f"reply {i}", minute))
            followed[bucket] += 1
        minute += 6.0  # > the merge window: the next line by the same person is a new turn
    return messages, followed


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_the_measured_rate_is_the_constructed_one(dce, tmp_path, run_cli, seed):
    messages, followed = generated_chat(dce, seed, turns=60)
    # A second conversation (after a silence over the gap) without the persona: not counted,
    # the person was not there to choose.
    last = len(messages)
    absent = [dce.message(last + i, "alice" if i % 2 else "bob", f"away {i}", 60 * 24 + i * 6)
              for i in range(10)]
    path = dce.write(tmp_path / "export.json", messages + absent)
    code, _, err = run_cli("prepare", path, "--persona", "mochi", "--out", tmp_path / "ds")
    assert code == 0, err
    speaking = json.loads((tmp_path / "ds" / "stats.json").read_text())["speaking"]
    assert speaking["others_turns"] == 60
    assert speaking["conversations"] == 1
    assert speaking["after_others"] == {key: round(n / 60, 4) for key, n in followed.items()}


def test_without_a_reply_to_anyone_there_is_no_figure(dce, tmp_path):
    from training.data.speaking_rate import SpeakingRate

    assert SpeakingRate().record() is None
