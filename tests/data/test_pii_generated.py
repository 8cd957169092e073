"""The generated privacy measurement, small and seeded: personal data that Faker makes in 28
locales, in every chat shape (tests/data/pii_generated.py), must be masked at the promised
recall, and generated ordinary chat must come out unchanged. bench/pii_measure.py runs the
same generator at full size and prints the table in docs/data.md."""

from __future__ import annotations

from collections import Counter

import pytest

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
