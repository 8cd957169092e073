"""Turn-taking like a member (issue 17 §2): one answer after a burst, free talk at the
persona's measured rate, threads the bot is part of. Time is moved by hand (the debounce's
clock and sleep are injected) and free talk draws from a seeded random source: no test sleeps
or measures time."""

from __future__ import annotations

import asyncio
import itertools
import logging
import math
import random
from datetime import datetime, timedelta, timezone

import discord
import discord.ext.test as dpytest
import pytest
from discord.ext.test import backend
from hypothesis import assume, given
from hypothesis import strategies as st

from bot.debounce import Debounce
from bot.member_settings import DEBOUNCE_CAP
from bot.settings import Settings
from catgpt.folder import PersonaCard

from .conftest import PERSONA, FakeEngine, config, make_thread, mention, message_data, post, started

RATE = 0.25


class ManualTime:
    """The debounce's clock and sleep: a sleep waits until the test moves time past its end."""

    def __init__(self) -> None:
        self.now = 0.0
        self.asked: list[float] = []
        self._moved = asyncio.Event()

    def clock(self) -> float:
        return self.now

    async def sleep(self, seconds: float) -> None:
        self.asked.append(seconds)
        until = self.now + seconds
        while self.now < until:
            await self._moved.wait()
            self._moved.clear()

    async def advance(self, seconds: float) -> None:
        self.now += seconds
        self._moved.set()
        for _ in range(20):  # let the waits see it
            await asyncio.sleep(0)


async def arrive(channel, author, content: str):
    """A message through the gateway without waiting for the handlers (one of them is held in
    a debounce wait, which dpytest's run_all_events would wait for)."""
    data = message_data(channel, author, content)
    state = backend.get_state()
    backend._cur_config.messages.setdefault(channel.id, []).append(data)
    state.parse_message_create(data)
    await settle()  # its handler runs now, before the test moves time
    return data


async def settle() -> None:
    for _ in range(20):
        await asyncio.sleep(0)


def sent_messages() -> list:
    sent = []
    while not dpytest.sent_queue.empty():
        sent.append(dpytest.sent_queue.get_nowait())
    return sent


# ---- debounce --------------------------------------------------------------------------------


async def test_a_burst_of_three_gets_one_answer_with_all_of_it_in_the_prompt(tmp_path):
    engine = FakeEngine(lambda messages: "all of it, got it")
    client = await started(Settings(model=tmp_path, cooldown=0.0, debounce=2.0), engine)
    time = ManualTime()
    debounce = client.get_cog("Mentions").turn_taking.debounce
    debounce.sleep, debounce.clock = time.sleep, time.clock
    _, channel, (alice, bob) = config()
    try:
        await arrive(channel, alice, f"{mention(client)} hey")
        await settle()
        assert time.asked == [2.0] and engine.calls == []  # waiting, not answering
        await time.advance(1.5)
        await arrive(channel, alice, "so i was thinking")
        await arrive(channel, bob, "unrelated: lunch?")  # someone else's line does not extend it
        await time.advance(1.5)  # 3.0: past the first deadline, not past the second (3.5)
        await arrive(channel, alice, "what about cats")  # the third of the burst: the wait restarts
        await time.advance(1.9)
        assert engine.calls == []
        await time.advance(0.2)  # 2.1 s after alice's last line
        await dpytest.run_all_events()
        assert len(engine.calls) == 1
        prompt = engine.calls[0]
        said = [m["content"] for m in prompt if m.get("name") == "alice_0_nick"]
        assert said[-1].split("\n")[-1] == "what about cats"
        joined = "\n".join(m["content"] for m in prompt)
        for line in ("@mochi hey", "so i was thinking", "what about cats"):
            assert line in joined
        assert [m.content for m in sent_messages()] == ["all of it, got it"]
    finally:
        await dpytest.empty_queue()


async def test_a_second_mention_in_the_burst_joins_the_wait(tmp_path):
    engine = FakeEngine(lambda messages: "ok")
    client = await started(Settings(model=tmp_path, cooldown=0.0, debounce=2.0), engine)
    time = ManualTime()
    debounce = client.get_cog("Mentions").turn_taking.debounce
    debounce.sleep, debounce.clock = time.sleep, time.clock
    _, channel, (alice, _) = config()
    try:
        await arrive(channel, alice, f"{mention(client)} hey")
        await settle()
        await arrive(channel, alice, f"{mention(client)} hello??")
        await time.advance(DEBOUNCE_CAP)
        await dpytest.run_all_events()
        assert len(engine.calls) == 1
        assert len(sent_messages()) == 1
    finally:
        await dpytest.empty_queue()


@given(
    seconds=st.floats(0.5, 5.0),
    gaps=st.lists(st.floats(0.0, 6.0), max_size=12),
)
def test_the_answer_comes_after_the_last_quick_line_and_never_past_the_cap(seconds, gaps):
    """Generated bursts: lines come `gaps` apart after the call. The wait ends `seconds` after
    the last line that came within it, and never later than the cap after the call; the
    answer goes to that last line."""
    # The rule, step by step: when the wait ends, and which line it answers.
    deadline, last, at, ended_at = seconds, "call", 0.0, None
    for index, gap in enumerate(gaps):
        at += gap
        assume(abs(at - deadline) > 1e-6)  # a line exactly at the end: either reading is fine
        if at > deadline:
            ended_at = at  # time jumped past the end: the wait is over when it is looked at
            break
        deadline, last = min(at + seconds, DEBOUNCE_CAP), f"line {index}"

    async def scenario() -> tuple[float, str]:
        time = ManualTime()
        debounce = Debounce(seconds, DEBOUNCE_CAP, sleep=time.sleep, clock=time.clock)
        waiter = asyncio.ensure_future(debounce.settle(1, 2, "call"))
        await settle()
        for index, gap in enumerate(gaps):
            await time.advance(gap)
            if waiter.done():
                break
            debounce.heard(1, 2, f"line {index}")
        while not waiter.done():
            await time.advance(0.01)
        return time.now, await waiter

    answered_at, answered = asyncio.run(scenario())
    assert answered == last
    assert deadline <= DEBOUNCE_CAP
    if ended_at is not None:
        assert answered_at == pytest.approx(ended_at)
    else:
        assert deadline - 1e-6 <= answered_at <= deadline + 0.011


# ---- free talk -------------------------------------------------------------------------------


def free_settings(tmp_path, channel_id: int, **more) -> Settings:
    more.setdefault("cooldown", 0.0)
    return Settings(model=tmp_path, free_channels=frozenset({channel_id}), **more)


def speaking_card(rate: float | None) -> PersonaCard:
    speaking = (("within_1m", rate), ("1m_to_10m", 0.1)) if rate is not None else ()
    return PersonaCard(name=PERSONA, aliases=("mochi-chan",), speaking=speaking)


async def free_talk_bot(tmp_path, rate, seed: int = 7, **more):
    """A bot whose persona card records `rate`, free-talking in dpytest's channel."""
    engine = FakeEngine(lambda messages: "hm, true", card=speaking_card(rate))
    # dpytest makes the channel at start: a stand-in id first, then the channel's own.
    client = await started(free_settings(tmp_path, 123456789012345678, **more), engine)
    free_talk = client.get_cog("Mentions").turn_taking.free_talk
    if free_talk.rate is not None:
        free_talk.channels = frozenset({dpytest.get_config().channels[0].id})
    free_talk.draw = random.Random(seed).random
    return client, engine


async def test_free_talk_speaks_at_the_recorded_rate_never_twice_in_a_row(tmp_path):
    client, engine = await free_talk_bot(tmp_path, RATE)
    _, channel, (alice, bob) = config()
    people = random.Random(1)
    n = 400
    try:
        for i in range(n):
            await dpytest.message(f"line {i}", channel, people.choice([alice, bob]))
        stored = sorted(backend._cur_config.messages[channel.id], key=lambda d: int(d["id"]))
        mine = [int(d["author"]["id"]) == client.user.id for d in stored]
        assert len(mine) - sum(mine) == n
        spoke = sum(mine)
        # A binomial count: within 4 standard deviations of n * rate (seeded, so stable).
        spread = 4 * math.sqrt(n * RATE * (1 - RATE))
        assert abs(spoke - n * RATE) <= spread, spoke
        assert not any(a and b for a, b in itertools.pairwise(mine)), "twice in a row"
        assert not mine[0]  # it never opens: it speaks after someone
        assert len(engine.calls) == spoke
    finally:
        await dpytest.empty_queue()


async def test_free_talk_never_answers_its_own_message_nor_bots(tmp_path):
    client, engine = await free_talk_bot(tmp_path, 1.0)  # would answer everything it may
    _, channel, (alice, _) = config()
    other_bot = backend.make_member(backend.make_user("otherbot", "0042"), channel.guild)
    other_bot._user.bot = True
    try:
        await dpytest.message("a line", channel, other_bot)
        assert engine.calls == []
        await dpytest.message("hello all", channel, alice)
        assert len(engine.calls) == 1  # once: its own reply did not start another
        await post(channel, client.user, "the bot talking")  # its own line, again
        assert len(engine.calls) == 1
    finally:
        await dpytest.empty_queue()


async def test_free_talk_only_in_its_channels_and_within_the_allow_lists(tmp_path):
    # Free talk in the channel, but the allow-list names another: silent.
    client, engine = await free_talk_bot(tmp_path, 1.0, allowed_channels=frozenset({42 << 22}))
    _, channel, (alice, _) = config()
    try:
        await dpytest.message("anyone?", channel, alice)
        assert engine.calls == []
    finally:
        await dpytest.empty_queue()
    # Allowed, but not a free-talk channel: silent too.
    engine = FakeEngine(lambda messages: "hm", card=speaking_card(1.0))
    client = await started(Settings(model=tmp_path, cooldown=0.0), engine)
    client.get_cog("Mentions").turn_taking.free_talk.draw = lambda: 0.0
    _, channel, (alice, _) = config()
    try:
        await dpytest.message("anyone?", channel, alice)
        assert engine.calls == []
    finally:
        await dpytest.empty_queue()


async def test_free_talk_obeys_the_cooldown_silently(tmp_path):
    client, engine = await free_talk_bot(tmp_path, 1.0, cooldown=60.0)
    _, channel, (alice, bob) = config()
    try:
        await dpytest.message("first", channel, alice)
        await dpytest.message("second", channel, bob)
        await dpytest.message("third", channel, alice)
        assert len(engine.calls) == 1  # one unasked turn per cooldown per channel
        assert [m.content for m in sent_messages()] == ["hm, true"]  # and no notice
    finally:
        await dpytest.empty_queue()


async def test_a_call_during_an_unasked_wait_is_answered_as_a_call(tmp_path, payloads):
    client, engine = await free_talk_bot(tmp_path, 1.0, debounce=2.0)
    time = ManualTime()
    debounce = client.get_cog("Mentions").turn_taking.debounce
    debounce.sleep, debounce.clock = time.sleep, time.clock
    _, channel, (alice, _) = config()
    try:
        await arrive(channel, alice, "anyone around")  # free talk: the wait for alice starts
        data = await arrive(channel, alice, f"{mention(client)} you?")  # then she calls
        await time.advance(2.0)
        await dpytest.run_all_events()
        assert len(engine.calls) == 1
        # Answered as a call: a Discord reply to her newest message.
        assert payloads[-1]["message_reference"]["message_id"] == int(data["id"])
    finally:
        await dpytest.empty_queue()


async def test_without_a_recorded_rate_free_talk_is_off_with_one_line(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="bot.free_talk")
    client, engine = await free_talk_bot(tmp_path, None)
    _, channel, (alice, _) = config()
    try:
        await dpytest.message("anyone?", channel, alice)
        assert engine.calls == []
        lines = [r for r in caplog.records if "free talk is off" in r.getMessage()]
        assert len(lines) == 1 and lines[0].levelno == logging.INFO
    finally:
        await dpytest.empty_queue()


# ---- threads ---------------------------------------------------------------------------------


async def threads_allowed(guild, channel) -> None:
    await dpytest.set_permission_overrides(
        guild.default_role, channel, send_messages=True, send_messages_in_threads=True
    )


async def test_a_thread_it_was_called_in_is_a_conversation_it_is_part_of(tmp_path):
    engine = FakeEngine(lambda messages: "purr")
    client = await started(Settings(model=tmp_path, cooldown=0.0), engine)
    guild, channel, (alice, bob) = config()
    await threads_allowed(guild, channel)
    thread, elsewhere = make_thread(channel, "chat"), make_thread(channel, "quiet")
    try:
        await post(elsewhere, alice, "no mention here")
        await post(thread, alice, "before the bot is called")
        assert engine.calls == []  # not part of either yet
        await post(thread, alice, f"{mention(client)} join us")
        assert len(engine.calls) == 1
        await post(thread, bob, "what do you think, mochi")  # no mention: still answered
        assert len(engine.calls) == 2
        await post(elsewhere, alice, "still nothing here")
        await post(channel, alice, "nor in the parent channel")
        assert len(engine.calls) == 2
    finally:
        await dpytest.empty_queue()


async def test_a_thread_conversation_ends_after_the_gap(tmp_path):
    engine = FakeEngine(lambda messages: "purr")  # the default gap: 60 minutes
    client = await started(Settings(model=tmp_path, cooldown=0.0), engine)
    guild, channel, (alice, _) = config()
    await threads_allowed(guild, channel)
    thread = make_thread(channel, "chat")
    try:
        await post(thread, alice, f"{mention(client)} hi")
        assert len(engine.calls) == 1
        # A message whose id says two hours later: the conversation the bot was in is over.
        later = discord.utils.time_snowflake(datetime.now(timezone.utc) + timedelta(hours=2))
        data = message_data(thread, alice, "are you still there", id_num=later)
        backend.get_state().parse_message_create(data)
        await dpytest.run_all_events()
        assert len(engine.calls) == 1
    finally:
        await dpytest.empty_queue()


# ---- the speaking rate in the model folder ---------------------------------------------------


def test_the_card_reads_the_speaking_rate_and_refuses_a_bad_share():
    from catgpt.errors import ModelFolderError
    from catgpt.folder import card_from_dict

    shares = {"within_1m": 0.3, "1m_to_10m": 0.05, "after_10m": 0.0}
    card = card_from_dict({"dataset": {"stats": {"speaking": {"after_others": shares}}}})
    assert card.free_talk_rate == 0.3
    assert card_from_dict({}).free_talk_rate is None
    for bad in (1.5, -0.1, "lots", True, float("nan")):
        with pytest.raises(ModelFolderError) as caught:
            card_from_dict(
                {"dataset": {"stats": {"speaking": {"after_others": {"within_1m": bad}}}}}
            )
        message = str(caught.value)
        assert "dataset.stats.speaking.after_others.within_1m" in message
        assert "\n" not in message


# ---- settings --------------------------------------------------------------------------------


def test_turn_taking_settings_and_their_one_line_errors(tmp_path):
    from bot.errors import SettingsError
    from bot.settings import load_settings

    (tmp_path / "config.json").write_text("{}")
    base = {"CATGPT_MODEL": str(tmp_path)}
    defaults = load_settings(base, require_token=False)
    assert defaults.debounce == 2.0
    assert defaults.free_channels == frozenset() and defaults.webhook is False
    chosen = load_settings(
        {**base, "CATGPT_DEBOUNCE_SECONDS": "0", "CATGPT_WEBHOOK": "on",
         "CATGPT_FREE_CHANNELS": "123456789012345678, 223456789012345678"},
        require_token=False,
    )  # fmt: skip
    assert chosen.debounce == 0 and chosen.webhook
    assert chosen.free_channels == {123456789012345678, 223456789012345678}
    for name, value, words in [
        ("CATGPT_DEBOUNCE_SECONDS", "11", "must be 0 (off) to 10 seconds"),
        ("CATGPT_DEBOUNCE_SECONDS", "-1", "must be 0 (off) to 10 seconds"),
        ("CATGPT_DEBOUNCE_SECONDS", "soon", "is not a number"),
        ("CATGPT_FREE_CHANNELS", "#general", "is not a Discord id"),
        ("CATGPT_WEBHOOK", "maybe", "is not true or false"),
    ]:
        with pytest.raises(SettingsError) as caught:
            load_settings({**base, name: value}, require_token=False)
        message = str(caught.value)
        assert message.startswith(f"{name}: ") and words in message and "\n" not in message
