"""`/catgpt quiz start|stats` through the real command tree and dpytest: a channel's history
with the persona's real messages, a round posted, votes through the buttons, the reveal by
votes and by the timer (driven by hand, never slept), stats, and what is refused."""

from __future__ import annotations

import asyncio
import random
import re
from types import SimpleNamespace

import discord
import pytest
from discord.ext.test import backend, factories

from bot.client import CatGPTBot
from bot.cogs import quiz as quiz_cog
from bot.quiz.render import plain
from bot.settings import Settings
from catgpt.folder import PersonaCard

from .conftest import FakeEngine, config, connect, post, until
from .test_access import dm_interaction_for
from .test_slash import (
    EPHEMERAL,
    RecordingAdapter,
    command_data,
    interaction_for,
    member_payload,
    run,
    webhooks_to,
)

PERSONA_ID = 1_090_000_000_000_000_001
MODEL_SAYS = "mochi: i would never say no to fish, ever"
EVERYTHING = 2147483647
READ_MESSAGE_HISTORY = 1 << 16
UPDATE_MESSAGE = 7  # the interaction response that edits the message a button is on


class QuizAdapter(RecordingAdapter):
    """The recorder, also answering edits of a followup message (the timer's reveal)."""

    def __init__(self):
        super().__init__()
        self.messages: list[dict] = []  # the followup messages Discord "created"

    async def execute_webhook(self, webhook_id, token, *, payload=None, **rest):
        data = await super().execute_webhook(webhook_id, token, payload=payload, **rest)
        data["components"] = payload.get("components", [])
        self.messages.append(data)
        return data

    async def edit_webhook_message(self, webhook_id, token, message_id, *, payload=None, **_):
        self.calls.append(("edit", payload))
        return {**self.messages[-1], "content": payload.get("content", "")}

    def payloads(self) -> list[dict]:
        """Every message body the bot sent or edited, whatever the way."""
        bodies = []
        for kind, payload in self.calls:
            if payload is None:
                continue
            bodies.append(payload.get("data", payload) if kind == "response" else payload)
        return [b for b in bodies if b]


@pytest.fixture
def adapter():
    with webhooks_to(QuizAdapter()) as recorder:
        yield recorder


class Timer:
    """The quiz's sleep, released by the test: no real waiting, no timed assertion."""

    def __init__(self):
        self.asked: list[float] = []
        self._go = asyncio.Event()

    async def sleep(self, seconds: float) -> None:
        self.asked.append(seconds)
        await self._go.wait()

    def expire(self) -> None:
        self._go.set()


def persona_engine(respond=None) -> FakeEngine:
    card = PersonaCard(name="mochi", aliases=("mochi-chan",), account_ids=(str(PERSONA_ID),))
    return FakeEngine(respond or (lambda messages: MODEL_SAYS), card=card)


async def quiz_bot(tmp_path, open_store, *, engine=None, intents=None, votes=3):
    engine = engine or persona_engine()
    client = CatGPTBot(
        Settings(model=tmp_path, cooldown=0.0, history=10),
        engine=engine,
        open_quiz_store=open_store,
        intents=intents or discord.Intents.all(),
    )
    await connect(client)
    await client.setup_hook()
    quiz = client.get_cog("Quiz")
    quiz.votes = votes
    quiz.rng = random.Random(1)
    quiz.timer = Timer()
    quiz.sleep = quiz.timer.sleep
    return client, quiz, engine


def persona_member():
    guild, _, _ = config()
    if guild.get_member(PERSONA_ID) is None:
        user = backend.make_user("mochi_irl", "0099", id_num=PERSONA_ID)
        backend.make_member(user, guild, nick="Mochi IRL")
    return guild.get_member(PERSONA_ID)


async def history(channel=None):
    """A conversation with the persona in it; its newest persona line is too short to judge."""
    _, default, (alice, bob) = config()
    channel = channel or default
    persona = persona_member()
    await post(channel, alice, "who wants pizza tonight, friends?")
    await post(channel, bob, "me!! pineapple on mine please")
    real = await post(channel, persona, "pineapple on pizza is a crime and you know it")
    await post(channel, alice, "harsh")
    await post(channel, persona, "lol")  # too short: skipped
    return real


def press(client, round_message: dict, member, letter: str) -> discord.Interaction:
    """A button press on the round's message, as Discord sends it."""
    guild, channel, _ = config()
    (row,) = round_message["components"]
    (button,) = [b for b in row["components"] if b["label"] == letter]
    payload = {
        "id": str(factories.make_id()),
        "application_id": str(client.user.id),
        "type": 3,  # message component
        "token": "button-token",
        "version": 1,
        "guild_id": str(guild.id),
        "channel_id": str(channel.id),
        "channel": {"id": str(channel.id), "type": 0, "guild_id": str(guild.id)},
        "member": member_payload(member, EVERYTHING),
        "app_permissions": str(EVERYTHING),
        "attachment_size_limit": 8 * 1024 * 1024,
        "locale": "en-US",
        "message": round_message,
        "data": {"custom_id": button["custom_id"], "component_type": 2},
    }
    return discord.Interaction(data=payload, state=client._connection)


async def vote(client, quiz, adapter, member, letter: str, view=None) -> dict:
    """Press A or B as `member` (on `view`, else the open round's); what the bot answered."""
    view = view or quiz.open[config()[1].id].view
    item = view.choose_a if letter == "A" else view.choose_b
    await item.callback(press(client, adapter.messages[-1], member, letter))
    return adapter.calls[-1][1]


async def start(client, **kwargs):
    # In a task of its own, as the tree runs it: the command tracks its task for shutdown.
    interaction = interaction_for(client, path=("quiz", "start"), **kwargs)
    await asyncio.create_task(run(client, interaction))


def extra_member(name: str):
    guild, _, _ = config()
    return backend.make_member(backend.make_user(name, "0123"), guild)


def assert_no_pings(body: dict) -> None:
    allowed = body.get("allowed_mentions")
    assert allowed is not None and allowed["parse"] == [], body
    assert not allowed.get("users") and not allowed.get("roles")
    assert "<@" not in body.get("content", "")


def last_ephemeral(adapter) -> str:
    kind, payload = adapter.calls[-1]
    body = payload["data"] if kind == "response" else payload
    assert body["flags"] & EPHEMERAL, body
    return body["content"]


# A round ----------------------------------------------------------------------------------------


async def test_a_round_shows_the_context_and_both_replies_and_pings_nobody(
    tmp_path, quiz_store_factory, adapter
):
    client, quiz, engine = await quiz_bot(tmp_path, quiz_store_factory)
    real = await history()
    await start(client)

    kinds = [kind for kind, _ in adapter.calls]
    assert kinds == ["response", "followup"]  # deferred first (history + generation)
    posted = adapter.calls[-1][1]
    content = posted["content"]
    assert "who wants pizza tonight, friends?" in content
    assert "me!! pineapple on mine please" in content
    assert "pineapple on pizza is a crime and you know it" in content
    assert "i would never say no to fish, ever" in content  # the model's, its name stripped
    assert "harsh" not in content  # after the real message: not its context
    assert_no_pings(posted)
    buttons = [b["label"] for b in posted["components"][0]["components"]]
    assert buttons == ["A", "B"]
    # The model was asked what training reads for that turn: the two turns before it.
    alice, bob = config()[2]
    assert engine.calls[-1] == [
        {"role": "user", "name": "alice_0_nick", "content": "who wants pizza tonight, friends?"},
        {"role": "user", "name": "bob_1_nick", "content": "me!! pineapple on mine please"},
    ]
    stored = quiz_store_factory.data.rounds[1]
    assert stored.real_message_id == real.id and stored.guild_id == real.guild.id
    assert stored.model == quiz.model and len(quiz.model) == 16
    await quiz.cog_unload()


async def test_votes_count_once_per_person_and_the_threshold_reveals(
    tmp_path, quiz_store_factory, adapter
):
    client, quiz, _ = await quiz_bot(tmp_path, quiz_store_factory, votes=3)
    await history()
    await start(client)
    alice, bob = config()[2]
    carol = extra_member("carol")
    bot_choice = quiz_store_factory.data.rounds[1].bot_choice
    bot_letter, real_letter = "AB"[bot_choice], "AB"[1 - bot_choice]
    view = quiz.open[config()[1].id].view

    answer = await vote(client, quiz, adapter, alice, bot_letter)
    assert "counts" in answer["data"]["content"] and answer["data"]["flags"] & EPHEMERAL
    await vote(client, quiz, adapter, alice, real_letter)  # changes her vote, still one
    answer = await vote(client, quiz, adapter, bob, bot_letter)
    assert answer["type"] != UPDATE_MESSAGE  # two people so far: not yet
    assert len(quiz_store_factory.data.rounds[1].votes) == 2

    revealed = await vote(client, quiz, adapter, carol, bot_letter)
    assert revealed["type"] == UPDATE_MESSAGE
    body = revealed["data"]
    assert_no_pings(body)
    votes = [0, 0]
    votes[bot_choice], votes[1 - bot_choice] = 2, 1
    # The real one links to the message it is (a link, not a ping).
    link = rf"\[{real_letter}\]\(https://discord\.com/channels/\d+/\d+/\d+\)"
    assert re.search(rf"{link} is what mochi wrote; {bot_letter} is the bot", body["content"])
    assert f"Votes: A {votes[0]}, B {votes[1]}." in body["content"]
    assert "Fooled: 2 of 3 (67%)." in body["content"]
    assert all(b["disabled"] for b in body["components"][0]["components"])
    assert quiz.open == {} and quiz_store_factory.data.rounds[1].closed

    # A press that raced the reveal (the buttons are greyed out once it is shown).
    late = await vote(client, quiz, adapter, extra_member("dave"), real_letter, view)
    assert late["data"]["content"] == quiz_cog.ROUND_OVER
    # The timer was stopped, not left to fire at a closed round.
    await asyncio.sleep(0)
    assert all(task.done() for task in asyncio.all_tasks() if "time_limit" in repr(task))


async def test_the_time_limit_reveals_the_round(tmp_path, quiz_store_factory, adapter):
    client, quiz, _ = await quiz_bot(tmp_path, quiz_store_factory)
    await history()
    await start(client)
    alice = config()[2][0]
    await vote(client, quiz, adapter, alice, "A")
    assert await until(lambda: quiz.timer.asked)
    assert quiz.timer.asked == [120]  # the cog's default limit, asked of the injected sleep

    quiz.timer.expire()
    assert await until(lambda: not quiz.open)
    kind, edit = adapter.calls[-1]
    assert kind == "edit"
    assert_no_pings(edit)
    assert "**Answer:**" in edit["content"] and "1 (" in edit["content"]
    assert quiz_store_factory.data.rounds[1].closed


async def test_the_persona_cannot_vote_on_their_own_words(tmp_path, quiz_store_factory, adapter):
    client, quiz, _ = await quiz_bot(tmp_path, quiz_store_factory)
    await history()
    await start(client)
    answer = await vote(client, quiz, adapter, persona_member(), "A")
    assert answer["data"]["content"] == quiz_cog.OWN_WORDS
    assert quiz_store_factory.data.rounds[1].votes == {}
    await quiz.cog_unload()


async def test_one_open_round_per_channel(tmp_path, quiz_store_factory, adapter):
    client, quiz, engine = await quiz_bot(tmp_path, quiz_store_factory)
    await history()
    await start(client)
    await start(client)
    assert last_ephemeral(adapter) == quiz_cog.ALREADY_OPEN
    assert len(engine.calls) == 1
    await quiz.cog_unload()


# Stats and a restart ---------------------------------------------------------------------------


async def test_stats_survive_a_restart(tmp_path, quiz_store_factory, adapter):
    client, quiz, _ = await quiz_bot(tmp_path, quiz_store_factory, votes=2)
    await history()
    await start(client)
    alice, bob = config()[2]
    bot_letter = "AB"[quiz_store_factory.data.rounds[1].bot_choice]
    await vote(client, quiz, adapter, alice, bot_letter)
    await vote(client, quiz, adapter, bob, "B" if bot_letter == "A" else "A")

    await run(client, interaction_for(client, path=("quiz", "stats")))
    said = adapter.calls[-1][1]["data"]
    assert said["content"].endswith("2 vote(s); the bot was taken for mochi in 1 of them (50%).")
    assert_no_pings(said)
    store = client.quiz_store
    client.ws = None  # dpytest's gateway cannot be closed; discord.py skips a missing one
    await client.close()
    assert store.closed  # the bot closed what it opened

    # The same model folder, the same server (dpytest makes its world anew: the old id).
    guild_id = config()[0].id
    again, quiz_again, _ = await quiz_bot(tmp_path, quiz_store_factory)
    assert again.quiz_store is not store and quiz_again.model == quiz.model
    await run(again, interaction_for(again, path=("quiz", "stats"), guild_id=guild_id))
    assert adapter.calls[-1][1]["data"]["content"] == said["content"]


async def test_results_survive_a_restart_in_the_real_database(tmp_path, adapter):
    # The store the bot opens in production (bot.store.BotStore), on a SQLite file by URL:
    # a round, two votes, the reveal, then a new bot process over the same file.
    from bot.store.database import BotStore

    url = f"sqlite:///{tmp_path / 'bot' / 'catgpt.sqlite3'}"

    def open_store():
        return BotStore.open(url)

    client, quiz, _ = await quiz_bot(tmp_path, open_store, votes=2)
    await history()
    await start(client)
    alice, bob = config()[2]
    bot_letter = "AB"[quiz.open[config()[1].id].round.bot_choice]
    await vote(client, quiz, adapter, alice, bot_letter)
    await vote(client, quiz, adapter, bob, "B" if bot_letter == "A" else "A")
    assert quiz.open == {}  # the second vote reached the threshold: revealed
    await run(client, interaction_for(client, path=("quiz", "stats")))
    said = adapter.calls[-1][1]["data"]["content"]
    assert said.endswith("2 vote(s); the bot was taken for mochi in 1 of them (50%).")
    client.ws = None
    await client.close()

    guild_id = config()[0].id
    again, _, _ = await quiz_bot(tmp_path, open_store)
    assert isinstance(again.quiz_store, BotStore)
    await run(again, interaction_for(again, path=("quiz", "stats"), guild_id=guild_id))
    assert adapter.calls[-1][1]["data"]["content"] == said
    # Another server has its own score.
    other = await again.quiz_store.stats(model=quiz.model, guild_id=guild_id + 1)
    assert other.rounds == 0
    again.ws = None
    await again.close()


async def test_stats_before_any_round(tmp_path, quiz_store_factory, adapter):
    client, _, _ = await quiz_bot(tmp_path, quiz_store_factory)
    await run(client, interaction_for(client, path=("quiz", "stats")))
    assert "No mochi quiz rounds" in adapter.calls[-1][1]["data"]["content"]


async def test_shutdown_reveals_open_rounds_cleanly(tmp_path, quiz_store_factory, adapter):
    client, quiz, _ = await quiz_bot(tmp_path, quiz_store_factory)
    await history()
    await start(client)
    timer = quiz.open[config()[1].id].timer
    client.ws = None
    await client.close()
    assert timer.cancelled() or timer.done()
    kind, edit = adapter.calls[-1]
    assert kind == "edit" and "Nobody voted." in edit["content"]
    assert quiz_store_factory.data.rounds[1].closed


# What is refused -------------------------------------------------------------------------------


async def test_nothing_from_a_channel_the_asker_cannot_read(tmp_path, quiz_store_factory, adapter):
    client, _, engine = await quiz_bot(tmp_path, quiz_store_factory)
    await history()
    await start(client, permissions=EVERYTHING & ~READ_MESSAGE_HISTORY)
    assert last_ephemeral(adapter) == quiz_cog.USER_CANNOT_READ
    assert engine.calls == [] and quiz_store_factory.data.rounds == {}
    assert all("pineapple" not in body.get("content", "") for body in adapter.payloads())


async def test_without_read_message_history_the_bot_names_it(tmp_path, quiz_store_factory, adapter):
    client, _, engine = await quiz_bot(tmp_path, quiz_store_factory)
    await history()
    await start(client, app_permissions=EVERYTHING & ~READ_MESSAGE_HISTORY)
    assert last_ephemeral(adapter) == quiz_cog.BOT_CANNOT_READ
    assert "Read Message History" in quiz_cog.BOT_CANNOT_READ
    assert engine.calls == []


async def test_too_short_messages_leave_nothing_to_quiz(tmp_path, quiz_store_factory, adapter):
    client, _, engine = await quiz_bot(tmp_path, quiz_store_factory)
    _, channel, (alice, _) = config()
    persona = persona_member()
    for line in ("are you coming?", "yes", "who else is coming tonight?", "https://x.io/a b"):
        await post(channel, alice if "?" in line else persona, line)
    await post(channel, persona, "🍕🍕 🐟 <:cat:123456789012345678>")
    await start(client)
    assert last_ephemeral(adapter) == quiz_cog.NOTHING_TO_QUIZ.format(persona="mochi")
    assert engine.calls == []
    # After the public "thinking...", the placeholder goes and the line is the asker's alone.
    assert [kind for kind, _ in adapter.calls] == ["response", "delete_original", "followup"]


async def test_a_copy_of_training_is_skipped(tmp_path, quiz_store_factory, adapter):
    engine = persona_engine()
    # The copy guard as the Replier exposes it: this line is one of the training replies.
    engine.replier = SimpleNamespace(
        guard=SimpleNamespace(copied=lambda text: int("crime" in text))
    )
    client, _, _ = await quiz_bot(tmp_path, quiz_store_factory, engine=engine)
    await history()
    await start(client)
    assert last_ephemeral(adapter) == quiz_cog.NOTHING_TO_QUIZ.format(persona="mochi")


async def test_without_the_message_content_intent_it_says_how_to_turn_it_on(
    tmp_path, quiz_store_factory, adapter
):
    intents = discord.Intents.all()
    intents.message_content = False
    client, _, engine = await quiz_bot(tmp_path, quiz_store_factory, intents=intents)
    await history()
    await start(client)
    line = last_ephemeral(adapter)
    assert line == quiz_cog.NEEDS_INTENT
    assert "Message Content Intent" in line and "CATGPT_MESSAGE_CONTENT=true" in line
    assert engine.calls == []


async def test_the_quiz_is_refused_in_dms(tmp_path, quiz_store_factory, adapter):
    client, _, engine = await quiz_bot(tmp_path, quiz_store_factory)
    alice = config()[2][0]
    for path in (("quiz", "start"), ("quiz", "stats")):
        data = command_data(*path)
        await run(client, dm_interaction_for(client, alice._user, "", data=data))
        assert last_ephemeral(adapter) == quiz_cog.SERVER_ONLY
    assert engine.calls == []


async def test_without_a_store_the_quiz_says_results_are_not_configured(tmp_path, adapter):
    client, _, engine = await quiz_bot(tmp_path, None)
    await history()
    await start(client)
    assert last_ephemeral(adapter) == quiz_cog.NOT_CONFIGURED
    assert engine.calls == []


async def test_outside_the_allowed_channels_it_is_refused(tmp_path, quiz_store_factory, adapter):
    from bot.cogs import NOT_HERE_NOTICE

    client, _, engine = await quiz_bot(tmp_path, quiz_store_factory)
    _, channel, _ = config()
    client.get_cog("Slash").settings = Settings(
        model=tmp_path, cooldown=0.0, allowed_channels=frozenset({channel.id + 1})
    )
    await history()
    await start(client)
    assert last_ephemeral(adapter) == NOT_HERE_NOTICE
    assert engine.calls == []


async def test_names_in_the_context_are_plain_text(tmp_path, quiz_store_factory, adapter):
    client, quiz, _ = await quiz_bot(tmp_path, quiz_store_factory)
    guild, channel, (alice, _) = config()
    loud = backend.make_member(backend.make_user("loud", "0007"), guild, nick="@everyone **hi**")
    await post(channel, loud, f"hey <@{alice.id}> and @here, look at this")
    await post(channel, persona_member(), "looking at it right now, so shiny")
    await start(client)
    posted = adapter.calls[-1][1]
    assert_no_pings(posted)
    assert plain("@everyone **hi**") in posted["content"]
    assert not re.search(r"@(everyone|here)", posted["content"])
    assert "@alice\\_0\\_nick" in posted["content"]  # a mention reads as the name, not a ping
    await quiz.cog_unload()
