"""Style markers and the style distance, on hand-made replies (training/model/style.py)."""

import pytest

from training.model import style
from training.model.style import MARKERS, Marker, difference, markers, style_distance


def test_length_median_and_interquartile_range():
    replies = ["a", "abc", "abcde", "abcdefg"]  # 1, 3, 5, 7 characters
    found = markers(replies)
    assert found["chars_median"] == 4.0
    assert found["chars_iqr"] == pytest.approx(3.0)  # 5.5 - 2.5, numpy's linear quantiles
    words = markers(["one", "one two", "one two three", "one two three four five"])
    assert words["words_median"] == 2.5
    assert words["words_iqr"] == pytest.approx(3.5 - 1.75)
    assert markers(["just one reply"])["words_iqr"] == 0.0
    assert markers([])["chars_median"] is None


def test_lowercase_ignores_emoticons_custom_emoji_and_caseless_replies():
    assert style.is_lowercase("nya~ hi") is True
    assert style.is_lowercase("Hello") is False
    assert style.is_lowercase("lol xD") is True  # xD is an emoticon, not a capital
    assert style.is_lowercase(":BlobCat: ok") is True
    assert style.is_lowercase("😂 123 ?") is None  # no letters: not counted either way
    found = markers(["nya~ hi", "Hello", "lol xD", ":BlobCat: ok", "😂"])
    assert found["lowercase_share"] == 0.75


@pytest.mark.parametrize(("text", "count"), [
    ("hi 👍🏽", 1),  # an emoji with a skin tone is one
    ("👨‍👩‍👧 family", 1),  # a ZWJ sequence is one
    ("so cute :blobcat:", 1),
    (":party_parrot: :blobcat:", 2),
    ("nap time :3", 1),
    ("xD", 1),
    ("^_^ hi ^^", 2),
    ("ok :) :-( ;P D:", 4),
    ("-_- o_O >_< T_T", 4),
    ("uwu owo <3", 3),
    ("meet at 12:30 or 12:30:45", 0),  # times are not emoji
    ("see https://example.com/a:b", 0),  # nor URLs
    ("ratio 3:2, a:b", 0),
    ("no emoticon:3 inside words", 0),
])  # fmt: skip
def test_emoji_and_emoticons_are_counted(text, count):
    assert style.emoji_count(text) == count


def test_emoji_rate_is_per_reply():
    assert markers(["nya~ :3", "ok 😂😂", "plain"])["emoji_per_reply"] == 1.0


@pytest.mark.parametrize(("text", "ends"), [
    ("ok.", True), ("ok!", True), ("why?  ", True), ("hm…", True),
    ("ok~", False), ("ok :)", False), ("ok", False), ("", False),
])  # fmt: skip
def test_ending_punctuation(text, ends):
    assert style.ends_with_punctuation(text) is ends


def test_question_share():
    assert markers(["why?", "because", "is it? yes", "ok"])["question_share"] == 0.5


def test_words_keep_chat_marks_and_strip_edge_punctuation():
    assert style.words_of("Nya~ *stretches* mrrp, ok. :3 :blobcat:") == [
        "nya~", "*stretches*", "mrrp", "ok", ":3", ":blobcat:"]  # fmt: skip


def test_distinctive_words_stand_out_from_the_reference():
    replies = ["nya~ the fish", "nya~ the nap", "mrrp the box", "mrrp ok", "tuna once"]
    reference = ["the game is on", "did you see the news", "the the the", "ok so what"]
    words = style.distinctive_words(replies, reference)
    assert set(words) == {"nya~", "mrrp"}  # "the" and "ok" are the chat's; "tuna" said once
    assert style.distinctive_words(replies, reference, limit=1) in (["nya~"], ["mrrp"])


def test_distinctive_overlap_is_the_share_of_the_real_words_found():
    assert style.overlap(["nya~", "fish"], ["nya~", "mrrp"]) == 0.5
    assert style.overlap([], ["nya~"]) == 0.0
    assert style.overlap(["nya~"], []) is None  # nothing distinctive to find
    real = ["nya~ fish", "nya~ nap", "mrrp box", "mrrp ok"]
    reference = ["hello there", "what is up"]
    assert markers(real, None, reference)["distinctive_overlap"] == 1.0  # the real replies
    other = markers(["nya~ a", "nya~ b"], style.distinctive_words(real, reference), reference)
    assert other["distinctive_overlap"] == 0.5


def test_difference_per_kind_of_marker():
    amount, share, overlap = (Marker("x", "x", kind) for kind in ("amount", "share", "overlap"))
    assert difference(amount, 20.0, 10.0) == 0.5  # twice as long
    assert difference(amount, 5.0, 10.0) == 0.5  # half as long: the same distance
    assert difference(amount, 0.0, 0.0) == 0.0
    assert difference(amount, 3.0, 0.0) == 1.0
    assert difference(share, 0.25, 1.0) == 0.75
    assert difference(overlap, 0.25, 1.0) == 0.75
    assert difference(share, None, 1.0) is None


def test_style_distance_is_zero_for_the_same_style_and_grows_with_differences():
    real = ["nya~ i nap :3", "mrrp fish pls~", "nya~ box :3", "mrrp nap"]
    reference = ["anyone up?", "what are you doing", "how was your day"]
    figures = style.compare({"real": real, "copy": list(real),
                             "shouty": ["HELLO THERE FRIEND. HOW ARE YOU TODAY?"] * 4},
                            reference)  # fmt: skip
    assert figures["replies"] == 4
    assert figures["distance"]["real"] == 0.0
    assert figures["distance"]["copy"] == 0.0
    assert 0.5 < figures["distance"]["shouty"] <= 1.0
    assert set(figures["markers"]["shouty"]) == {m.key for m in MARKERS}


def test_style_distance_is_the_mean_of_the_known_terms():
    real = {m.key: 0.0 for m in MARKERS} | {"chars_median": 10.0, "lowercase_share": 1.0,
                                            "distinctive_overlap": 1.0}  # fmt: skip
    side = dict(real, chars_median=20.0, lowercase_share=0.5, distinctive_overlap=None)
    # chars 0.5, lower case 0.5, six zeros; the overlap is unknown and left out: 1.0 / 8
    assert style_distance(side, real) == pytest.approx(1.0 / 8)
