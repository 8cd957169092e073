"""`/catgpt forget|remember|pause|resume|about` through the real command tree and dpytest, on
the bot's real database (a SQLite file): what is forgotten leaves every cache and never
reaches a prompt (a generated property over channel histories), who may pause where, and
that a restart keeps both."""

from __future__ import annotations

import asyncio
from datetime import date

import discord
import discord.ext.test as dpytest
import pytest
from discord.ext.test import backend
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.about import status_line
from bot.client import CatGPTBot
from bot.cogs import consent as texts
from bot.settings import Settings
from bot.store.database import BotStore
from catgpt.folder import PersonaCard

from .conftest import FakeEngine, config, connect, mention, post, restart_memory
from .test_quiz import PERSONA_ID, persona_engine, persona_member
from .test_quiz import history as quiz_history
from .test_slash import EPHEMERAL, RecordingAdapter, interaction_for, run, webhooks_to

# A member's permissions without Manage Server or Administrator: view, send, read history.
MEMBER = (1 << 10) | (1 << 11) | (1 << 16)
MANAGE_GUILD = 1 << 5


@pytest.fixture
def adapter():
    with webhooks_to(RecordingAdapter()) as recorder:
        yield recorder


async def consent_bot(tmp_path, engine=None, **settings) -> CatGPTBot:
    """A bot over a SQLite file in tmp_path: the same file each call, as after a restart."""
    url = f"sqlite:///{tmp_path / 'bot.sqlite3'}"
    client = CatGPTBot(
        Settings(model=tmp_path, cooldown=0.0, history=10, **settings),
        engine=engine or persona_engine(lambda messages: "purr"),
        open_quiz_store=lambda: BotStore.open(url),
        intents=discord.Intents.all(),
    )
    await connect(client)
    await client.setup_hook()
    return client


async def stop(client: CatGPTBot) -> None:
    client.ws = None  # dpytest's gateway cannot be closed; discord.py skips a missing one
    await client.close()
    await dpytest.empty_queue()  # the replies sent: dpytest's queue outlives its world


async def command(client, name: str, member=None, **options) -> str:
    """Run `/catgpt <name>`; the one ephemeral line it answered."""
    adapter = discord.webhook.async_.async_context.get()
    await play(client, interaction_for(client, path=(name,), member=member, **options))
    kind, payload = adapter.calls[-1]
    body = payload["data"] if kind == "response" else payload
    assert body["flags"] & EPHEMERAL, body
    return body["content"]


async def play(client, interaction) -> None:
    # In a task of its own, as the tree runs it: a command tracks its task for shutdown.
    await asyncio.create_task(run(client, interaction))


def prompt_text(engine: FakeEngine) -> str:
    return "\n".join(f"{m.get('name', '')}: {m['content']}" for m in engine.calls[-1])


# forget / remember -----------------------------------------------------------------------------


async def test_forget_empties_every_cache_and_keeps_them_out_until_remember(tmp_path, adapter):
    client = await consent_bot(tmp_path)
    engine = client.engine
    _, channel, (alice, bob) = config()
    await post(channel, alice, "my secret plan is pancakes")
    await post(channel, bob, "bob here, hungry")
    await post(channel, bob, f"{mention(client)} thoughts?")
    assert "pancakes" in prompt_text(engine)

    assert await command(client, "forget", alice) == texts.FORGOTTEN
    assert await command(client, "forget", alice) == texts.FORGOTTEN  # twice is fine
    memory = client.get_cog("Mentions").mention_context.memory
    assert memory.before(channel.id, 2**63, 100) and all(
        seen.author_id != alice.id for seen in memory.before(channel.id, 2**63, 100)
    )
    assert all(m.author.id != alice.id for m in client._connection._messages)
    assert client.consent.opted_out(alice.id)

    await post(channel, alice, "new secret: waffles")
    await post(channel, bob, f"{mention(client)} and now?")
    said = prompt_text(engine)
    assert "pancakes" not in said and "waffles" not in said and "alice" not in said
    assert "bob here, hungry" in said

    calls = len(engine.calls)
    await post(channel, alice, f"{mention(client)} hello?")  # not answered: nothing of hers is read
    assert len(engine.calls) == calls
    assert await command(client, "say", alice, prompt="hi") == texts.OPTED_OUT
    assert len(engine.calls) == calls

    assert await command(client, "remember", alice) == texts.REMEMBERED
    await post(channel, alice, "back again with crepes")
    await post(channel, bob, f"{mention(client)} hm?")
    said = prompt_text(engine)
    assert "crepes" in said and "pancakes" not in said  # what was forgotten stays forgotten
    await stop(client)


async def test_the_persona_cannot_opt_out_and_a_restart_keeps_an_opt_out(tmp_path, adapter):
    client = await consent_bot(tmp_path)
    persona = persona_member()
    alice = config()[2][0]
    refused = await command(client, "forget", persona)
    assert refused == texts.PERSONA_FORGET.format(persona="mochi")
    assert not client.consent.opted_out(persona.id)
    await command(client, "forget", alice)
    await stop(client)

    again = await consent_bot(tmp_path)
    assert again.consent.opted_out(alice.id) and not again.consent.opted_out(persona.id)
    guild, channel, (_, bob) = config()  # dpytest's world anew: alice again, by her id
    alice = backend.make_member(backend.make_user("alice", "0001", id_num=alice.id), guild)
    restart_memory(again)
    await post(channel, alice, "remember my tea order")
    await post(channel, bob, f"{mention(again)} so?")
    assert "tea order" not in prompt_text(again.engine)
    await stop(again)


async def test_consent_commands_answer_where_the_bot_may_not_talk(tmp_path, adapter):
    client = await consent_bot(tmp_path, allowed_channels=(1,))  # not this channel
    alice = config()[2][0]
    assert await command(client, "forget", alice) == texts.FORGOTTEN
    assert "imitating mochi" in await command(client, "about", alice)
    await stop(client)


async def test_without_a_database_the_commands_say_so(bot, adapter):
    alice = config()[2][0]
    assert await command(bot, "forget", alice) == texts.NOT_CONFIGURED
    assert await command(bot, "pause", alice) == texts.NOT_CONFIGURED


async def test_a_quiz_round_shows_nothing_of_someone_who_opted_out(tmp_path, adapter):
    client = await consent_bot(tmp_path, engine=persona_engine())
    quiz = client.get_cog("Quiz")
    _, channel, (alice, bob) = config()
    await command(client, "forget", alice)
    await quiz_history()  # alice asks, bob answers, the persona's real turn, ...
    await play(client, interaction_for(client, path=("quiz", "start"), member=bob))
    posted = adapter.calls[-1][1]["content"]
    assert "pineapple on pizza is a crime" in posted
    assert "who wants pizza" not in posted and "alice" not in posted.lower()
    assert all("who wants pizza" not in m["content"] for m in client.engine.calls[-1])
    await quiz.cog_unload()
    await stop(client)


# A generated property: nothing an opted-out person wrote reaches a prompt -----------------------

CAST = ("alice", "carol", "dave")  # who may opt out; bob asks


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    lines=st.lists(st.tuples(st.sampled_from(("bob", *CAST)), st.booleans()), max_size=14),
    opted=st.sets(st.sampled_from(CAST)),
    restart=st.booleans(),
    reply_to_opted=st.booleans(),
)
def test_no_text_of_anyone_who_opted_out_reaches_the_prompt(
    tmp_path, lines, opted, restart, reply_to_opted
):
    # Lines before and after the opt-out (`after`), the memory or the history read after a
    # restart as the source, the mention replying to an opted-out message or not.
    asyncio.run(_no_opted_out_text(tmp_path, lines, opted, restart, reply_to_opted))


class MemoryConsentStore:
    """An in-memory ConsentStore (the database's are tested in test_consent_store.py)."""

    def __init__(self):
        self.ids: set[int] = set()
        self.scopes: set[int | None] = set()

    async def opt_out(self, user_id):
        new = user_id not in self.ids
        self.ids.add(user_id)
        return new

    async def opt_in(self, user_id):
        old = user_id in self.ids
        self.ids.discard(user_id)
        return old

    async def opted_out_ids(self):
        return frozenset(self.ids)

    async def is_opted_out(self, user_id):
        return user_id in self.ids

    async def pause(self, guild_id):
        self.scopes.add(guild_id)
        return True

    async def resume(self, guild_id):
        self.scopes.discard(guild_id)
        return True

    async def paused_scopes(self):
        return frozenset(self.scopes)

    async def close(self):
        pass


async def _no_opted_out_text(tmp_path, lines, opted, restart, reply_to_opted):
    async def open_store():
        return MemoryConsentStore()

    engine = FakeEngine(lambda messages: "ok")
    client = CatGPTBot(
        Settings(model=tmp_path, cooldown=0.0, history=10),
        engine=engine,
        open_quiz_store=open_store,
        intents=discord.Intents.all(),
    )
    await connect(client)
    await client.setup_hook()
    try:
        with webhooks_to(RecordingAdapter()):
            await _talk_and_check(client, engine, lines, opted, restart, reply_to_opted)
    finally:
        await stop(client)


async def _talk_and_check(client, engine, lines, opted, restart, reply_to_opted):
    guild, channel, (alice, bob) = config()
    people = {"alice": alice, "bob": bob}
    for name in ("carol", "dave"):
        people[name] = backend.make_member(backend.make_user(name, "0042"), guild)
    secret: list[str] = []
    last_opted = None
    for phase in ("before", "after"):
        for number, (who, after) in enumerate(lines):
            if after != (phase == "after"):
                continue
            text = f"msg{phase}{number:03d}end"
            message = await post(channel, people[who], text)
            if who in opted:
                secret.append(text)
                last_opted = message
        if phase == "before":
            for name in sorted(opted):
                await play(client, interaction_for(client, path=("forget",),
                                                   member=people[name]))  # fmt: skip
    if restart:
        restart_memory(client)
    parent = last_opted if reply_to_opted else None
    await post(channel, bob, f"{mention(client)} well?", reply_to=parent)
    assert engine.calls, "bob's mention was answered"
    said = "\n".join(f"{m.get('name', '')}\t{m['content']}" for m in engine.calls[-1])
    for text in secret:
        assert text not in said
    for name in opted:
        assert name not in said


# pause / resume --------------------------------------------------------------------------------


async def test_the_persona_pauses_everywhere_and_resumes(tmp_path, adapter):
    client = await consent_bot(tmp_path)
    engine = client.engine
    _, channel, (alice, _) = config()
    persona = persona_member()
    assert await command(client, "pause", persona) == texts.PAUSED_EVERYWHERE
    await post(channel, alice, f"{mention(client)} are you there?")
    assert engine.calls == []  # no mention reply
    paused = texts.PAUSED_NOTICE.format(why=texts.BY_PERSONA.format(persona="mochi"))
    assert await command(client, "say", alice, prompt="hi") == paused
    assert await command(client, "say", alice, prompt="hi", guild_id=1) == paused  # any server
    quiz = interaction_for(client, path=("quiz", "start"), member=alice)
    await play(client, quiz)
    assert adapter.calls[-1][1]["data"]["content"] == paused
    assert engine.calls == []
    assert "paused here" in await command(client, "about", alice)

    assert await command(client, "resume", persona) == texts.RESUMED_EVERYWHERE
    await post(channel, alice, f"{mention(client)} now?")
    assert len(engine.calls) == 1
    await stop(client)


async def test_a_stranger_cannot_pause_or_resume(tmp_path, adapter):
    client = await consent_bot(tmp_path)
    alice = config()[2][0]
    refused = texts.PAUSE_REFUSED.format(persona="mochi")
    assert await command(client, "pause", alice, permissions=MEMBER) == refused
    assert not client.consent.paused_here(config()[0].id)
    await command(client, "pause", persona_member())
    assert await command(client, "resume", alice, permissions=MEMBER) == refused
    assert client.consent.paused_everywhere
    await stop(client)


async def test_an_admin_pauses_their_server_only_and_a_restart_keeps_it(tmp_path, adapter):
    client = await consent_bot(tmp_path)
    guild, channel, (alice, bob) = config()
    admin = MEMBER | MANAGE_GUILD
    assert await command(client, "pause", bob, permissions=admin) == texts.PAUSED_HERE
    await post(channel, alice, f"{mention(client)} hello?")
    assert client.engine.calls == []
    here = texts.PAUSED_NOTICE.format(why=texts.BY_ADMINS)
    assert await command(client, "say", alice, prompt="hi") == here
    other = guild.id + 1
    await play(client, interaction_for(client, "hi", alice, guild_id=other))  # another server
    assert len(client.engine.calls) == 1
    await stop(client)

    again = await consent_bot(tmp_path)
    assert again.consent.paused_here(guild.id) and not again.consent.paused_here(other)
    _, channel, (alice, bob) = config()  # dpytest's world anew: the old server by its id
    assert await command(again, "say", alice, prompt="hi", guild_id=guild.id) == here
    assert again.engine.calls == []
    # Administrator alone is enough; the persona's pause everywhere outlives the server's resume.
    await command(again, "pause", persona_member())
    admin_only = MEMBER | (1 << 3)
    resumed = await command(again, "resume", bob, permissions=admin_only, guild_id=guild.id)
    assert resumed == texts.RESUMED_HERE + texts.STILL_PAUSED.format(persona="mochi")
    assert await again.consent.store.paused_scopes() == {None}
    await command(again, "resume", persona_member())
    await post(channel, alice, f"{mention(again)} and now?")
    assert len(again.engine.calls) == 1
    await stop(again)


# about and the status --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "last, shown", [(date(2024, 5, 31), "up to 2024-05-31"), (None, "up to an unknown date")]
)
async def test_about_says_what_it_is_and_how_to_opt_out(tmp_path, adapter, last, shown):
    card = PersonaCard(name="mochi", account_ids=(str(PERSONA_ID),), last_message=last)
    client = await consent_bot(tmp_path, engine=FakeEngine(card=card))
    said = await command(client, "about", config()[2][0])
    assert "a language model imitating mochi" in said and shown in said
    for name in ("forget", "remember", "pause", "resume"):
        assert f"/catgpt {name}" in said
    assert "Right now I'm paused" not in said

    presences = []

    async def change_presence(**kwargs):
        presences.append(kwargs)

    client.change_presence = change_presence
    await client.get_cog("ConsentCommands").on_ready()
    (activity,) = [p["activity"] for p in presences]
    assert isinstance(activity, discord.CustomActivity)
    assert activity.name == "AI imitating mochi · /catgpt about" == status_line(card)
    await stop(client)


def test_the_status_line_fits_discord_s_limit():
    long = PersonaCard(name="m" * 100 + " the very long name")
    assert len(status_line(long)) <= 128 and status_line(long).endswith(" · /catgpt about")


# The date /catgpt about gives: catgpt.json's dataset block, read through the persona card -----


def test_the_card_reads_the_last_trained_day_and_refuses_a_bad_one():
    from catgpt.errors import ModelFolderError
    from catgpt.folder import card_from_dict

    day = {"dataset": {"last_persona_message": "2024-05-31"}}
    assert card_from_dict({"persona": "mochi", **day}).last_message == date(2024, 5, 31)
    in_stats = {"dataset": {"stats": {"last_persona_message": "2023-01-02"}}}
    assert card_from_dict(in_stats).last_message == date(2023, 1, 2)
    assert card_from_dict({"persona": "mochi"}).last_message is None
    with pytest.raises(ModelFolderError) as caught:
        card_from_dict({"dataset": {"last_persona_message": "31/05/2024"}})
    assert "dataset.last_persona_message" in str(caught.value)
    assert "\n" not in str(caught.value)
