"""Contract 6, end to end: the bot's prompt for a persona turn is training's, token for token.

A conversation is driven through the real bot (dpytest): quick messages in a row, a burst reply
of the bot's, a long silence, a reply to an old message, an edit and a delete. The prompts the
bot's real reply path (LocalEngine -> Replier -> PromptBuilder, a real tokenizer and chat template)
hands its backend are recorded. The same messages, as Discord keeps them afterwards, are written
as a DiscordChatExporter export and `catgpt-train prepare` makes a dataset of them; each of the
bot's replies is a persona turn there, and its example rendered by training's feature code
(training/model/features.py) must start with exactly the ids the bot sent.

The numbers are not prepare's defaults (3-minute merge window, 45-minute gap, 4 turns), and the
conversation has a pair of messages 4 minutes apart and a 50-minute silence, so a bot that did
not read them from catgpt.json would build other turns.
"""

from __future__ import annotations

import importlib.util
import json
from datetime import datetime, timedelta, timezone
from pathlib import Path
from types import SimpleNamespace

import discord
import discord.ext.test as dpytest
import pytest
from discord.ext.test import backend, factories

from bot.engines.local import LocalEngine
from catgpt.folder import load_fast_tokenizer, read_card
from catgpt.prompt import prompt_builder_for
from catgpt.reply import Completion, Replier

from .conftest import CORPUS, PERSONA, config, connect, delete, edit, mention, message_data

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

MERGE_MINUTES, GAP_MINUTES, TURNS = 3, 45, 4
MAX_LENGTH, NEW_TOKENS = 1024, 16
START = datetime(2024, 5, 1, 12, 0, tzinfo=timezone.utc)
_DISCORD_EPOCH = datetime(2015, 1, 1, tzinfo=timezone.utc)


def _dce_writer():
    """tests/data/conftest.py's DiscordChatExporter writer (conftest is not importable)."""
    path = Path(__file__).parents[1] / "data" / "conftest.py"
    spec = importlib.util.spec_from_file_location("data_conftest", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module.write_dce


class Clock:
    """Discord ids carry their time: ids are made from this clock, which the test moves."""

    def __init__(self, now: datetime):
        self.now = now
        self.count = 0

    def advance(self, **delta) -> None:
        self.now += timedelta(**delta)

    def make_id(self) -> int:
        self.count += 1
        ms = (self.now - _DISCORD_EPOCH) // timedelta(milliseconds=1)
        return (ms << 22) | (1 << 17) | (self.count % 4096)


class ScriptedBackend:
    """The model call (catgpt.reply.Backend): records each prompt's ids, answers from a script."""

    def __init__(self, replies: list[str]):
        self.replies = list(replies)
        self.prompts: list[list[int]] = []
        self.max_new_tokens = NEW_TOKENS

    def complete(self, prompts, *, should_stop=None, seed=None):
        self.prompts += [list(prompt.ids) for prompt in prompts]
        return [Completion(self.replies.pop(0), "eos") for _ in prompts]


def model_folder(folder: Path) -> Path:
    """A folder as `train` writes it, minus the weights: tokenizer, chat template, catgpt.json
    whose "context" comes from training's own writer over prepare's recorded options."""
    from training.model.bases import train_tiny_tokenizer
    from training.model.chat_template import install_chat_template
    from training.model.model_folder import trained_context

    tokenizer = train_tiny_tokenizer(CORPUS, vocab_size=400)
    install_chat_template(tokenizer, PERSONA)
    tokenizer.save_pretrained(folder)
    options = {"merge_window_s": MERGE_MINUTES * 60.0, "gap_s": GAP_MINUTES * 60.0,
               "context_turns": TURNS}  # fmt: skip
    dataset = SimpleNamespace(stats={"options": options}, train=[])
    card = {"persona": {"name": PERSONA}, "context": trained_context(dataset, MAX_LENGTH)}
    (folder / "catgpt.json").write_text(json.dumps(card), encoding="utf-8")
    return folder


@pytest.fixture
async def world(tmp_path, monkeypatch):
    """The bot on the real reply path, with its clock, backend and channel."""
    from bot.client import CatGPTBot
    from bot.settings import Settings

    folder = model_folder(tmp_path / "model")
    card = read_card(folder)
    prompts, _ = prompt_builder_for(
        load_fast_tokenizer(folder), card, window=MAX_LENGTH, max_new_tokens=NEW_TOKENS,
        history=10,
    )  # fmt: skip
    model = ScriptedBackend([
        "nya~ yes\nbring the fish",  # a burst: two messages
        "ok, tuna too",
        "i said yes to games",
    ])  # fmt: skip
    engine = LocalEngine(Replier(prompts, model, card))
    clock = Clock(START)
    monkeypatch.setattr(factories, "make_id", clock.make_id)
    settings = Settings(model=folder, cooldown=0.0, history=10)
    assert settings.bursts  # the default
    client = CatGPTBot(settings, engine=engine, intents=discord.Intents.all())
    await connect(client)
    await client.setup_hook()
    _, channel, members = config()
    _bot_replies_are_replies(client, channel)

    async def pause(seconds: float) -> None:  # the typing pause between bursts takes time
        clock.advance(seconds=seconds)

    client.get_cog("Mentions").pause = pause
    yield SimpleNamespace(client=client, clock=clock, model=model, channel=channel,
                          members=members, folder=folder)  # fmt: skip
    await dpytest.empty_queue()
    engine.close()


def _bot_replies_are_replies(client, channel) -> None:
    """dpytest drops a sent message's reference; Discord keeps it (and an export shows it)."""

    async def send_message(channel_id, *, params):
        payload = params.payload or {}
        reference = payload.get("message_reference")
        replied = channel.get_partial_message(int(reference["message_id"])) if reference else None
        data = message_data(channel, client.user, payload.get("content") or "", reply_to=replied)
        backend._cur_config.messages.setdefault(channel.id, []).append(data)
        backend.get_state().parse_message_create(data)
        return data

    client.http.send_message = send_message


async def say(world, who, text: str, *, after: dict, reply_to=None) -> discord.Message:
    world.clock.advance(**after)
    data = message_data(world.channel, who, text, reply_to=reply_to)
    backend._cur_config.messages.setdefault(world.channel.id, []).append(data)
    backend.get_state().parse_message_create(data)
    await dpytest.run_all_events()
    return backend.get_state()._get_message(int(data["id"]))


def bot_messages(world) -> list[discord.Message]:
    state = backend.get_state()
    stored = backend._cur_config.messages[world.channel.id]
    return [state._get_message(int(d["id"])) for d in stored
            if int(d["author"]["id"]) == world.client.user.id]  # fmt: skip


def export(world, path: Path) -> Path:
    """The channel as DiscordChatExporter writes it afterwards: edits in, deletes out."""
    guild = world.channel.guild
    me = world.client.user

    def person(user_id: int) -> dict:
        if user_id == me.id:  # the persona's own account, which the bot speaks as
            return {"id": str(me.id), "name": PERSONA, "nickname": PERSONA, "isBot": False}
        member = guild.get_member(user_id)
        return {"id": str(user_id), "name": member.name, "nickname": member.display_name,
                "isBot": False}  # fmt: skip

    messages = []
    for data in backend._cur_config.messages[world.channel.id]:
        message_id = int(data["id"])
        reference = data.get("message_reference")
        messages.append({
            "id": str(message_id),
            "type": "Reply" if reference else "Default",
            "timestamp": (_DISCORD_EPOCH + timedelta(milliseconds=message_id >> 22)).isoformat(),
            "timestampEdited": data.get("edited_timestamp"),
            "isPinned": False,
            "content": data["content"],
            "author": person(int(data["author"]["id"])),
            "attachments": [], "embeds": [], "stickers": [], "reactions": [],
            "mentions": [person(int(m["id"])) for m in data.get("mentions") or []],
            **({"reference": {"messageId": str(reference["message_id"]),
                              "channelId": str(world.channel.id),
                              "guildId": str(guild.id)}} if reference else {}),
        })  # fmt: skip
    return _dce_writer()(path, messages, channel_id=str(world.channel.id),
                         name=world.channel.name,
                         guild={"id": str(guild.id), "name": guild.name, "iconUrl": ""})


def training_prompts(dataset: Path, folder: Path) -> dict[str, list[int]]:
    """Each persona turn's prompt as training renders it: the example's ids before its labels."""
    from transformers import AutoTokenizer

    from training.model.features import IGNORE_INDEX, EncodeReport, encode_example

    tokenizer = AutoTokenizer.from_pretrained(folder)
    prompts = {}
    for split in ("train.jsonl", "val.jsonl"):
        for line in (dataset / split).read_text(encoding="utf-8").splitlines():
            messages = json.loads(line)["messages"]
            feature = encode_example(tokenizer, messages, MAX_LENGTH, EncodeReport())
            start = next(i for i, label in enumerate(feature["labels"]) if label != IGNORE_INDEX)
            prompts[messages[-1]["content"]] = (feature["input_ids"][:start], messages)
    return prompts


async def test_the_bots_prompt_is_trainings_for_the_same_messages(world, tmp_path, run_prepare):
    alice, bob = world.members
    me = mention(world.client)
    await say(world, alice, "anyone up for games tonight?", after={})
    await say(world, alice, "i have snacks", after={"minutes": 2})  # one turn with the line above
    await say(world, bob, "maybe later", after={"minutes": 1})
    await say(world, bob, "what game", after={"minutes": 4})  # past the 3-minute window: a turn
    await say(world, alice, f"{me} you in?", after={"minutes": 1})  # -> a burst reply
    burst = bot_messages(world)
    assert [m.content for m in burst] == ["nya~ yes", "bring the fish"]
    await say(world, bob, "lol", after={"minutes": 1})
    await say(world, alice, f"{me} bring tuna too", after={"seconds": 30})
    # Fifty minutes of silence: past the 45-minute gap, so a new conversation.
    await say(world, bob, "morning all", after={"minutes": 50})
    await say(world, alice, "hi bob", after={"minutes": 1})
    dogs = await say(world, bob, "i like dogs", after={"minutes": 1})
    secret = await say(world, alice, "delete me, my secret", after={"minutes": 1})
    await say(world, bob, "anyway", after={"minutes": 1})
    await edit(dogs, "i like cats")
    await delete(secret)
    # bob, two minutes after "anyway" (one turn with it), replies to the bot's burst of before.
    await say(world, bob, f"{me} what did you say before?", after={"minutes": 2},
              reply_to=burst[0])  # fmt: skip
    assert not world.model.replies  # all three mentions answered
    world.clock.advance(minutes=1)

    dataset = tmp_path / "dataset"
    run_prepare(export(world, tmp_path / "export.json"), dataset, world.client.user.id)
    trained = training_prompts(dataset, world.folder)
    sent = world.model.prompts
    replies = ["nya~ yes\nbring the fish", "ok, tuna too", "i said yes to games"]
    assert set(trained) == set(replies)  # every persona turn is one of the bot's replies
    for reply, ids in zip(replies, sent, strict=True):
        assert ids == trained[reply][0], reply

    # What the shape did (so equal ids are not equal by accident, e.g. both empty):
    first, second, third = (trained[r][1] for r in replies)
    assert [m["content"] for m in first[:-1]] == [
        "anyone up for games tonight?\ni have snacks", "maybe later", "what game",
        "@mochi you in?",
    ]  # fmt: skip
    assert {"role": "assistant", "content": "nya~ yes\nbring the fish"} in second  # one turn
    assert len(second) == TURNS + 1
    contents = [m["content"] for m in third[:-1]]
    # The reply chain in front (the burst, and the mention it answered), across the silence;
    # the edit as it is now; the deleted message gone, so bob's lines around it are one turn;
    # the rest of before the silence gone, and "morning all" past the 4 turns.
    assert contents == [
        "@mochi you in?", "nya~ yes\nbring the fish", "hi bob",
        "i like cats\nanyway\n@mochi what did you say before?",
    ]  # fmt: skip


@pytest.fixture
def run_prepare():
    from training.cli import main

    def run(export_path: Path, out: Path, persona_id: int) -> None:
        code = main(["prepare", str(export_path), "--persona", str(persona_id), "--out", str(out),
                     "--merge-window", str(MERGE_MINUTES), "--gap", str(GAP_MINUTES),
                     "--context-turns", str(TURNS)])  # fmt: skip
        assert code == 0
        options = json.loads((out / "stats.json").read_text(encoding="utf-8"))["options"]
        from training.model.model_folder import trained_context

        # What `train` would record from this dataset is what the bot read.
        recorded = trained_context(SimpleNamespace(stats={"options": options}, train=[]), 1)
        card = read_card(Path(export_path).parent / "model")
        assert recorded["merge_window_s"] == card.merge_window.total_seconds()
        assert recorded["gap_s"] == card.gap.total_seconds()

    return run


# The differences the parity test closes, one at a time (each failed before catgpt/turns.py) --


@pytest.fixture
def clock(bot, monkeypatch):
    """Ids (and so times) from a clock the test moves; the burst pause moves it too."""
    clock = Clock(START)
    monkeypatch.setattr(factories, "make_id", clock.make_id)

    async def pause(seconds: float) -> None:
        clock.advance(seconds=seconds)

    bot.get_cog("Mentions").pause = pause
    return clock


async def test_quick_messages_are_one_turn_and_the_history_counts_turns(bot, fake_engine, clock):
    _, channel, (alice, bob) = config()
    for n in range(12):  # 12 turns of 3 quick lines each
        for line in range(3):
            clock.advance(seconds=20)
            await dpytest.message(f"turn {n} line {line}", channel, alice if n % 2 else bob)
    clock.advance(seconds=20)
    await dpytest.message(f"{mention(bot)} hi", channel, alice)  # alice spoke last: her turn
    chat = fake_engine.calls[-1]
    assert len(chat) == 10  # CATGPT_HISTORY=10 turns, as training counts them, not messages
    assert chat[0]["content"] == "turn 2 line 0\nturn 2 line 1\nturn 2 line 2"
    assert chat[-1]["content"] == "turn 11 line 0\nturn 11 line 1\nturn 11 line 2\n@mochi hi"


async def test_a_long_silence_ends_the_conversation(bot, fake_engine, clock):
    _, channel, (alice, bob) = config()
    await dpytest.message("yesterday's talk", channel, bob)
    clock.advance(hours=20)  # past the 60-minute gap
    await dpytest.message(f"{mention(bot)} morning", channel, alice)
    assert [m["content"] for m in fake_engine.calls[-1]] == ["@mochi morning"]


async def test_the_bots_burst_comes_back_as_one_turn(bot, fake_engine, clock):
    _, channel, (alice, bob) = config()
    fake_engine.respond = lambda messages: "nya\nsleepy\nfish?"
    await dpytest.message(f"{mention(bot)} hi", channel, alice)
    assert [dpytest.get_message().content for _ in range(3)] == ["nya", "sleepy", "fish?"]
    clock.advance(seconds=30)
    await dpytest.message(f"{mention(bot)} and?", channel, bob)
    assert fake_engine.calls[-1][-2:] == [
        {"role": "assistant", "content": "nya\nsleepy\nfish?"},
        {"role": "user", "name": bob.display_name, "content": "@mochi and?"},
    ]
