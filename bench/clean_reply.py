"""Reply cleaning per reply: this checkout's catgpt/reply_cleaning.py against another revision's.

    .venv/bin/python bench/clean_reply.py                # against main
    .venv/bin/python bench/clean_reply.py --baseline 5ef7a06

Issue 15 added work to every reply (escapes and control characters stripped, a cut at lines
that open a turn); this says what it costs next to a generation (hundreds of milliseconds).
Replies are generated Discord-like lines (words, mentions, links), 2,000 of each length, with
the persona's prefix; best of 5 runs.
"""

from __future__ import annotations

import argparse
import importlib.util
import random
import subprocess
import sys
import tempfile
import timeit
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from catgpt import reply_cleaning as cleaning  # noqa: E402

WORDS = ("nya meow fish sleepy warm sun lol ok <@123456789012345678> @everyone https://x.example "
         "game tonight").split()  # fmt: skip
NAMES = ["mochi", "mochi-chan"]


def baseline_module(revision: str):
    source = subprocess.run(
        ["git", "-C", str(ROOT), "show", f"{revision}:catgpt/reply_cleaning.py"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    path = Path(tempfile.mkdtemp()) / "baseline_cleaning.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("baseline_cleaning", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def replies(words_per_line: int, count: int = 2000) -> list[str]:
    rng = random.Random(0)
    return [
        "mochi: " + "\n".join(
            " ".join(rng.choice(WORDS) for _ in range(words_per_line))
            for _ in range(rng.randint(1, 3))
        )
        for _ in range(count)
    ]  # fmt: skip


def per_reply(module, texts: list[str]) -> float:
    run = lambda: [module.clean_reply(t, NAMES) for t in texts]  # noqa: E731
    return min(timeit.repeat(run, number=1, repeat=5)) / len(texts) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", default="main", help="git revision to compare with")
    args = parser.parse_args()
    base = baseline_module(args.baseline)
    print(f"| replies | {args.baseline} us/reply | this checkout us/reply | ratio |")
    print("| --- | ---: | ---: | ---: |")
    for words in (8, 120):
        texts = replies(words)
        before, after = per_reply(base, texts), per_reply(cleaning, texts)
        print(f"| {words} words a line | {before:.1f} | {after:.1f} | {after / before:.2f} |")


if __name__ == "__main__":
    main()
