"""Benchmark: how much personal data the masker catches, and how much ordinary chat it leaves
alone, on values Faker generates in 28 locales (tests/data/pii_generated.py).

    python bench/pii_measure.py                    # full size: the table in docs/data.md
    python bench/pii_measure.py --per-locale 20    # a quick look
    python bench/pii_measure.py --misses 30        # print what leaked or changed

Prints recall per kind and per locale (a value counts as masked when no trace of it is left
in the masked text), recall per shape, the share of ordinary lines left unchanged, and the
masker's speed on these lines.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# The generator lives beside its test.
from tests.data.pii_generated import KINDS, LOCALES, leaked, ordinary_cases, pii_cases  # noqa: E402
from training.data.pii import PiiMasker  # noqa: E402


def measure(seed: int, per_locale: int, ordinary_per_locale: int, misses: int) -> dict:
    # Each locale is masked as its users would run prepare: --phone-region their country.
    maskers = {locale: PiiMasker(locale.split("_")[1]) for locale in LOCALES}
    hits: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    by_shape: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
    missed, changed = [], []
    cases = list(pii_cases(seed, per_locale))
    ordinary = list(ordinary_cases(seed, ordinary_per_locale))
    started = time.perf_counter()
    for case in cases:
        masked = maskers[case.locale].mask(case.text)
        caught = not leaked(case, masked)
        for table, key in ((hits, (case.kind, case.locale)), (by_shape, (case.kind, case.shape))):
            table[key][0] += caught
            table[key][1] += 1
        if not caught:
            missed.append((case, masked))
    unchanged = 0
    for case in ordinary:
        masked = maskers[case.locale].mask(case.text)
        if masked == case.text:
            unchanged += 1
        else:
            changed.append((case, masked))
    seconds = time.perf_counter() - started
    return {"hits": hits, "by_shape": by_shape, "missed": missed, "changed": changed,
            "values": len(cases), "ordinary": len(ordinary), "unchanged": unchanged,
            "seconds": seconds}


def _share(pair) -> str:
    return f"{pair[0] / pair[1]:.1%}" if pair[1] else "-"


def print_tables(result: dict, misses: int) -> None:
    hits = result["hits"]
    locales = sorted({locale for _, locale in hits})
    print("| locale | " + " | ".join(KINDS) + " |")
    print("|---|" + "---:|" * len(KINDS))
    for locale in locales:
        print(f"| {locale} | " + " | ".join(_share(hits[(k, locale)]) for k in KINDS) + " |")
    totals = {k: [sum(hits[(k, loc)][i] for loc in locales) for i in (0, 1)] for k in KINDS}
    print("| **all** | " + " | ".join(f"**{totals[k][0] / totals[k][1]:.2%}**" for k in KINDS)
          + " |")
    print("| values | " + " | ".join(f"{totals[k][1]:,}" for k in KINDS) + " |")
    lowest = min((hits[key][0] / hits[key][1], key) for key in hits if hits[key][1])
    print(f"\nlowest kind and locale: {lowest[1][0]} in {lowest[1][1]}, {lowest[0]:.2%}")
    shapes = sorted({shape for _, shape in result["by_shape"]})
    print("\n| shape | " + " | ".join(KINDS) + " |")
    print("|---|" + "---:|" * len(KINDS))
    for shape in shapes:
        print(f"| {shape} | " + " | ".join(_share(result["by_shape"][(k, shape)]) for k in KINDS)
              + " |")
    lines = result["values"] + result["ordinary"]
    print(f"\n{result['values']} values ({len(LOCALES)} locales), {result['ordinary']} ordinary "
          f"lines: {result['unchanged'] / result['ordinary']:.2%} of ordinary lines unchanged; "
          f"{lines / result['seconds']:,.0f} lines/s")
    for case, masked in result["missed"][:misses]:
        print(f"  missed {case.kind} {case.locale} {case.shape}: {case.text!r} -> {masked!r}")
    for case, masked in result["changed"][:misses]:
        print(f"  changed {case.locale} {case.shape}: {case.text!r} -> {masked!r}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=14)
    parser.add_argument("--per-locale", type=int, default=100,
                        help="values of each kind per locale, each in every shape")
    parser.add_argument("--ordinary-per-locale", type=int, default=1000)
    parser.add_argument("--misses", type=int, default=0, help="print this many misses")
    args = parser.parse_args()
    result = measure(args.seed, args.per_locale, args.ordinary_per_locale, args.misses)
    print(f"seed {args.seed}, {args.per_locale} values per kind and locale\n")
    print_tables(result, args.misses)


if __name__ == "__main__":
    main()
