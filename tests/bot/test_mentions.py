"""The mention path through dpytest: on_message -> context -> engine -> sanitize -> send."""

from __future__ import annotations

import json

import discord
import discord.ext.test as dpytest
import pytest
from discord.ext.test import backend
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.client import CatGPTBot
from bot.cogs import COOLDOWN_NOTICE
from bot.cooldown import UserCooldown
from bot.errors import EngineBusy, GenerationError
from bot.settings import Settings

from .conftest import config, mention, send_reply


def assert_no_pings(payload: dict) -> None:
    allowed = payload["allowed_mentions"]
    assert allowed["parse"] == [] and not allowed.get("replied_user")
    assert not allowed.get("users") and not allowed.get("roles")


async def test_mention_gets_a_reply_built_from_the_model(bot, fake_engine, payloads):
    _, channel, (alice, _) = config()
    fake_engine.respond = lambda messages: "mochi: nya~ hello there"
    message = await dpytest.message(f"{mention(bot)} hi!", channel, alice)

    reply = dpytest.get_message()
    assert reply.content == "nya~ hello there"  # own name prefix stripped
    chat = fake_engine.calls[-1]
    assert chat[-1] == {"role": "user", "name": "alice_0_nick", "content": "@mochi hi!"}
    # It answers that message, and pings no one.
    assert payloads[-1]["message_reference"]["message_id"] == message.id
    assert_no_pings(payloads[-1])


async def test_no_reply_without_a_direct_mention(bot, fake_engine):
    guild, channel, (alice, _) = config()
    await dpytest.message("hello everyone, no bot here", channel, alice)
    await dpytest.message("@everyone look", channel, alice)
    await dpytest.message("@here look", channel, alice)
    role = backend.make_role("cats", guild)
    await dpytest.add_role(guild.me, role)
    role_message = await dpytest.message(f"<@&{role.id}> wake up", channel, alice)
    # The trap mentioned_in() falls into: the bot holds the role, yet was not called.
    assert guild.me.mentioned_in(role_message)
    assert dpytest.verify().message().nothing()
    assert fake_engine.calls == []


async def test_never_answers_bots(bot, fake_engine):
    _, channel, _ = config()
    other_bot = backend.make_member(backend.make_user("otherbot", "0042"), channel.guild)
    other_bot._user.bot = True
    await dpytest.message(f"{mention(bot)} hi from a bot", channel, other_bot)
    assert dpytest.verify().message().nothing()
    assert fake_engine.calls == []


async def test_recent_history_is_context(bot, fake_engine):
    _, channel, (alice, bob) = config()
    await dpytest.message("who wants pizza", channel, alice)
    await dpytest.message("me!! pineapple", channel, bob)
    await dpytest.message(f"{mention(bot)} do you want pizza?", channel, alice)
    first_reply = dpytest.get_message()
    await dpytest.message(f"{mention(bot)} and fish?", channel, bob)

    chat = fake_engine.calls[-1]
    assert [m.get("name") for m in chat] == [
        "alice_0_nick",
        "bob_1_nick",
        "alice_0_nick",
        None,
        "bob_1_nick",
    ]
    assert chat[1]["content"] == "me!! pineapple"
    assert chat[3] == {"role": "assistant", "content": first_reply.content}
    assert chat[-1]["content"] == "@mochi and fish?"


async def test_reply_chain_reaches_past_the_history_window(bot, fake_engine, settings):
    _, channel, (alice, bob) = config()
    root = await dpytest.message("the ORIGINAL question about naps", channel, alice)
    for n in range(settings.history + 3):  # one turn each: the speakers take turns
        await dpytest.message(f"filler {n}", channel, bob if n % 2 == 0 else alice)
    await send_reply(f"{mention(bot)} what do you think?", alice, channel, root)
    contents = [m["content"] for m in fake_engine.calls[-1]]
    assert contents[0] == "the ORIGINAL question about naps"
    assert "filler 0" not in contents  # outside the window, and not in the chain
    assert contents[-1] == "@mochi what do you think?"
    # CATGPT_HISTORY counts turns, the replied-to one included (as training counts them).
    assert len(contents) == settings.history


async def test_long_output_is_split(bot, fake_engine):
    _, channel, (alice, _) = config()
    fake_engine.respond = lambda messages: ("purr " * 700).strip()  # 3499 characters
    await dpytest.message(f"{mention(bot)} talk a lot", channel, alice)
    first, second = dpytest.get_message(), dpytest.get_message()
    assert dpytest.verify().message().nothing()
    assert len(first.content) <= 2000 and len(second.content) <= 2000
    assert f"{first.content} {second.content}" == ("purr " * 700).strip()


async def test_mentions_in_generated_text_are_neutralised(bot, fake_engine, payloads):
    guild, channel, (alice, bob) = config()
    fake_engine.respond = lambda m: f"@everyone @here hi <@{bob.id}> <@&{guild.id}>"
    await dpytest.message(f"{mention(bot)} ping people", channel, alice)
    reply = dpytest.get_message()
    assert "@everyone" not in reply.content and "@here" not in reply.content
    assert f"<@{bob.id}>" not in reply.content and f"<@&{guild.id}>" not in reply.content
    assert "everyone" in reply.content  # still readable
    assert_no_pings(payloads[-1])


@pytest.mark.parametrize("error", [GenerationError, EngineBusy])
async def test_engine_errors_are_answered_and_the_bot_stays_up(bot, fake_engine, error):
    # A failed generation apologises; a full queue says busy explicitly. Neither takes it down.
    _, channel, (alice, _) = config()

    def fail(messages):
        raise error()

    fake_engine.respond = fail
    await dpytest.message(f"{mention(bot)} hi", channel, alice)
    assert dpytest.verify().message().content(error.user_message)
    fake_engine.respond = lambda messages: "back again"
    await dpytest.message(f"{mention(bot)} hi again", channel, alice)
    assert dpytest.verify().message().content("back again")


async def test_cooldown_notices_once_then_stays_quiet(bot, fake_engine):
    _, channel, (alice, bob) = config()
    clock = [100.0]
    mentions_cog = bot.get_cog("Mentions")
    mentions_cog.cooldown = UserCooldown(10.0, clock=lambda: clock[0])
    for _ in range(3):
        await dpytest.message(f"{mention(bot)} hi", channel, alice)
    await dpytest.message(f"{mention(bot)} hi", channel, bob)  # someone else is not limited
    texts = [dpytest.get_message().content for _ in range(3)]
    assert texts[1] == COOLDOWN_NOTICE and COOLDOWN_NOTICE not in (texts[0], texts[2])
    assert dpytest.verify().message().nothing()
    clock[0] += 10.0
    await dpytest.message(f"{mention(bot)} hi", channel, alice)
    assert dpytest.verify().message().contains().content("nya~")


async def test_notices_stay_out_of_the_context(bot, fake_engine):
    _, channel, (alice, _) = config()
    fake_engine.respond = lambda m: (_ for _ in ()).throw(EngineBusy())
    await dpytest.message(f"{mention(bot)} one", channel, alice)
    fake_engine.respond = lambda m: "ok"
    await dpytest.message(f"{mention(bot)} two", channel, alice)
    assert all(m["role"] == "user" for m in fake_engine.calls[-1])


async def test_channels_outside_the_allow_list_are_ignored(bot, fake_engine):
    _, channel, (alice, _) = config()
    for cog in ("Mentions",):
        bot.get_cog(cog).settings = type(bot.settings)(
            model=bot.settings.model, allowed_channels=frozenset({channel.id + 1})
        )
    await dpytest.message(f"{mention(bot)} hi", channel, alice)
    assert dpytest.verify().message().nothing()


async def test_direct_messages_are_answered_without_a_mention(bot, fake_engine):
    _, _, (alice, _) = config()
    dm = await alice.create_dm()
    await dpytest.message("psst, no mention needed here", dm, alice)
    assert dpytest.verify().message().contains().content("psst")


async def test_typing_is_shown_while_thinking(bot, fake_engine, monkeypatch):
    _, channel, (alice, _) = config()
    typed = []
    original = bot.http.send_typing

    async def send_typing(channel_id):
        typed.append(channel_id)
        # dpytest's fake send_typing reads a local named `channel` in its caller's frame.
        channel = bot.get_channel(channel_id)  # noqa: F841
        return await original(channel_id)

    monkeypatch.setattr(bot.http, "send_typing", send_typing)
    await dpytest.message(f"{mention(bot)} hi", channel, alice)
    assert typed == [channel.id]
    assert isinstance(dpytest.get_message(), discord.Message)


def member_named(name: str, guild, discriminator: str = "0077") -> discord.Member:
    """A member whose display name is exactly `name` (no nickname)."""
    return backend.make_member(backend.make_user(name, discriminator), guild)


async def test_names_that_look_like_regex_templates_are_kept_as_typed(bot, fake_engine):
    # As re.sub replacement strings, `\o/` raised re.error inside on_message (no reply at all)
    # and `x\n` became a newline.
    guild, channel, (alice, _) = config()
    cheer = member_named("\\o/", guild)
    other = member_named("x\\n", guild, "0078")
    await dpytest.message(f"{mention(bot)} hi from me and <@{other.id}>", channel, cheer)
    assert dpytest.verify().message().contains().content("nya~")
    assert fake_engine.calls[-1][-1] == {
        "role": "user",
        "name": "\\o/",
        "content": "@mochi hi from me and @x\\n",
    }
    await dpytest.message(f"{mention(bot)} say hi to <@{cheer.id}>", channel, alice)
    assert dpytest.verify().message().contains().content("nya~")
    assert fake_engine.calls[-1][-1]["content"] == "@mochi say hi to @\\o/"


def test_a_persona_name_with_backslashes_is_kept_as_typed():
    from types import SimpleNamespace

    from bot.conversation import readable_text

    message = SimpleNamespace(
        content="<@42> hi", mentions=[], role_mentions=[], channel_mentions=[]
    )
    assert readable_text(message, 42, "\\1 cat\\n") == "@\\1 cat\\n hi"


async def test_the_persona_s_namesake_is_not_labelled_as_the_persona(bot, fake_engine):
    # The real person talking to their bot: under the persona's label the model would read
    # their words as its own turns.
    guild, channel, _ = config()
    real = member_named("Mochi", guild)
    alias = member_named("mochi-chan", guild, "0078")
    await dpytest.message("i am the real one", channel, alias)
    await dpytest.message(f"{mention(bot)} hello me", channel, real)
    chat = fake_engine.calls[-1]
    assert [m["role"] for m in chat] == ["user", "user"]
    assert [m["name"] for m in chat] == [
        "mochi-chan (not the persona)",
        "Mochi (not the persona)",
    ]


async def test_a_reply_to_the_bot_is_a_call_with_or_without_the_ping(bot, fake_engine, payloads):
    _, channel, (alice, bob) = config()
    await dpytest.message(f"{mention(bot)} tell me a secret", channel, alice)
    bot_message = dpytest.get_message()
    # Discord puts the replied-to message in the payload (`referenced_message`); dpytest does
    # not, so discord.py's cache and then the memory say whose message it was.
    await send_reply("really? why?", alice, channel, bot_message)  # ping switched off
    assert dpytest.verify().message().contains().content("really? why?")
    bot._connection._messages.clear()  # from memory alone
    reply = await send_reply("go on", bob, channel, bot_message)
    assert dpytest.verify().message().contains().content("go on")
    assert payloads[-1]["message_reference"]["message_id"] == reply.id
    chat = fake_engine.calls[-1]
    assert chat[-1] == {"role": "user", "name": "bob_1_nick", "content": "go on"}
    assert {"role": "assistant", "content": bot_message.content} in chat


async def test_a_reply_to_someone_else_is_not_a_call(bot, fake_engine):
    _, channel, (alice, bob) = config()
    question = await dpytest.message("anyone up for a game?", channel, alice)
    await send_reply("me!", bob, channel, question)
    assert dpytest.verify().message().nothing()
    assert fake_engine.calls == []


async def test_the_persona_s_own_account_is_labelled_apart_whatever_its_name(tmp_path):
    # catgpt.json names the persona's Discord accounts; the real person talking to their bot
    # from one of them is never labelled as the persona, even under a new nickname.
    from catgpt.folder import read_card

    from .conftest import FakeEngine, connect

    client = CatGPTBot(
        Settings(model=tmp_path, cooldown=0), engine=FakeEngine(), intents=discord.Intents.all()
    )
    await connect(client)
    _, channel, (alice, bob) = config()
    (tmp_path / "catgpt.json").write_text(
        json.dumps({"persona": {"name": "mochi", "account_ids": [str(bob.id)]}})
    )
    client.engine.card = read_card(tmp_path)  # as the engine reads it at load
    await client.setup_hook()
    try:
        await dpytest.message("hey it's me, the real one", channel, bob)
        await dpytest.message(f"{mention(client)} hi", channel, alice)
        chat = client.engine.calls[-1]
        assert [m["name"] for m in chat] == ["bob_1_nick (not the persona)", "alice_0_nick"]
    finally:
        await dpytest.empty_queue()


def user(name: str, *, nick: str | None = None, global_name: str | None = None, id: int = 1):
    from types import SimpleNamespace

    display = nick or global_name or name
    return SimpleNamespace(id=id, name=name, global_name=global_name, display_name=display)


@pytest.mark.parametrize(
    ("who", "label"),
    [
        (user("alice", nick="Alice"), "Alice"),
        (user("Mochi"), "Mochi (not the persona)"),  # a namesake
        (user("mochi", nick="bob"), "bob (not the persona)"),  # the username is the persona's
        (user("cat", global_name="mochi-chan", nick="c"), "c (not the persona)"),  # an alias
        (user("zed", id=42), "zed (not the persona)"),  # the persona's own account
        (user("mochi", id=42), "mochi (not the persona)"),  # both: labelled once
        (user("a:b\nc", nick="x: y"), "x y"),  # a label is one line without a colon
    ],
)
def test_label_for(who, label):
    from bot.conversation import label_for

    assert label_for(who, ("mochi", "mochi-chan"), frozenset({42})) == label


def _look_alike_strategy():
    """The identity property test's look-alike generator (another script's letters, `rn` for
    `m`, marks, full-width, invisible characters, spaces, case): one definition of the attack
    for prepare's test and the bot's (tests are not importable as a package)."""
    import importlib.util
    import sys
    from pathlib import Path

    path = Path(__file__).parents[1] / "data" / "test_identity_properties.py"
    spec = importlib.util.spec_from_file_location("identity_properties", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module.look_alike


@settings(max_examples=100, deadline=None)
@given(data=st.data(), persona=st.sampled_from(["mochi", "mochi-chan", "Sir Whiskers"]),
       where=st.sampled_from(["nick", "name", "global_name"]))  # fmt: skip
def test_the_bot_labels_every_generated_look_alike_apart_by_any_of_its_names(data, persona,
                                                                              where):  # fmt: skip
    # Issue 14: look-alikes (other scripts, `rn` for `m`, marks) were labelled as people, so
    # their words read to the model as the persona's. Any name a member is known by counts.
    from bot.conversation import label_for
    from catgpt.labels import NOT_THE_PERSONA

    alike = data.draw(LOOK_ALIKE(persona))
    names = {"name": "bob_1", "nick": "bob", "global_name": None, where: alike}
    who = user(names["name"], nick=names["nick"], global_name=names["global_name"])
    assert label_for(who, ("mochi", "mochi-chan", "Sir Whiskers")).endswith(NOT_THE_PERSONA)


LOOK_ALIKE = _look_alike_strategy()
