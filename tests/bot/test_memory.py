"""What the bot remembers: deletes and edits honoured (raw events), the one backfill per
channel and its race, eviction, the fetched reply chain, and every per-channel bound."""

from __future__ import annotations

import asyncio

import discord.ext.test as dpytest
import pytest
from discord.ext.test import backend

from bot.bounded import LRU
from bot.memory import ChannelMemory, SeenMessage

from .conftest import DEADLINE, config, delete, edit, mention, post, restart_memory, until


def contents(chat: list[dict]) -> list[str]:
    """Every message's text: a speaker's quick messages in a row are one turn, one per line."""
    return [line for m in chat for line in m["content"].split("\n")]


def context_of(client):
    return client.get_cog("Mentions").mention_context


class Reads(list):
    gate: asyncio.Event


@pytest.fixture
def history_reads(bot, monkeypatch):
    """The channel ids whose history the bot read; `gate` holds every read until set."""
    reads = Reads()
    gate = asyncio.Event()
    gate.set()
    original = bot.http.logs_from

    async def logs_from(channel_id, limit, before=None, after=None, around=None):
        reads.append(channel_id)
        await gate.wait()
        return await original(channel_id, limit, before=before, after=after, around=around)

    monkeypatch.setattr(bot.http, "logs_from", logs_from)
    reads.gate = gate
    yield reads
    gate.set()  # a test that failed while holding a read must not hang the ones after it


@pytest.fixture
def fetches(bot, monkeypatch):
    """The message ids the bot fetched one by one (the reply chain)."""
    fetched: list[int] = []
    original = bot.http.get_message

    async def get_message(channel_id, message_id):
        fetched.append(message_id)
        return await original(channel_id, message_id)

    monkeypatch.setattr(bot.http, "get_message", get_message)
    return fetched


# Deletes and edits ---------------------------------------------------------------------------


async def test_a_deleted_message_leaves_the_context(bot, fake_engine):
    _, channel, (alice, bob) = config()
    secret = await dpytest.message("my password is hunter2", channel, bob)
    await dpytest.message("oops", channel, bob)
    # Out of discord.py's cache (an older message, or one from before a restart): only the
    # raw event says it went.
    bot._connection._messages.clear()
    await delete(secret)
    await dpytest.message(f"{mention(bot)} what did bob say?", channel, alice)
    said = contents(fake_engine.calls[-1])
    assert "oops" in said
    assert not any("hunter2" in text for text in said)


async def test_a_bulk_delete_leaves_the_context(bot, fake_engine):
    _, channel, (alice, bob) = config()
    spam = [await dpytest.message(f"spam {n}", channel, bob) for n in range(3)]
    await dpytest.message("a real line", channel, alice)
    await delete(*spam[:2])  # what a moderator's purge sends
    await dpytest.message(f"{mention(bot)} hi", channel, alice)
    said = contents(fake_engine.calls[-1])
    assert "spam 0" not in said and "spam 1" not in said
    assert "spam 2" in said and "a real line" in said


async def test_an_edited_message_is_read_as_it_is_now(bot, fake_engine):
    _, channel, (alice, bob) = config()
    message = await dpytest.message("i like dogs", channel, bob)
    bot._connection._messages.clear()  # the raw event, not the cache, carries the edit
    await edit(message, "i like cats")
    await dpytest.message(f"{mention(bot)} what does bob like?", channel, alice)
    said = contents(fake_engine.calls[-1])
    assert "i like cats" in said and "i like dogs" not in said
    assert fake_engine.calls[-1][0] == {
        "role": "user",
        "name": "bob_1_nick",
        "content": "i like cats",
    }


async def test_an_edit_that_arrives_blank_forgets_the_old_text(bot, fake_engine):
    # Without the message-content intent an edit that drops the bot's mention arrives with
    # empty content: the bot cannot know the new words, so it keeps none of the old ones.
    _, channel, (alice, bob) = config()
    fake_engine.respond = lambda messages: "noted"  # not an echo of what was said
    message = await dpytest.message(f"{mention(bot)} psst, bob is a dog person", channel, alice)
    await edit(message, "")
    await dpytest.message(f"{mention(bot)} and now?", channel, bob)
    assert not any("dog person" in text for text in contents(fake_engine.calls[-1]))


async def test_an_edit_does_not_bring_back_what_was_not_remembered(bot, fake_engine):
    _, channel, (alice, bob) = config()
    context = context_of(bot)
    notice = await dpytest.message("no text yet", channel, bob)
    context.memory.forget(channel.id, [notice.id])
    await edit(notice, "now with text")
    await dpytest.message(f"{mention(bot)} hi", channel, alice)
    assert "now with text" not in contents(fake_engine.calls[-1])


async def test_a_deleted_message_ends_the_reply_chain(bot, fake_engine, fetches):
    _, channel, (alice, bob) = config()
    root = await dpytest.message("the ORIGINAL question", channel, alice)
    middle = await post(channel, bob, "a good answer", reply_to=root)
    await delete(root)
    await post(channel, alice, f"{mention(bot)} agree?", reply_to=middle)
    said = contents(fake_engine.calls[-1])
    assert "a good answer" in said and "the ORIGINAL question" not in said
    assert fetches == []  # known to be deleted: not even asked for


# Backfill ------------------------------------------------------------------------------------


async def test_after_a_restart_the_history_is_read_once_per_channel(
    bot, fake_engine, history_reads
):
    _, channel, (alice, bob) = config()
    await dpytest.message("we were talking about naps", channel, bob)
    restart_memory(bot)
    await dpytest.message(f"{mention(bot)} what were we saying?", channel, alice)
    assert "we were talking about naps" in contents(fake_engine.calls[-1])
    await dpytest.message(f"{mention(bot)} and?", channel, alice)
    assert history_reads == [channel.id]


async def test_a_second_mention_waits_for_the_backfill(bot, fake_engine, history_reads):
    _, channel, (alice, bob) = config()
    await dpytest.message("the cat knocked the vase over", channel, bob)
    restart_memory(bot)
    history_reads.gate.clear()  # the history read is slow

    context = context_of(bot)
    building = []
    build = context.build

    async def recording_build(message, me, **options):
        building.append(message.id)
        return await build(message, me, **options)

    context.build = recording_build
    first = asyncio.create_task(dpytest.message(f"{mention(bot)} what happened?", channel, alice))
    assert await until(lambda: len(building) == 1)
    second = asyncio.create_task(dpytest.message(f"{mention(bot)} and then?", channel, bob))
    assert await until(lambda: len(building) == 2)
    for _ in range(50):  # room for a build that does not wait to reach the engine
        await asyncio.sleep(0)
    assert fake_engine.calls == []  # both wait for the one read
    history_reads.gate.set()
    await asyncio.wait_for(asyncio.gather(first, second), DEADLINE)

    assert history_reads == [channel.id]
    assert len(fake_engine.calls) == 2
    for chat in fake_engine.calls:
        assert "the cat knocked the vase over" in contents(chat)


async def test_a_message_deleted_during_the_backfill_stays_out(bot, fake_engine, history_reads):
    _, channel, (alice, bob) = config()
    secret = await dpytest.message("delete me please", channel, bob)
    await dpytest.message("keep me", channel, bob)
    restart_memory(bot)
    history_reads.gate.clear()
    page = asyncio.create_task(dpytest.message(f"{mention(bot)} hi", channel, alice))
    assert await until(lambda: history_reads)
    # The history page is on its way with the message in it; then the delete arrives.
    stored = list(backend._cur_config.messages[channel.id])
    await delete(secret, settle=False)
    assert await until(lambda: context_of(bot).memory.is_deleted(channel.id, secret.id))
    backend._cur_config.messages[channel.id][:] = stored  # the page was read before it
    history_reads.gate.set()
    await asyncio.wait_for(page, DEADLINE)
    said = contents(fake_engine.calls[-1])
    assert "keep me" in said and "delete me please" not in said


async def test_a_failed_history_read_is_tried_again(bot, fake_engine, monkeypatch):
    _, channel, (alice, bob) = config()
    await dpytest.message("context worth having", channel, bob)
    restart_memory(bot)
    original = bot.http.logs_from
    failures = [discord_error(503)]

    async def logs_from(channel_id, limit, before=None, after=None, around=None):
        if failures:
            raise failures.pop()
        return await original(channel_id, limit, before=before, after=after, around=around)

    monkeypatch.setattr(bot.http, "logs_from", logs_from)
    await dpytest.message(f"{mention(bot)} one", channel, alice)
    assert "context worth having" not in contents(fake_engine.calls[-1])
    await dpytest.message(f"{mention(bot)} two", channel, alice)
    assert "context worth having" in contents(fake_engine.calls[-1])


def discord_error(status: int):
    import discord

    class Response:
        reason = "Service Unavailable"

    Response.status = status
    return discord.HTTPException(Response(), "try later")


# Eviction and bounds -------------------------------------------------------------------------


async def test_an_evicted_channel_is_forgotten_and_backfills_again(bot, fake_engine, history_reads):
    guild, channel, (alice, bob) = config()
    other = backend.make_text_channel("other", guild)
    context = context_of(bot)
    context.memory = ChannelMemory(per_channel=50, max_channels=1)

    await dpytest.message("remember the red ball", channel, bob)
    await dpytest.message(f"{mention(bot)} hi", channel, alice)
    await dpytest.message(f"{mention(bot)} hi", other, alice)  # the one channel kept now
    assert channel.id not in context.memory and other.id in context.memory

    await dpytest.message(f"{mention(bot)} which ball?", channel, alice)
    assert history_reads == [channel.id, other.id, channel.id]  # read again after eviction
    assert "remember the red ball" in contents(fake_engine.calls[-1])


def seen(message_id: int) -> SeenMessage:
    return SeenMessage(message_id, "bob", f"line {message_id}", False)


def test_the_memory_is_bounded_in_channels_messages_and_deletions():
    memory = ChannelMemory(per_channel=3, max_channels=2)
    for channel_id in (1, 2, 3):
        for message_id in range(10):
            memory.add(channel_id, seen(message_id))
    assert 1 not in memory and 2 in memory and 3 in memory
    assert [m.id for m in memory.before(3, 100, 10)] == [7, 8, 9]
    memory.forget(3, range(10_000))
    assert memory.before(3, 100, 10) == []
    assert len(memory._channels[3].deleted) <= 200  # recent deletions only
    memory.add(3, seen(9_999))  # deleted: a late history page does not bring it back
    memory.add(3, seen(20_000))
    assert [m.id for m in memory.before(3, 30_000, 10)] == [20_000]


def test_the_least_recently_active_channel_goes_first():
    memory = ChannelMemory(per_channel=3, max_channels=2)
    memory.add(1, seen(1))
    memory.add(2, seen(2))
    memory.add(1, seen(3))  # 1 is active again
    memory.add(3, seen(4))
    assert 1 in memory and 2 not in memory


def test_lru_keeps_at_most_maxsize():
    lru: LRU[int, None] = LRU(3)
    for key in range(10):
        lru[key] = None
    assert list(lru) == [7, 8, 9]
    lru.touch(7)
    lru[10] = None
    assert list(lru) == [9, 7, 10]


# The reply chain -----------------------------------------------------------------------------


async def test_the_reply_chain_is_fetched_when_not_remembered(bot, fake_engine, settings, fetches):
    _, channel, (alice, bob) = config()
    root = await dpytest.message("the ORIGINAL question about naps", channel, alice)
    middle = await post(channel, bob, "naps are great", reply_to=root)
    # More than the one history page the bot reads after a restart.
    for n in range(context_of(bot).memory.per_channel + 2):
        await dpytest.message(f"filler {n}", channel, bob)
    restart_memory(bot)  # neither the memory nor discord.py's cache has them now

    await post(channel, alice, f"{mention(bot)} agree?", reply_to=middle)
    said = contents(fake_engine.calls[-1])
    assert said[:2] == ["the ORIGINAL question about naps", "naps are great"]
    assert said[-1] == "@mochi agree?"
    assert fetches == [middle.id, root.id]


async def test_a_reply_chain_through_a_deleted_message_stops_there(bot, fake_engine, fetches):
    _, channel, (alice, bob) = config()
    root = await dpytest.message("the root", channel, alice)
    middle = await post(channel, bob, "the middle", reply_to=root)
    restart_memory(bot)
    await delete(root)  # Discord has it no more: fetching it is a 404
    await post(channel, alice, f"{mention(bot)} and you?", reply_to=middle)
    said = contents(fake_engine.calls[-1])
    assert "the middle" in said and "the root" not in said
