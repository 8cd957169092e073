"""catgpt.reply_cleaning: what the persona says is made safe to send."""

from __future__ import annotations

import re
import unicodedata
from types import SimpleNamespace

from hypothesis import given, settings
from hypothesis import strategies as st

from catgpt.folder import PersonaCard
from catgpt.prompt import Prompt
from catgpt.reply import Completion, Replier
from catgpt.reply_cleaning import (
    FALLBACK,
    ZWSP,
    clean_reply,
    cut_at_turn,
    neutralise_mentions,
    prepare_reply,
    split_message,
    strip_controls,
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


# ---- issue 15: where a reply ends, and nothing a terminal obeys -------------------------------


def finish(text: str, speakers=("alice",)) -> str:
    """A completion ended as the reply path ends it (cut at a label, then cleaned)."""
    # No model: a tokenizer-less prompt builder and a backend that only states its budget.
    replier = Replier(SimpleNamespace(tokenizer=None), SimpleNamespace(max_new_tokens=1000),
                      PersonaCard(name="mochi", aliases=("mochi-chan",)))
    prompt = Prompt([], "", ("mochi", "mochi-chan", *speakers), own_names=("mochi", "mochi-chan"))
    return replier.finish(prompt, Completion(text, "eos")).text


def test_a_repeated_own_label_is_stripped_before_the_cut():
    # The cut at a turn label ran first, found the second `mochi:` and kept nothing.
    assert finish("mochi: mochi: nya hello") == "nya hello"
    assert finish(" Mochi-chan:  **mochi**: nya hello alice: and me") == "nya hello"


def test_a_line_opening_any_speakers_turn_ends_the_reply():
    # bob is not in the conversation: his line was sent as the persona's words.
    assert finish("nya hello\nbob: i am not mochi") == "nya hello"
    assert finish("mochi: nya\n**bob**: no") == "nya"
    # The first line is the persona's: the model writes it right after `mochi:`.
    assert finish("re: the fish\nbob: hi") == "re: the fish"
    # Not labels: times, links, numbered lines, smileys, words after the line start.
    for text in ["meet at\n10:30", "see\nhttps://x.example", "steps\n1: boil", "ok\n:) yes",
                 "i said: no", "fish\nright now: yes"]:  # fmt: skip
        assert finish(text) == text, text


WORDS = st.text(alphabet="abcdefgh .,!?", min_size=1, max_size=30).filter(str.strip)
USERNAME = st.from_regex(r"[a-z0-9_.]{0,31}[a-z][a-z0-9_.]{0,31}", fullmatch=True).filter(
    lambda name: len(name) <= 32
)


@settings(max_examples=150, deadline=None)
@given(
    before=st.lists(WORDS, min_size=1, max_size=3).map("\n".join),
    own=st.lists(st.sampled_from(["mochi:", "MOCHI:", "**mochi**:", "@mochi-chan:", "mochi :"]),
                 max_size=4).map(" ".join),  # fmt: skip
    name=USERNAME,
    decoration=st.sampled_from(["{}", "**{}**", "@{}", "  {}"]),
    after=WORDS,
)
def test_the_reply_is_what_the_persona_says_before_any_turn_label(before, own, name, decoration,
                                                                    after):  # fmt: skip
    label = decoration.format(name) + ":"
    expected = clean_reply(before, NAMES)
    assert expected  # words, no labels: nothing to cut
    assert finish(f"{own} {before}\n{label} {after}", speakers=()) == expected
    assert finish(f"{own} {before}\n{label} {after}", speakers=(name,)) == expected


# Every way a terminal is told to do something: CSI (7- and 8-bit), OSC ended by BEL or ST
# (both forms), DCS/SOS/PM/APC, two-byte escapes; lone pieces of them.
CSI = st.builds(
    "{}{}{}{}".format,
    st.sampled_from(["\x1b[", "\x9b"]),
    st.text(alphabet=[chr(c) for c in range(0x30, 0x40)], max_size=6),
    st.text(alphabet=[chr(c) for c in range(0x20, 0x30)], max_size=2),
    st.sampled_from([chr(c) for c in range(0x40, 0x7F)]),
)
PAYLOAD = st.text(st.characters(blacklist_categories=("Cc", "Cs")), max_size=20)
STRING_CONTROL = st.builds(
    "{}{}{}".format,
    st.sampled_from(["\x1b]", "\x1bP", "\x1bX", "\x1b^", "\x1b_", "\x9d", "\x90", "\x98", "\x9e",
                     "\x9f"]),  # fmt: skip
    st.one_of(PAYLOAD, st.just("8;;https://evil.example"), st.just("52;c;cGF3bmVk")),
    st.sampled_from(["\x07", "\x1b\\", "\x9c"]),
)
OTHER_ESCAPE = st.builds("\x1b{}".format, st.sampled_from(list("c78=>DEHMNOZ") + ["(B", "#8"]))
ESCAPE = st.one_of(CSI, STRING_CONTROL, OTHER_ESCAPE)
BIDI = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")
CONTROL = st.sampled_from([chr(c) for c in [*range(0x20), *range(0x7F, 0xA0)]] + sorted(BIDI))


def commands_left(text: str) -> list[str]:
    """What a terminal or Discord would still obey: controls but tab and newline, bidi ones."""
    return [c for c in text if c in BIDI or (unicodedata.category(c) == "Cc" and c not in "\n\t")]


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(ESCAPE, CONTROL, st.text(max_size=8), st.sampled_from(PIECES)),
                max_size=12).map("".join))  # fmt: skip
def test_no_escape_or_control_character_survives_cleaning(text):
    cleaned = clean_reply(text, NAMES)
    assert commands_left(cleaned) == [], repr(cleaned)
    assert commands_left(strip_controls(text)) == []
    assert clean_reply(cleaned, NAMES) == cleaned  # still idempotent


NOT_A_CONTROL = st.characters(
    blacklist_categories=("Cc", "Cs"), blacklist_characters="\u2028\u2029" + "".join(BIDI)
)
PLAIN = st.text(NOT_A_CONTROL, max_size=40)


@settings(max_examples=300, deadline=None)
@given(PLAIN, st.lists(st.tuples(st.integers(0, 40), ESCAPE), max_size=5))
def test_escape_sequences_go_whole_and_nothing_else_does(text, insertions):
    dirty, done = "", 0  # the escapes put between the characters of `text`, at `at`
    for at, escape in sorted(insertions):
        at = min(at, len(text))
        dirty, done = dirty + text[done:at] + escape, at
    dirty += text[done:]
    assert strip_controls(dirty) == text  # payloads (titles, link targets) go with them
    assert strip_controls(text) == text


def test_terminal_tricks_from_a_model_or_a_server():
    title = "\x1b]0;you have been pwned\x07"
    link = "\x1b]8;;https://evil.example\x1b\\free nitro\x1b]8;;\x1b\\"
    text = f"mochi: {title}nya \x1b[31mred\x1b[0m {link}"
    assert clean_reply(text, NAMES) == "nya red free nitro"
    assert clean_reply("hi\r\x1b[2Kmochi is evil", NAMES) == "hi\nmochi is evil"
    assert clean_reply("abc\u202edcba", NAMES) == "abcdcba"
    assert clean_reply("nya\u2028bob: x", NAMES) == "nya"  # a line break of any kind opens a turn
