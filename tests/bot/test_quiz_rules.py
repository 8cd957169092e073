"""What a round may use, and how it is shown: judgeable turns, no pings whatever the names."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.quiz.render import reveal_text, round_text
from bot.quiz.rules import judgeable
from bot.store import RoundResult
from catgpt.reply_cleaning import DISCORD_LIMIT


@pytest.mark.parametrize(
    ("text", "ok"),
    [
        ("pineapple on pizza is a crime", True),
        ("lol same", False),  # too few words
        ("a b c d e", False),  # words, but too short to judge
        ("https://example.com/a/very/long/link/indeed", False),  # only a link
        ("look https://example.com/x lol ok", False),  # the link is not words
        ("🍕🍕🍕 🐟🐟 <:cat:123456789012345678> :fish: :pizza:", False),  # only emoji
        ("<@123456789012345678> <@123456789012345678> hi", False),  # mentions are not words
        ("did you see what <@1234567890123456> said earlier today?", True),
    ],
)
def test_judgeable(text, ok):
    assert judgeable(text) is ok


PINGS = re.compile(r"<@[!&]?\d+>|@(everyone|here)")
tricky = st.text(
    alphabet=st.sampled_from(list("@*_~`|<>#!&:\\ \n0123456789everyonhr")) | st.characters(),
    max_size=60,
)


@given(
    persona=tricky.filter(str.strip),
    names=st.lists(tricky, min_size=1, max_size=6),
    texts=st.lists(tricky, min_size=1, max_size=6),
    replies=st.tuples(tricky, tricky),
)
def test_no_name_or_text_ever_becomes_a_ping(persona, names, texts, replies):
    context = tuple(
        {"role": "user", "name": name, "content": text}
        for name, text in zip(names, texts, strict=False)
    )
    posted = round_text(persona, context, replies, 120, 5)
    shown = reveal_text(posted, persona, RoundResult(1, 0, (2, 1), True), "https://x/1")
    for text in (posted, shown):
        assert not PINGS.search(text), text
        assert len(text) <= DISCORD_LIMIT


def test_a_long_context_loses_its_oldest_turns_not_the_replies():
    context = tuple(
        {"role": "user", "name": f"p{i}", "content": f"turn {i} " + "x" * 290} for i in range(20)
    )
    posted = round_text("mochi", context, ("one " * 200, "two " * 200), 120, 5)
    assert len(posted) <= DISCORD_LIMIT - 300  # room left for the reveal
    assert "turn 19" in posted and "turn 0 " not in posted
    assert "**A**" in posted and "**B**" in posted
