"""Dedupe and the seeded split by conversation."""

from __future__ import annotations

import json
from datetime import datetime, timezone

from training.data.conversations import Example, SpeakerTurn
from training.data.dataset import ExampleWriter, choose_val_conversations

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)


def example(conversation: str, target: str) -> Example:
    question = SpeakerTurn("1", "Alice", False, None, T0, T0, ["hi"])
    answer = SpeakerTurn("2", "mochi", True, None, T0, T0, [target])
    return Example(conversation, (question, answer))


def test_split_is_by_conversation_seeded_and_near_the_share():
    sizes = {f"c:{i}": 1 + i % 5 for i in range(200)}
    val = choose_val_conversations(sizes, 0.1, seed=1)
    assert val == choose_val_conversations(sizes, 0.1, seed=1)
    assert val != choose_val_conversations(sizes, 0.1, seed=2)
    share = sum(sizes[c] for c in val) / sum(sizes.values())
    assert 0.09 <= share <= 0.13


def test_small_datasets_still_get_a_val_conversation_but_never_all():
    assert len(choose_val_conversations({"a": 10, "b": 1}, 0.1, seed=0)) == 1
    assert choose_val_conversations({"a": 10}, 0.1, seed=0) == set()
    assert choose_val_conversations({"a": 1, "b": 1}, 0.0, seed=0) == set()


def test_writer_drops_duplicates_and_no_conversation_is_in_both_files(tmp_path):
    writer = ExampleWriter(tmp_path)
    for i in range(60):
        assert writer.add(example(f"c:{i // 3}", f"answer {i}"))
    assert not writer.add(example("c:0", "answer 0"))  # same context and target
    counts = writer.finish(0.2, seed=0)
    assert writer.duplicates == 1 and counts.train_examples + counts.val_examples == 60
    train = [json.loads(line) for line in (tmp_path / "train.jsonl").open()]
    val = [json.loads(line) for line in (tmp_path / "val.jsonl").open()]
    assert {e["conversation"] for e in train}.isdisjoint(e["conversation"] for e in val)
    assert val and len(val) == counts.val_examples
    assert not (tmp_path / ".examples.jsonl").exists()


def test_conversation_id_with_odd_characters_round_trips(tmp_path):
    writer = ExampleWriter(tmp_path)
    writer.add(example('odd "chan",\\:1', "a"))
    writer.add(example("plain:2", "b"))
    writer.finish(0.5, seed=0)
    lines = [json.loads(line) for name in ("train.jsonl", "val.jsonl")
             for line in (tmp_path / name).open()]
    assert {e["conversation"] for e in lines} == {'odd "chan",\\:1', "plain:2"}
