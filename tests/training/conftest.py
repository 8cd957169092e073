"""Small hand-made datasets in the `prepare` output form (contract 2), and a trained tiny model.

The persona `mochi` has a recognisable style (lowercase, "nya~", cat words) so a few seconds of
training on the tiny base visibly lower the val loss.
"""

from __future__ import annotations

import json
import random
from pathlib import Path

import pytest
import torch

# Few threads: the CI box has 2 cores and the tiny model gains nothing from more.
torch.set_num_threads(1)

USERS = ["alice", "bob", "carol"]
PROMPTS = [
    "anyone up?", "what are you doing", "did you eat yet", "look at this", "good morning",
    "i am so tired", "want to play later", "how was your day", "it is raining again", "lol",
]
REPLIES = [
    "nya~ i am napping in the sun", "mrrp, fish for dinner pls", "nya~ no. sleeping",
    "*knocks your cup off the table*", "mrrp good morning human", "nya~ feed me first",
    "purr purr, yes", "i sit on keyboard now nya~", "mrrp the red dot is back", "no. nap time",
]


def make_example(rng: random.Random, conversation: str, turns: int = 3) -> dict:
    messages = []
    for _ in range(turns - 1):
        messages.append(
            {"role": "user", "name": rng.choice(USERS), "content": rng.choice(PROMPTS)}
        )
    messages.append({"role": "assistant", "content": rng.choice(REPLIES)})
    return {"messages": messages, "conversation": conversation}


def write_dataset(
    folder: Path,
    n_train: int = 48,
    n_val: int = 12,
    seed: int = 0,
    persona: dict | None = None,
    train: list[dict] | None = None,
) -> Path:
    """A dataset folder: train.jsonl, val.jsonl, stats.json."""
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    train = train if train is not None else [
        make_example(rng, f"general:{i}", turns=rng.randint(1, 4)) for i in range(n_train)
    ]
    val = [make_example(rng, f"general:{1000 + i}", turns=rng.randint(1, 4)) for i in range(n_val)]
    for name, rows in (("train.jsonl", train), ("val.jsonl", val)):
        with (folder / name).open("w", encoding="utf-8") as out:
            for row in rows:
                out.write(json.dumps(row) + "\n")
    persona = persona if persona is not None else {"name": "mochi", "aliases": ["mochi", "Mochi"],
                                                  "account_ids": ["22"]}
    stats = {"persona": persona, "train_examples": len(train), "val_examples": len(val)}
    (folder / "stats.json").write_text(json.dumps(stats))
    return folder


@pytest.fixture
def dataset(tmp_path) -> Path:
    return write_dataset(tmp_path / "dataset")


@pytest.fixture(scope="session")
def trained_tiny(tmp_path_factory) -> Path:
    """One tiny model trained for a few epochs, shared by the tests that only read it."""
    from training.model.trainer import TrainArgs, train_model

    root = tmp_path_factory.mktemp("trained")
    data = write_dataset(root / "dataset")
    out = root / "model"
    train_model(TrainArgs(data=str(data), out=str(out), base="tiny", epochs=4, batch_size=8))
    return out


@pytest.fixture
def make_dataset():
    """`write_dataset` for tests (conftest is not importable under --import-mode=importlib)."""
    return write_dataset
