"""catgpt.cleaning: what the persona says is made safe to send."""

from __future__ import annotations

import re
import unicodedata

from hypothesis import given
from hypothesis import strategies as st

from catgpt.cleaning import (
    FALLBACK,
    ZWSP,
    clean_reply,
    cut_at_turn,
    neutralise_mentions,
    prepare_reply,
    split_message,
    turn_pattern,
    unmask_links,
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


# ---- issue 9: channels, look-alike mass mentions, masked links, invisible replies ------------

NAMES = ["mochi", "mochi-chan"]
_HIDDEN = "[\u200b-\u200f\u2060\ufeff]*"
# What reads as @everyone / @here to a person (after NFKC: full-width forms as ASCII): the sign,
# maybe spaces, the word with invisible characters anywhere in it; unless the neutraliser's
# zero-width space follows the sign.
_READS_AS_MASS = re.compile(
    "@(?!\u200b)[\\s\u200b-\u200f\u2060\ufeff]*(?:"
    + "|".join(_HIDDEN.join(word) for word in ("everyone", "here"))
    + ")",
    re.IGNORECASE,
)


def visible(text: str) -> str:
    return re.sub("[\u200b-\u200f\u2060\ufeff]", "", text)


def looks_like_mass_mention(text: str) -> bool:
    return bool(_READS_AS_MASS.search(unicodedata.normalize("NFKC", text)))


def test_channel_mentions_read_as_names_or_are_defused():
    names = {111111111111111111: "general"}
    assert clean_reply("see <#111111111111111111>", NAMES, channel_names=names) == "see #general"
    assert (
        clean_reply("see <#111111111111111111>", NAMES, channel_names=names.get) == "see #general"
    )
    unknown = clean_reply("see <#222222222222222222>", NAMES, channel_names=names)
    assert "<#" not in unknown and visible(unknown) == "see <#222222222222222222>"
    # No lookup at all (console, eval): defused, still readable.
    assert clean_reply("<#1> here", NAMES).startswith(f"<{ZWSP}#1>")


def test_look_alike_mass_mentions_are_defused():
    for text in ["@everyone_x", "hey @here!!", "@ everyone", "＠everyone", "@every\u200bone",
                 "@ＥＶＥＲＹＯＮＥ", "@\u2060here", "@EvErYoNe", "x@everyone"]:  # fmt: skip
        assert looks_like_mass_mention(text), text  # the checker sees the threat ...
        cleaned = clean_reply(text, NAMES)
        assert not looks_like_mass_mention(cleaned), (text, cleaned)  # ... and it is gone
        assert visible(cleaned) == visible(text), (text, cleaned)  # reads the same
    assert clean_reply("@every\u200bone", NAMES) == f"@{ZWSP}everyone"
    assert clean_reply("@ everyone", NAMES) == f"@{ZWSP} everyone"  # the space stays


def test_masked_links_show_where_they_go():
    text = "[free nitro](https://evil.example/x) and [t](<https://a.example>)"
    assert unmask_links(text) == "free nitro (https://evil.example/x) and t (https://a.example)"
    assert clean_reply("[@everyone](https://x.example)", NAMES) == (
        f"@{ZWSP}everyone (https://x.example)"
    )
    assert clean_reply("[not a link](just text)", NAMES) == "[not a link](just text)"


def test_a_reply_of_invisible_characters_gets_the_fallback():
    for blank in ["\u200b", "\u200b\u200d \ufeff\u2060", "\u3164\u3164", "mochi: \u200e",
                  "\u2800", "\u0301\u0301", "\u00ad"]:  # fmt: skip
        assert clean_reply(blank, NAMES) == "", repr(blank)
        assert prepare_reply(blank, NAMES) == [FALLBACK], repr(blank)
    assert prepare_reply("\u200bnya", NAMES) != [FALLBACK]


def test_cut_at_another_speakers_label_then_clean():
    pattern = turn_pattern(["mochi", "alice"])
    cut = cut_at_turn("mochi: nya~ <@42> ok alice: and me?", pattern)
    assert clean_reply(cut, NAMES) == f"nya~ <{ZWSP}@42> ok"


PIECES = ["@", "＠", "everyone", "here", "EVERYONE", "ｅｖｅｒｙｏｎｅ", " ", "\u200b", "\u2060",
          "<@123>", "<@&4>", "<#5>", "[a](https://x.example)", "](", "mochi:", "\n", "_x", "hi",
          "\ufffd", "**mochi**:"]  # fmt: skip


@given(st.lists(st.sampled_from(PIECES), max_size=12).map("".join))
def test_cleaning_is_idempotent_and_leaves_no_mass_mention(text):
    once = clean_reply(text, NAMES, channel_names={5: "general"})
    assert clean_reply(once, NAMES, channel_names={5: "general"}) == once
    assert not looks_like_mass_mention(once)
    assert not re.search(r"<[@#]", once)  # no live user, role or channel mention
    assert not re.search(r"\]\(https?://", once)  # no masked link
