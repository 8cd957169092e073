"""catgpt.labels: one speaker-label rule for prepare, the chat template and the bot."""

from catgpt.labels import speaker_label


def test_speaker_label_is_one_line_without_colons():
    assert speaker_label("sir: cat\nthe  great") == "sir cat the great"
    assert speaker_label(" : ") == "user"


def test_a_namesake_of_the_persona_is_labelled_not_the_persona():
    # One function labels in prepare and in the bot, so prompts match training.
    names = ["mochi", "mochi-chan"]
    assert speaker_label("Mochi", names) == "Mochi (not the persona)"
    assert speaker_label("  MOCHI-CHAN ", names) == "MOCHI-CHAN (not the persona)"
    assert speaker_label("mochi fan", names) == "mochi fan"


def test_every_labeller_shares_one_label_function():
    from bot import conversation
    from catgpt import prompt
    from training.data import people
    from training.model import chat_template

    for module in (prompt, people, chat_template):
        assert module.speaker_label is speaker_label, module.__name__
    # Who is labelled apart: one rule, for prepare and the bot.
    from catgpt.labels import person_label

    for module in (conversation, people):
        assert module.person_label is person_label, module.__name__


def test_names_are_compared_in_label_form():
    # The persona `mo:chi` is labelled `mo chi`: someone called `mo chi` is its namesake.
    assert speaker_label("mo chi", ["mo:chi"]) == "mo chi (not the persona)"
    assert speaker_label("mo  chi", ["  MO\nchi "]) == "mo chi (not the persona)"


def test_a_look_alike_of_the_persona_name_is_labelled_apart_too():
    # Held-out forms of the namesake attack: full-width letters, zero-width characters, spaces.
    names = ["mochi"]
    for lookalike in ["ＭＯＣＨＩ", "mo\u200bchi", "mochi\u2060", "m o c h i", "MO:CHI"]:
        assert speaker_label(lookalike, names).endswith("(not the persona)"), lookalike
    assert speaker_label("mochi fan", names) == "mochi fan"
    assert speaker_label("mocha", names) == "mocha"
    # Full-width punctuation too (Unicode's table reads `－` as the katakana `ー`): found by the
    # generated test in tests/bot/test_mentions.py, and caught before the table came in.
    assert speaker_label("ｍｏｃｈｉ－ｃｈａｎ", ["mochi-chan"]).endswith("(not the persona)")


def test_confusable_look_alikes_are_labelled_apart():
    # Unicode's confusables (UTS #39 skeleton): other scripts, `rn` for `m`, combining marks,
    # capitals of other scripts; ordinary different names stay as they are.
    names = ["mochi"]
    for lookalike in ["Мосhі", "mοchi", "rnochi", "RNOCHI", "mo\u0301chi", "m\u0307ochi",
                      "ΜΟСНΙ", "rn0chi"]:
        assert speaker_label(lookalike, names).endswith("(not the persona)"), lookalike
    for other in ["mocha", "michi", "moch", "mochi fan", "alice"]:
        assert speaker_label(other, names) == other


def test_person_label_sets_apart_anyone_known_by_a_look_alike():
    # prepare and the bot label a person by every name they are known by, not only the shown
    # one: a nickname `Bob` over the username `rnochi` is still labelled apart.
    from catgpt.labels import person_label

    assert person_label("Bob", ["Bob", "rnochi"], ["mochi"]) == "Bob (not the persona)"
    assert person_label("Bob", ["Bob", "bobby"], ["mochi"]) == "Bob"
    assert person_label("Mochi", [], ["mochi"]) == "Mochi (not the persona)"
    assert person_label("Bob", [], ["mochi"], persona_account=True) == "Bob (not the persona)"


def test_the_bot_labels_a_look_alike_apart_by_any_of_its_names():
    # The bot's labeller is prepare's rule: a Cyrillic look-alike display name, or a plain
    # display name over a look-alike username, is set apart; the persona's own account too.
    from types import SimpleNamespace

    from bot.conversation import label_for

    def user(display, name, user_id=5):
        return SimpleNamespace(display_name=display, name=name, global_name=None, id=user_id)

    persona = ["mochi", "Mochi"]
    assert label_for(user("Мосhі", "someone"), persona) == "Мосhі (not the persona)"
    assert label_for(user("Bob", "rnochi"), persona) == "Bob (not the persona)"
    assert label_for(user("Bob", "bob"), persona) == "Bob"
    assert label_for(user("Bob", "bob", 22), persona, frozenset({22})) == "Bob (not the persona)"
