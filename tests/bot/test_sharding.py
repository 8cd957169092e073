"""Sharding: the settings reach the AutoShardedBot, and a sharded client still answers."""

from __future__ import annotations

import discord
import discord.ext.test as dpytest
import pytest
from discord.ext import commands
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.client import CatGPTBot
from bot.errors import SettingsError
from bot.serving_settings import shard_settings as read_shards
from bot.settings import Settings, load_settings

from .conftest import FakeEngine, config, mention, started


@pytest.fixture
def model_dir(tmp_path):
    (tmp_path / "config.json").write_text("{}")
    return tmp_path


def shards(model_dir, **env):
    return load_settings({"CATGPT_MODEL": str(model_dir), **env}, require_token=False)


def test_shard_settings(model_dir):
    assert shards(model_dir).shard_count is None and shards(model_dir).shard_ids == ()
    split = shards(model_dir, CATGPT_SHARD_COUNT="8", CATGPT_SHARD_IDS="4-6, 7")
    assert split.shard_count == 8 and split.shard_ids == (4, 5, 6, 7)


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"CATGPT_SHARD_COUNT": "0"}, "CATGPT_SHARD_COUNT: must be 1 to"),
        ({"CATGPT_SHARD_IDS": "0,1"}, "CATGPT_SHARD_IDS: shard ids need a shard count"),
        ({"CATGPT_SHARD_COUNT": "2", "CATGPT_SHARD_IDS": "1,2"}, "CATGPT_SHARD_IDS: shard 2 is"),
        ({"CATGPT_SHARD_COUNT": "2", "CATGPT_SHARD_IDS": "a"}, "CATGPT_SHARD_IDS: 'a' is not"),
        ({"CATGPT_SHARD_COUNT": "4", "CATGPT_SHARD_IDS": "0-2,1"}, "CATGPT_SHARD_IDS: shard 1 is"),
        # Issue 15: a reversed range was read as no shard at all, so the process ran every one.
        ({"CATGPT_SHARD_COUNT": "4", "CATGPT_SHARD_IDS": "3-1"}, "CATGPT_SHARD_IDS: the range"),
        # Issue 15: expanded before it was checked (MemoryError, or an OOM kill).
        ({"CATGPT_SHARD_COUNT": "8", "CATGPT_SHARD_IDS": "0-99999999"}, "CATGPT_SHARD_IDS: shard"),
        ({"CATGPT_SHARD_COUNT": "999999999999"}, "CATGPT_SHARD_COUNT: must be 1 to"),
        ({"CATGPT_SHARD_COUNT": "4", "CATGPT_SHARD_IDS": "0-" + "9" * 5000}, "CATGPT_SHARD_IDS: "),
        ({"CATGPT_SHARD_COUNT": "4", "CATGPT_SHARD_IDS": "٣"}, "CATGPT_SHARD_IDS: '٣' is"),
    ],
)
def test_bad_shard_settings_name_the_setting(model_dir, env, message):
    with pytest.raises(SettingsError) as caught:
        shards(model_dir, **env)
    assert str(caught.value).startswith(message)


@st.composite
def shard_settings(draw):
    """A count and a list of numbers and ranges: in or past the count, forwards or backwards,
    overlapping or not, and some far past any count (1e12: expanded, they exhaust memory)."""
    count = draw(st.integers(1, 64))
    number = st.one_of(st.integers(0, 80), st.integers(0, 10**12))
    parts = draw(st.lists(st.tuples(number, st.none() | number), max_size=6))
    text = ",".join(f"{a}" if b is None else f"{a}-{b}" for a, b in parts)
    return count, parts, text


@settings(max_examples=200, deadline=None)
@given(shard_settings())
def test_shard_ids_are_the_listed_shards_or_one_error_line(case):
    count, parts, text = case
    spans = [(a, a if b is None else b) for a, b in parts]
    listed = [i for a, b in spans if a <= b and b < count for i in range(a, b + 1)]
    valid = all(a <= b < count for a, b in spans) and len(listed) == len(set(listed))
    try:
        result = read_shards({"CATGPT_SHARD_COUNT": str(count), "CATGPT_SHARD_IDS": text})
    except SettingsError as error:
        assert not valid, text
        assert str(error).startswith("CATGPT_SHARD_IDS: ") and "\n" not in str(error)
    else:
        assert valid, text
        assert result == {"shard_count": count, "shard_ids": tuple(sorted(listed))}


def test_the_settings_reach_the_client(tmp_path):
    client = CatGPTBot(Settings(model=tmp_path, shard_count=4, shard_ids=(1, 3)))
    assert isinstance(client, commands.AutoShardedBot)
    assert client.shard_count == 4 and client.shard_ids == [1, 3]
    # Unset: discord.py asks Discord for the recommended count when it connects.
    default = CatGPTBot(Settings(model=tmp_path))
    assert default.shard_count is None and default.shard_ids is None


async def test_a_sharded_client_answers_a_mention(tmp_path):
    settings = Settings(model=tmp_path, cooldown=0, shard_count=2, shard_ids=(0, 1))
    client = await started(settings, FakeEngine())
    guild, channel, (alice, _) = config()
    assert isinstance(client, discord.AutoShardedClient) and client.shard_count == 2
    assert guild.shard_id == (guild.id >> 22) % 2  # Discord's rule, as the client sees it
    await dpytest.message(f"{mention(client)} hi", channel, alice)
    assert dpytest.verify().message().content("nya~ you said: @mochi hi")
    await dpytest.empty_queue()
