"""The bot's start-up and shutdown, and the owner-only sync."""

from __future__ import annotations

import asyncio
import json
import threading

import discord
import discord.ext.test as dpytest
import pytest
from discord.ext import commands

from bot.engines.local import LocalEngine
from bot.errors import EngineClosed
from bot.settings import Settings
from catgpt.folder import read_card

from .conftest import FakeEngine, config, mention, started, until
from .test_engine import GatedGenerator


@pytest.fixture
def synced(monkeypatch):
    calls = []

    async def fake_sync(self, *, guild=None):
        calls.append(guild.id if guild else "global")
        return []

    monkeypatch.setattr(discord.app_commands.CommandTree, "sync", fake_sync)
    return calls


async def test_setup_hook_loads_the_engine_off_the_event_loop(tmp_path, synced):
    threads = []

    def load():
        threads.append(threading.current_thread())
        return FakeEngine()

    client = await started(Settings(model=tmp_path), load_engine=load)
    assert threads and threads[0] is not threading.main_thread()
    assert client.engine.card.name == "mochi"
    assert {"Mentions", "Slash", "Admin", "ErrorHandler"} <= set(client.cogs)
    assert synced == []  # no development guild: nothing synced, never globally at start
    await dpytest.empty_queue()


async def test_dev_guild_gets_the_commands_at_start(tmp_path, synced):
    settings = Settings(model=tmp_path, dev_guild=123456789012345678)
    client = await started(settings, FakeEngine())
    assert synced == [123456789012345678]
    assert [c.name for c in client.tree.get_commands(guild=discord.Object(123456789012345678))] == [
        "catgpt"
    ]


async def test_owner_sync_is_a_command_not_a_chat_line(tmp_path, synced):
    engine = FakeEngine()
    client = await started(Settings(model=tmp_path, cooldown=0), engine)
    _, channel, (alice, bob) = config()
    client.owner_id = alice.id

    # dpytest re-raises every command error; in production the error handler drops it quietly.
    with pytest.raises(commands.CheckFailure):
        await dpytest.message(f"{mention(client)} sync", channel, bob)  # not the owner
    assert synced == []
    assert dpytest.verify().message().contains().content("nya~")

    await dpytest.message(f"{mention(client)} sync", channel, alice)
    assert synced == ["global"]
    assert dpytest.verify().message().content("Synced 0 command(s) (global).")
    assert len(engine.calls) == 1  # only bob's line went to the model


async def test_shutdown_lets_the_reply_in_progress_finish(tmp_path, synced):
    generator = GatedGenerator()
    engine = LocalEngine(generator, queue_size=4, max_batch=4)
    client = await started(Settings(model=tmp_path, cooldown=0), engine)
    _, channel, (alice, _) = config()

    talking = asyncio.create_task(dpytest.message(f"{mention(client)} hi", channel, alice))
    assert await until(generator.entered.is_set)
    client.ws = None  # dpytest's fake gateway cannot be closed; discord.py skips a missing one
    closing = asyncio.create_task(client.close())
    assert await until(lambda: not engine._accepting)  # close() began: it stops intake first
    with pytest.raises(EngineClosed):
        engine.submit([{"role": "user", "content": "late"}])  # no new work once closing
    generator.release.set()
    await asyncio.wait_for(asyncio.gather(talking, closing), 10)
    assert dpytest.verify().message().content("re: @mochi hi")
    assert not engine._thread.is_alive()


async def test_a_mention_is_answered_by_the_real_engine(tiny_model_dir, tmp_path, synced):
    from catgpt.local_backend import load_replier
    from catgpt.reply_cleaning import prepare_reply

    generator = load_replier(tiny_model_dir, device="cpu")
    engine = LocalEngine(generator, queue_size=4, max_batch=4)
    client = await started(Settings(model=tiny_model_dir, cooldown=0), engine)
    _, channel, (alice, _) = config()
    try:
        await dpytest.message(f"{mention(client)} hi", channel, alice)
        chat = [{"role": "user", "name": "alice_0_nick", "content": "@mochi hi"}]
        expected = prepare_reply(generator.generate([chat])[0], ["mochi", "mochi-chan"])[0]
        assert dpytest.verify().message().content(expected)
    finally:
        assert engine.close(5.0)


async def test_owner_sync_here_and_clear_act_on_this_guild_only(tmp_path, synced):
    client = await started(Settings(model=tmp_path, cooldown=0), FakeEngine())
    guild, channel, (alice, _) = config()
    client.owner_id = alice.id

    await dpytest.message(f"{mention(client)} sync here", channel, alice)
    assert synced == [guild.id]  # this guild, not global
    assert [c.name for c in client.tree.get_commands(guild=guild)] == ["catgpt"]
    assert dpytest.verify().message().content("Synced 0 command(s) (here).")

    await dpytest.message(f"{mention(client)} sync clear", channel, alice)
    assert synced == [guild.id, guild.id]
    assert client.tree.get_commands(guild=guild) == []  # this guild's copies are gone ...
    assert [c.name for c in client.tree.get_commands()] == ["catgpt"]  # ... the global stays
    assert dpytest.verify().message().content("Synced 0 command(s) (clear).")
    assert client.engine.calls == []


async def test_owner_sync_here_in_a_dm_says_it_needs_a_server(tmp_path, synced):
    client = await started(Settings(model=tmp_path, cooldown=0), FakeEngine())
    _, _, (alice, _) = config()
    client.owner_id = alice.id
    dm = await alice.create_dm()
    # dpytest re-raises every command error; the error handler has answered by then.
    with pytest.raises(commands.BadArgument):
        await dpytest.message(f"{mention(client)} sync here", dm, alice)
    assert synced == []
    assert dpytest.verify().message().content("`here` and `clear` work in a server, not in DMs.")
    assert client.engine.calls == []


async def test_the_persona_card_s_account_ids_reach_both_chat_paths(tmp_path, synced):
    (tmp_path / "catgpt.json").write_text(
        json.dumps({"persona": {"name": "mochi", "account_ids": ["123456789012345678", 42]}})
    )
    # The card as the engine read it at load: the bot reads catgpt.json through it, not again.
    engine = FakeEngine(card=read_card(tmp_path))
    client = await started(Settings(model=tmp_path, cooldown=0), engine)
    expected = frozenset({123456789012345678, 42})
    assert client.get_cog("Mentions").mention_context.account_ids == expected
    assert client.get_cog("Slash").persona_accounts == expected
