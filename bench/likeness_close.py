"""How sharp eval's likeness figures are when two people write almost alike.

A seeded program writes a chat of four speakers: the persona and a close friend both write
lower case cat talk from one word list, and differ only in habits (the persona ends with "nya~"
or ":3" and says "mrrp"; the friend ends with "nyaa" or ":D" and says "meow"), beside two
others in plainly different styles. Then, with no model at all, it prints the two figures for
"replies" that are the friend's messages, other messages of the persona, and a base-like
writer's capitalised sentences, for the same number of contexts: how far apart close styles
read to the classifiers, and how wide the intervals are at that count.

    .venv/bin/python bench/likeness_close.py [--contexts 200] [--seed 0]

`--write-dataset DIR` writes the same chat as a dataset folder (`prepare`'s form: train.jsonl,
val.jsonl, stats.json; the persona is "mochi") to train and evaluate a real model on:

    .venv/bin/python bench/likeness_close.py --write-dataset data/prepared/close
"""

from __future__ import annotations

import argparse
import json
import random
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from training.model import likeness  # noqa: E402
from training.model.likeness import PERSONA  # noqa: E402

WORDS = ("nap sun fish dinner human keyboard box red dot purr feed me now no sleep window bird "
         "tail zoomies snack treat lap warm cold rain the a is my your").split()  # fmt: skip
HABITS = {
    "persona": {"ends": ["nya~", ":3", "", ""], "says": "mrrp"},
    "friend": {"ends": ["nyaa", ":D", "", ""], "says": "meow"},
}
FORMAL = (
    "I think we should meet later today. That sounds like a good plan to me. Could you "
    "send me the notes from yesterday? Thanks, I will have a look this evening."
).split(". ")
SHOUTY = ["LOL", "NO WAY", "WHAT", "OMG YES", "HAHA", "BRB", "SAME"]


def cat_line(rng: random.Random, who: str) -> str:
    habit = HABITS[who]
    words = rng.choices(WORDS, k=rng.randint(2, 8))
    if rng.random() < 0.3:
        words.insert(rng.randrange(len(words) + 1), habit["says"])
    end = rng.choice(habit["ends"])
    return " ".join([*words, end]).strip()


def formal_line(rng: random.Random) -> str:
    return rng.choice(FORMAL).strip(".") + "."


def shouty_line(rng: random.Random) -> str:
    return " ".join(rng.sample(SHOUTY, rng.randint(1, 3))) + "!!"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contexts", type=int, default=200)
    parser.add_argument("--train", type=int, default=300, help="training messages per speaker")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--write-dataset", metavar="DIR", help="write a dataset folder instead")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    if args.write_dataset:
        write_dataset(Path(args.write_dataset), rng)
        return
    speakers = {
        PERSONA: [cat_line(rng, "persona") for _ in range(args.train)],
        "friend": [cat_line(rng, "friend") for _ in range(args.train)],
        "formal": [formal_line(rng) for _ in range(args.train)],
        "shouty": [shouty_line(rng) for _ in range(args.train)],
    }
    n = args.contexts
    columns = {
        "real": [cat_line(rng, "persona") for _ in range(n)],
        "persona again": [cat_line(rng, "persona") for _ in range(n)],
        "close friend": [cat_line(rng, "friend") for _ in range(n)],
        "base-like": [formal_line(rng) for _ in range(n)],
    }
    section = likeness.compare(columns, speakers, args.seed)
    attribution = section["attribution"]
    print(
        f"{n} contexts; attribution among {attribution['speakers']} speakers, "
        f"{attribution['messages']} training messages (chance {attribution['chance']:.0%})"
    )
    print(f"{'replies':<16}{'told from real':>22}{'attributed to persona':>26}")
    for side in columns:
        judged = section["discriminator"].get(side)
        told = "" if judged is None else span(judged["accuracy"], judged["interval"])
        shares = attribution["shares"][side]
        print(f"{side:<16}{told:>22}{span(shares['share'], shares['interval']):>26}")


def conversation(rng: random.Random, number: int) -> dict:
    """One to three turns by the others (the close friend most often), then mochi's reply."""
    writers = {"friend": lambda: cat_line(rng, "friend"), "pat": lambda: formal_line(rng),
               "sam": lambda: shouty_line(rng)}  # fmt: skip
    names = []
    for _ in range(rng.randint(1, 3)):  # never one speaker twice in a row: that is one turn
        others = [name for name in writers if not names or name != names[-1]]
        names.append(rng.choices(others, weights=[2 if n == "friend" else 1 for n in others])[0])
    messages = [{"role": "user", "name": name, "content": writers[name]()} for name in names]
    messages.append({"role": "assistant", "content": cat_line(rng, "persona")})
    return {"messages": messages, "conversation": f"general:{number}"}


def write_dataset(folder: Path, rng: random.Random, train: int = 300, val: int = 80) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    rows = [conversation(rng, number) for number in range(train + val)]
    for name, part in (("train.jsonl", rows[:train]), ("val.jsonl", rows[train:])):
        with (folder / name).open("w", encoding="utf-8") as out:
            out.writelines(json.dumps(row) + "\n" for row in part)
    stats = {"persona": {"name": "mochi", "aliases": ["mochi"], "account_ids": []},
             "train_examples": train, "val_examples": val}  # fmt: skip
    (folder / "stats.json").write_text(json.dumps(stats, indent=2) + "\n", encoding="utf-8")
    print(f"{folder}: {train} train and {val} val examples")


def span(value: float, interval: list[float]) -> str:
    return f"{value:.0%} ({interval[0]:.0%}-{interval[1]:.0%})"


if __name__ == "__main__":
    main()
