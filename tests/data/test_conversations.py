"""Turns, conversations and examples: merging, gaps, bounded and reply-aware context."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from training.data.conversations import ExampleBuilder, TurnOptions

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)


def build(lines, **options):
    """lines: (speaker, text, minute[, reply_to]); message ids are 'm<index>'."""
    builder = ExampleBuilder(TurnOptions(**options))
    examples = []
    for index, (speaker, text, minute, *reply) in enumerate(lines):
        example = builder.add(
            channel_id="c", message_id=f"m{index}", speaker_id=speaker, name=speaker.title(),
            is_persona=speaker == "mochi", timestamp=T0 + timedelta(minutes=minute), text=text,
            reply_to=reply[0] if reply else None,
        )
        examples += [example] if example else []
    examples += builder.finish()
    return examples, builder.counts


def test_consecutive_messages_merge_within_the_window():
    examples, counts = build([("alice", "hi", 0), ("alice", "you there?", 1),
                              ("mochi", "nya", 2), ("mochi", "yes~", 3), ("mochi", "late", 20)])
    assert counts.turns == 3 and counts.persona_turns == 2
    first = examples[0].messages
    assert first == [{"role": "user", "name": "Alice", "content": "hi\nyou there?"},
                     {"role": "assistant", "content": "nya\nyes~"}]
    # the late message is its own turn, with the earlier persona turn as context
    assert examples[1].messages[-2:] == [{"role": "assistant", "content": "nya\nyes~"},
                                         {"role": "assistant", "content": "late"}]


def test_silence_starts_a_new_conversation_and_monologues_are_not_examples():
    examples, counts = build([("alice", "hi", 0), ("mochi", "nya", 1),
                              ("mochi", "anyone?", 200), ("alice", "back", 400),
                              ("mochi", "welcome~", 401)], gap=timedelta(minutes=60))
    assert counts.conversations == 3
    assert counts.persona_turns_without_context == 1  # "anyone?" answers nobody
    assert [e.conversation for e in examples] == ["c:m0", "c:m3"]
    assert examples[1].messages[0]["content"] == "back"


def test_context_is_bounded():
    lines = [("alice" if i % 2 else "bob", f"line {i}", i) for i in range(20)]
    examples, _ = build([*lines, ("mochi", "answer", 21)], context_turns=4)
    assert len(examples[0].messages) == 5
    assert examples[0].messages[0]["content"] == "line 16"


def test_a_reply_brings_the_replied_turn_into_context():
    lines = [("alice", "what's your favourite food?", 0)]
    lines += [("bob" if i % 2 else "chen", f"chatter {i}", 1 + i) for i in range(10)]
    lines += [("mochi", "tuna~", 12, "m0")]
    examples, _ = build(lines, context_turns=3)
    messages = examples[0].messages
    assert len(messages) == 4
    assert messages[0]["content"] == "what's your favourite food?"
    assert [m["content"] for m in messages[1:3]] == ["chatter 8", "chatter 9"]


def test_a_reply_across_a_gap_still_gets_its_context():
    examples, _ = build([("alice", "question?", 0), ("mochi", "much later answer", 300, "m0")],
                        gap=timedelta(minutes=60))
    assert len(examples) == 1
    assert examples[0].messages[0]["content"] == "question?"


def test_reply_to_a_message_not_in_the_export_is_ordinary():
    examples, _ = build([("alice", "hi", 0), ("mochi", "hey", 1, "not-here")])
    assert len(examples[0].messages) == 2


def test_channels_are_independent():
    builder = ExampleBuilder()
    out = []
    for channel, speaker, minute in [("a", "alice", 0), ("b", "mochi", 1), ("a", "mochi", 2)]:
        example = builder.add(channel_id=channel, message_id=f"{channel}{minute}",
                              speaker_id=speaker, name=speaker, is_persona=speaker == "mochi",
                              timestamp=T0 + timedelta(minutes=minute), text=speaker)
        out += [example] if example else []
    out += builder.finish()
    assert [e.conversation for e in out] == ["a:a0"]


def test_bad_options_are_refused():
    with pytest.raises(ValueError):
        TurnOptions(context_turns=0)


def test_the_reply_chain_comes_in_front_oldest_first():
    # alice asks, bob answers her (a reply), chatter, then mochi replies to bob's answer: the
    # whole chain is what mochi answers, so both come in front of the newest turns.
    lines = [("alice", "favourite food?", 0), ("bob", "fish, surely", 1, "m0")]
    lines += [("chen" if i % 2 else "dana", f"chatter {i}", 2 + i) for i in range(10)]
    lines += [("mochi", "tuna~", 13, "m1")]
    examples, _ = build(lines, context_turns=4)
    assert [m["content"] for m in examples[0].messages] == [
        "favourite food?", "fish, surely", "chatter 8", "chatter 9", "tuna~"]


def test_a_reply_in_a_quick_follow_up_counts_for_the_turn():
    lines = [("alice", "what's your favourite food?", 0)]
    lines += [("bob" if i % 2 else "chen", f"chatter {i}", 1 + i) for i in range(10)]
    lines += [("mochi", "hmm", 12), ("mochi", "tuna~", 12.5, "m0")]
    examples, _ = build(lines, context_turns=3)
    assert examples[0].messages[0]["content"] == "what's your favourite food?"
    assert examples[0].messages[-1]["content"] == "hmm\ntuna~"
