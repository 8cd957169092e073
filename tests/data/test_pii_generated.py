"""The generated privacy measurement, small and seeded: personal data that Faker makes in 28
locales, in every chat shape (tests/data/pii_generated.py), must be masked at the promised
recall, and generated ordinary chat must come out unchanged. bench/pii_measure.py runs the
same generator at full size and prints the table in docs/data.md."""

from __future__ import annotations

from collections import Counter

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from training.data.pii import PiiMasker

pytest.importorskip("faker")

from tests.data import pii_generated as generated  # noqa: E402 - needs faker

SEED = 2026
RECALL_GOAL = 0.99
UNCHANGED_GOAL = 0.995


def _maskers():
    return {locale: PiiMasker(locale.split("_")[1]) for locale in generated.LOCALES}


def test_every_promised_kind_is_masked_in_every_locale():
    maskers = _maskers()
    caught, total, missed = Counter(), Counter(), []
    for case in generated.pii_cases(SEED, per_locale=2):
        masked = maskers[case.locale].mask(case.text)
        total[case.kind, case.locale] += 1
        if generated.leaked(case, masked):
            missed.append(f"{case.kind} {case.locale} {case.shape}: {case.text!r} -> {masked!r}")
        else:
            caught[case.kind, case.locale] += 1
    assert {kind for kind, _ in total} == set(generated.KINDS)
    assert len({locale for _, locale in total}) >= 20
    # The goal holds for every kind in every locale: with 2 values x 7 shapes a cell, 99%
    # allows no miss.
    low = {cell: caught[cell] / total[cell] for cell in total
           if caught[cell] / total[cell] < RECALL_GOAL}
    assert not low, (low, missed)


def test_ordinary_chat_is_left_unchanged():
    maskers = _maskers()
    cases = list(generated.ordinary_cases(SEED, per_locale=40))
    changed = [(case.text, maskers[case.locale].mask(case.text)) for case in cases
               if maskers[case.locale].mask(case.text) != case.text]
    assert 1 - len(changed) / len(cases) >= UNCHANGED_GOAL, changed


def test_a_leak_is_told_from_a_mask():
    # The measure itself: a value partly left, or left with its spacing changed, is a leak.
    case = generated.Case("card", "en_US", "alone", "4111 1111 1111 1111", "4111 1111 1111 1111")
    assert generated.leaked(case, "4111 1111 [card]")
    assert generated.leaked(case, "4111111111111111")
    assert not generated.leaked(case, "[card]")


# The classes behind issue 14's e-mail leaks (`alice @example.com`, `alice @ example . com`,
# `alice@example。com`), generated: any Faker address of any locale, with spaces around the
# @ and the dots, or an ideographic or full-width full stop for its dots.
_FAKERS: dict[str, object] = {}


def _faker(locale: str):
    from faker import Faker

    return _FAKERS.setdefault(locale, Faker(locale))


@settings(max_examples=80, deadline=None)
@given(locale=st.sampled_from(sorted(generated.LOCALES)), seed=st.integers(0, 2**32 - 1),
       at=st.sampled_from(["@", " @", " @ ", "@ "]),
       dot=st.sampled_from([".", " . ", " .", "。", "．", " 。 ", "｡"]),
       before=st.sampled_from(["", "mail me: ", "Mochi | ", "ok so it's "]),
       after=st.sampled_from(["", " thanks", "\nok"]))
def test_an_email_spaced_or_with_other_full_stops_is_masked(locale, seed, at, dot, before, after):
    fake = _faker(locale)
    fake.seed_instance(seed)
    address = fake.email() if seed % 3 else fake.free_email()
    local, domain = address.split("@")
    written = local + at + domain.replace(".", dot)
    case = generated.Case("email", locale, "spaced", before + written + after, written)
    masked = PiiMasker(locale.split("_")[1]).mask(case.text)
    assert not generated.leaked(case, masked) and "[email]" in masked, masked


# The class behind the persona's own nickname reaching stats.json and catgpt.json (issue 14):
# every name the persona is known by, generated (each kind of personal data, from Faker in
# every locale, in a nickname), comes out of both writers with no trace of the value.
def _nickname_cases():
    return [case for case in generated.pii_cases(SEED, per_locale=1)
            if case.shape == "nickname"]


def _strings(value):
    """The text values of a JSON-like record (not its keys: `aliases` holds `alias`)."""
    if isinstance(value, str):
        yield value
    elif isinstance(value, dict):
        for item in value.values():
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)


def test_the_personas_names_are_masked_wherever_they_are_written():
    from training.data.pipeline import PrepareOptions, persona_record
    from training.model.model_folder import mask_persona_names

    missed = []
    for case in _nickname_cases():
        region = case.locale.split("_")[1]
        record = persona_record(case.text, {"mochi", case.text}, ["22"],
                                PrepareOptions(exports=[], personas=[case.text],
                                               phone_region=region))
        # catgpt.json as written from a dataset that kept the names (older, or --keep-pii)
        card = {"persona": {"name": case.text, "aliases": ["mochi", case.text]},
                "dataset": {"stats": {"persona": {"name": case.text, "aliases": [case.text]},
                                      "options": {"personas": [case.text],
                                                  "phone_region": region}}}}
        mask_persona_names(card)
        for where, written in (("stats.json", record), ("catgpt.json", card)):
            if generated.leaked(case, " | ".join(_strings(written))):
                missed.append(f"{where} {case.kind} {case.locale}: {case.text!r} -> {written}")
    assert not missed, missed
