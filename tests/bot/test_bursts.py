"""CATGPT_BURSTS: a reply's lines go out as separate messages, with "typing..." between them."""

from __future__ import annotations

import io

import discord.ext.test as dpytest
import pytest

from bot.console import chat_lines
from bot.settings import Settings, load_settings
from catgpt.reply_cleaning import MAX_BURSTS, split_bursts, typing_pause

from .conftest import FakeEngine, config, mention, started

THOUGHT = "omg\nthe box arrived\nit is SO big :3"


def test_each_line_is_a_burst_and_a_code_block_stays_whole():
    assert split_bursts(THOUGHT) == ["omg", "the box arrived", "it is SO big :3"]
    assert split_bursts("look\n```\nline 1\n\nline 2\n```\nneat") == [
        "look", "```\nline 1\n\nline 2\n```", "neat"
    ]
    assert split_bursts("one line") == ["one line"]
    assert split_bursts("a\n\n\nb\n") == ["a", "b"]


def test_past_the_cap_the_rest_joins_the_last_burst():
    lines = [f"line {i}" for i in range(MAX_BURSTS + 3)]
    bursts = split_bursts("\n".join(lines))
    assert len(bursts) == MAX_BURSTS
    assert bursts[-1] == "\n".join(lines[MAX_BURSTS - 1 :])


def test_typing_pause_grows_with_the_line_within_the_rate_limit():
    assert typing_pause("ok") >= 1.0  # Discord: about 5 messages per 5 s in a channel
    assert typing_pause("a" * 80) > typing_pause("ok")
    assert typing_pause("a" * 5000) == 3.0


def test_the_setting_is_on_by_default_and_can_be_turned_off(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    assert load_settings({"CATGPT_MODEL": str(tmp_path)}, require_token=False).bursts
    off = load_settings({"CATGPT_MODEL": str(tmp_path), "CATGPT_BURSTS": "off"},
                        require_token=False)  # fmt: skip
    assert not off.bursts


@pytest.mark.parametrize("bursts", [True, False])
async def test_a_mention_is_answered_in_bursts_with_typing_between(tmp_path, bursts, payloads):
    engine = FakeEngine(lambda messages: THOUGHT)
    settings = Settings(model=tmp_path, cooldown=0.0, bursts=bursts)
    client = await started(settings, engine)
    paused: list[float] = []

    async def record(seconds: float) -> None:
        paused.append(seconds)

    client.get_cog("Mentions").pause = record
    _, channel, (alice, _) = config()
    try:
        await dpytest.message(f"{mention(client)} did it come?", channel, alice)
        sent = []
        while not dpytest.sent_queue.empty():
            sent.append(await dpytest.sent_queue.get())
        if bursts:
            assert [m.content for m in sent] == THOUGHT.split("\n")
            # The first replies to the mention; the rest follow it plainly.
            references = [p.get("message_reference") for p in payloads[-len(sent) :]]
            assert references[0] and not any(references[1:])
            assert paused == [typing_pause(line) for line in THOUGHT.split("\n")[1:]]
        else:
            assert [m.content for m in sent] == [THOUGHT]
            assert paused == []
    finally:
        await dpytest.empty_queue()


def test_the_console_shows_the_same_bursts():
    engine = FakeEngine(lambda messages: THOUGHT)
    out = io.StringIO()
    paused: list[float] = []
    chat_lines(engine, ["did it come?"], out=out, bursts=True, pause=paused.append)
    assert out.getvalue().splitlines() == [f"mochi: {line}" for line in THOUGHT.split("\n")]
    assert len(paused) == 2
    out = io.StringIO()
    chat_lines(engine, ["did it come?"], out=out, bursts=False)
    assert out.getvalue() == f"mochi: {THOUGHT}\n"
