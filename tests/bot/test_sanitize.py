"""What the persona says is made safe to send."""

from __future__ import annotations

from bot.sanitize import (
    FALLBACK,
    ZWSP,
    neutralise_mentions,
    prepare_reply,
    split_message,
)


def test_own_name_prefix_is_stripped():
    names = ["mochi", "mochi-chan"]
    assert prepare_reply("mochi: nya~", names) == ["nya~"]
    assert prepare_reply("  Mochi-chan: mochi: hi", names) == ["hi"]
    assert prepare_reply("**mochi**: bold", names) == ["bold"]
    assert prepare_reply("mochi is my name", names) == ["mochi is my name"]


def test_mentions_are_neutralised_but_readable():
    text = neutralise_mentions("@everyone @HERE <@123456789012345678> <@!42> <@&99> hi@here")
    assert "@everyone" not in text and "@HERE" not in text
    assert "<@123" not in text and "<@!42>" not in text and "<@&99>" not in text
    assert text.replace(ZWSP, "") == "@everyone @HERE <@123456789012345678> <@!42> <@&99> hi@here"


def test_split_keeps_every_word_within_the_limit():
    text = " ".join(f"word{n}" for n in range(900))  # ~7000 characters
    chunks = split_message(text, limit=2000, max_chunks=10)
    assert all(len(c) <= 2000 for c in chunks)
    assert " ".join(chunks) == text


def test_split_without_spaces_cuts_hard_and_trims_past_max_chunks():
    chunks = split_message("x" * 9000, limit=2000, max_chunks=3)
    assert [len(c) for c in chunks] == [2000, 2000, 2000]
    assert chunks[-1].endswith("…")


def test_half_decoded_characters_are_dropped():
    assert prepare_reply("nya~ \ufffd\ufffd", ["mochi"]) == ["nya~"]


def test_empty_reply_becomes_the_fallback():
    assert prepare_reply("", ["mochi"]) == [FALLBACK]
    assert prepare_reply("mochi:   ", ["mochi"]) == [FALLBACK]
