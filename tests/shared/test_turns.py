"""catgpt/turns.py: one conversation shape for prepare and the bot (contract 6).

The property: for every persona turn of a generated channel (speakers, timings, replies),
the context prepare writes (streaming, ExampleBuilder) equals the context the bot builds for a
reply at that moment from the messages before it (ChannelTurns.reply_context over what it
remembers), message for message.
"""

from __future__ import annotations

import json
import math
from datetime import datetime, timedelta, timezone
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from catgpt.errors import ModelFolderError
from catgpt.folder import PersonaCard, card_from_dict
from catgpt.turns import (
    DEFAULT_GAP,
    DEFAULT_MERGE_WINDOW,
    MAX_CHAIN,
    ChannelTurns,
    Turn,
    TurnShape,
    context_turns_for,
    shaped_context,
)
from training.data.conversations import ExampleBuilder
from training.model.model_folder import trained_context

T0 = datetime(2024, 1, 1, tzinfo=timezone.utc)
SPEAKERS = ("mochi", "alice", "bob")

# Pauses around the bounds that matter: within the merge window, past it, past the gap.
pauses = st.sampled_from([0, 0.5, 2, 4.9, 5, 5.1, 30, 59, 60, 61, 300])
messages = st.lists(
    st.tuples(
        st.sampled_from(SPEAKERS),
        pauses,
        st.one_of(st.none(), st.integers(0, 60), st.just(-1)),  # an earlier message / a lost one
    ),
    min_size=1,
    max_size=40,
)
shapes = st.builds(
    TurnShape,
    merge_window=st.sampled_from([timedelta(0), timedelta(minutes=5)]),
    gap=st.sampled_from([timedelta(minutes=1), timedelta(minutes=60)]),
    context_turns=st.integers(1, 6),
)


def stream(drawn) -> list[SimpleNamespace]:
    """(speaker, minutes since the last message, index replied to) -> messages m0, m1..."""
    out, now = [], T0
    for index, (speaker, pause, reply) in enumerate(drawn):
        now += timedelta(minutes=pause)
        reply_to = None
        if reply == -1:
            reply_to = "not-in-the-channel"
        elif reply is not None and index:
            reply_to = f"m{reply % index}"
        out.append(SimpleNamespace(id=f"m{index}", speaker=speaker, at=now, reply_to=reply_to,
                                   text=f"line {index}"))  # fmt: skip
    return out


def feed(turns, message) -> object:
    return turns.add(message.id, message.speaker, message.speaker.title(),
                     message.speaker == "mochi", message.at, message.text, message.reply_to)


@settings(max_examples=150, deadline=None)
@given(drawn=messages, shape=shapes)
def test_the_bot_reads_what_prepare_wrote_for_every_persona_turn(drawn, shape):
    channel = stream(drawn)
    builder = ExampleBuilder(shape)
    examples = [e for m in channel
                if (e := builder.add("c", m.id, m.speaker, m.speaker.title(),
                                     m.speaker == "mochi", m.at, m.text, m.reply_to))]
    examples += builder.finish()
    first_line = {m.text: index for index, m in enumerate(channel)}
    for example in examples:
        target = example.turns[-1]
        start = first_line[target.texts[0]]
        # The bot, about to write that turn: it remembers the messages before it.
        bot = ChannelTurns(shape, "c")
        for message in channel[:start]:
            feed(bot, message)
        context = bot.reply_context(target.reply_to, target.start)
        assert [t.as_chat_message() for t in context] == example.messages[:-1]
        assert len(context) <= shape.context_turns


def turn(name: str, minute: int, reply_to: str | None = None) -> Turn:
    at = T0 + timedelta(minutes=minute)
    return Turn(name, name, name == "mochi", reply_to, at, at, [f"{name} {minute}"])


def test_the_reply_chain_stays_in_front_and_the_newest_turns_fill_the_rest():
    history = [turn("alice", m) for m in range(10)]
    old, older = turn("bob", -30, "x"), turn("chen", -40)
    context = shaped_context(history, [history[-1], old, older], 4)
    assert context == [older, old, history[8], history[9]]
    # One turn of context: the turn answered.
    assert shaped_context(history, [old], 1) == [old]
    # A reply to the last turn reads the last turns.
    assert shaped_context(history, [history[-1]], 3) == history[-3:]


def test_a_chain_ends_at_a_cycle_a_lost_message_or_max_chain():
    turns = ChannelTurns(TurnShape(merge_window=timedelta(0), context_turns=50))
    for index in range(MAX_CHAIN + 5):
        turns.add(f"m{index}", f"s{index}", "x", False, T0 + timedelta(seconds=index), "t",
                  f"m{index - 1}" if index else "m7")  # m0 replies to m7: a cycle
    assert len(turns.chain(f"m{MAX_CHAIN + 4}", None)) == MAX_CHAIN
    assert [t.texts for t in turns.chain("m2", None)][:3] == [["t"]] * 3
    assert len(turns.chain("m7", None)) == 8  # m7 .. m0, then m7 again: stop
    assert turns.chain("lost", None) == []


def test_a_reply_in_a_quick_follow_up_is_the_turns_reply():
    turns = ChannelTurns(TurnShape())
    turns.add("q", "bob", "bob", False, T0, "question?")
    turns.add("a1", "alice", "alice", False, T0 + timedelta(minutes=1), "look")
    turns.add("a2", "alice", "alice", False, T0 + timedelta(minutes=2), "@mochi?", "q")
    assert turns.open_turn.reply_to == "q"


def test_a_reply_after_the_gap_reads_a_new_conversation():
    turns = ChannelTurns(TurnShape(gap=timedelta(minutes=60)))
    turns.add("old", "bob", "bob", False, T0, "yesterday's talk")
    turns.add("q", "alice", "alice", False, T0 + timedelta(hours=20), "@mochi hi")
    context = turns.reply_context("q", T0 + timedelta(hours=20))
    assert [t.text for t in context] == ["@mochi hi"]
    # ... and a reply written long after the last message starts one with nothing in it.
    late = ChannelTurns(TurnShape(gap=timedelta(minutes=60)))
    late.add("q", "alice", "alice", False, T0, "hi")
    assert late.reply_context(None, T0 + timedelta(hours=2)) == []


def test_turns_of_context_are_the_trained_bound_lowered_by_the_setting():
    assert context_turns_for(8, 20) == 8
    assert context_turns_for(8, 3) == 3
    assert context_turns_for(None, 5) == 5 and context_turns_for(8, None) == 8
    assert context_turns_for(None, None) is None
    card = PersonaCard(context_turns=6, merge_window=timedelta(minutes=2))
    assert card.shape(20) == TurnShape(timedelta(minutes=2), DEFAULT_GAP, 6)
    assert PersonaCard().shape(None).context_turns == TurnShape().context_turns


def test_catgpt_json_records_the_merge_window_and_gap_and_the_card_reads_them():
    options = {"merge_window_s": 120.0, "gap_s": 1800.0, "context_turns": 4}
    context = trained_context(SimpleNamespace(stats={"options": options}, train=[]), 512)
    assert context == {"max_length": 512, "context_turns": 4, "merge_window_s": 120.0,
                       "gap_s": 1800.0}  # fmt: skip
    card = card_from_dict(json.loads(json.dumps({"context": context})))
    assert card.shape() == TurnShape(timedelta(minutes=2), timedelta(minutes=30), 4)
    # A folder older than the "context" record: the dataset's options, as train kept them.
    older = card_from_dict({"dataset": {"stats": {"options": options}}})
    assert (older.merge_window, older.gap) == (timedelta(minutes=2), timedelta(minutes=30))
    # A merge window of 0 (never merge) is a value, not a missing one.
    assert card_from_dict({"context": {"merge_window_s": 0}}).merge_window == timedelta(0)


def test_unrecorded_shapes_read_as_prepares_defaults():
    card = card_from_dict({"context": {"merge_window_s": None, "gap_s": None}})
    assert (card.merge_window, card.gap) == (DEFAULT_MERGE_WINDOW, DEFAULT_GAP)
    assert (card_from_dict({}).merge_window, card_from_dict({}).gap) == (
        DEFAULT_MERGE_WINDOW, DEFAULT_GAP)  # fmt: skip


# Checked like every other card value (catgpt.folder_checks), not quietly replaced by the
# defaults: a folder whose turns the bot would make differently from training is refused.
@pytest.mark.parametrize("bad", ["300", True, -5, math.nan, math.inf, [1]])
@pytest.mark.parametrize("where", ["context", "options"])
@pytest.mark.parametrize("key", ["merge_window_s", "gap_s"])
def test_unusable_recordings_are_refused_naming_the_key(bad, where, key):
    card = {"context": {key: bad}}
    name = f"context.{key}"
    if where == "options":
        card = {"dataset": {"stats": {"options": {key: bad}}}}
        name = f"dataset.stats.options.{key}"
    with pytest.raises(ModelFolderError, match=rf"^catgpt.json: {name} is "):
        card_from_dict(card)


def test_a_gap_of_zero_is_refused_a_merge_window_of_zero_is_not():
    with pytest.raises(ModelFolderError, match="gap_s is 0"):  # every line a conversation
        card_from_dict({"context": {"gap_s": 0}})
    assert card_from_dict({"context": {"merge_window_s": 0}}).merge_window == timedelta(0)


def test_bad_shapes_are_refused():
    with pytest.raises(ValueError):
        TurnShape(context_turns=0)
    with pytest.raises(ValueError):
        TurnShape(gap=timedelta(0))
