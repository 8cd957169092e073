"""`catgpt-bot --quiz DATASET_DIR`: the console quiz over val.jsonl, with a fake engine and
scripted answers; its one-line errors through the CLI."""

from __future__ import annotations

import asyncio
import io
import json
import random

import pytest

from bot.cli import main
from bot.quiz.console import play, read_val, run_quiz

from .conftest import FakeEngine, run_python

MODEL_SAYS = "mochi: fish is the only answer, every single time"


def example(i: int, reply: str = "") -> dict:
    return {
        "messages": [
            {"role": "user", "name": "alice", "content": f"question number {i}?"},
            {"role": "assistant", "content": reply or f"real answer number {i} from mochi"},
        ],
        "conversation": f"c:{i}",
    }


def dataset(tmp_path, records) -> str:
    folder = tmp_path / "prepared"
    folder.mkdir(exist_ok=True)
    lines = [json.dumps(r) if isinstance(r, dict) else r for r in records]
    (folder / "val.jsonl").write_text("".join(line + "\n" for line in lines))
    return str(folder)


def quiz(engine, folder, answers: str, *, rounds=10, store=None, seed=0):
    out = io.StringIO()
    score = asyncio.run(
        play(engine, read_val(folder), rounds=rounds, stdin=io.StringIO(answers), out=out,
             rng=random.Random(seed), store=store, model="fp")
    )  # fmt: skip
    return score, out.getvalue()


def test_rounds_show_context_and_both_replies_then_the_score(tmp_path):
    engine = FakeEngine(lambda messages: MODEL_SAYS)
    folder = dataset(tmp_path, [example(i) for i in range(3)])
    score, text = quiz(engine, folder, "x\nA\nb\na\n")
    assert score.rounds == 3
    assert text.count("A or B? ") == 4  # "x" asked again
    assert "question number" in text and "real answer number" in text
    assert "A) mochi: fish is the only answer" in text or "B) mochi: fish is the only" in text
    assert text.rstrip().splitlines()[-1] == (
        f"Score: {score.right} of 3 right. The model fooled you in {score.fooled} of 3 "
        f"({score.fooled / 3:.0%})."
    )
    # The model answered each context as the bot console asks it: the context, no more.
    assert sorted(call[0]["content"] for call in engine.calls) == [
        f"question number {i}?" for i in range(3)
    ]


def test_results_go_to_the_store_as_the_console_s(tmp_path):
    from .quiz_store import FakeQuizStore, QuizData

    data = QuizData()
    store = FakeQuizStore(data)
    folder = dataset(tmp_path, [example(i) for i in range(4)])
    score, _ = quiz(FakeEngine(lambda m: MODEL_SAYS), folder, "A\nA\n", rounds=2, store=store)
    assert score.rounds == 2
    assert [r.guild_id for r in data.rounds.values()] == [None, None]
    assert all(r.closed and len(r.votes) == 1 for r in data.rounds.values())
    stats = asyncio.run(store.stats(model="fp", guild_id=None))
    assert stats.rounds == 2 and stats.fooled_votes == score.fooled


def test_the_end_of_input_ends_the_quiz_with_the_score_so_far(tmp_path):
    folder = dataset(tmp_path, [example(i) for i in range(5)])
    score, text = quiz(FakeEngine(lambda m: MODEL_SAYS), folder, "B\n")
    assert score.rounds == 1 and "of 1 right" in text


def test_short_replies_and_lone_lines_are_no_rounds(tmp_path):
    records = [example(0, "ok"), example(1, "lol same"), example(2)]
    records.append({"messages": [{"role": "assistant", "content": "no context at all here"}]})
    assert [e.line for e in read_val(dataset(tmp_path, records))] == [3]


def test_run_quiz_closes_the_store(tmp_path):
    from .quiz_store import FakeQuizStore, QuizData

    store = FakeQuizStore(QuizData())
    folder = dataset(tmp_path, [example(0)])
    out = io.StringIO()
    status = run_quiz(FakeEngine(lambda m: MODEL_SAYS), read_val(folder), stdin=io.StringIO("A\n"),
                      stdout=out, store=store, model="fp", seed=1)  # fmt: skip
    assert status == 0 and store.closed and "of 1 right" in out.getvalue()


@pytest.mark.parametrize(
    ("make", "says"),
    [
        (lambda tmp: str(tmp / "missing"), "no such dataset folder"),
        (lambda tmp: str(tmp), "no val.jsonl in the dataset folder"),
        (lambda tmp: dataset(tmp, []), "no example to quiz on"),
        (lambda tmp: dataset(tmp, [example(0, "ok"), example(1, "k")]), "no example to quiz on"),
        (lambda tmp: dataset(tmp, ["{not json"]), "not a dataset line"),
        (lambda tmp: dataset(tmp, [{"messages": "hi"}]), "not a dataset line"),
    ],
)
def test_a_bad_dataset_is_one_line_naming_the_path(tmp_path, capsys, make, says):
    folder = make(tmp_path)
    env = tmp_path / "empty.env"
    env.write_text("")
    status = main(["--quiz", folder, "--env-file", str(env), "--model", str(tmp_path)])
    err = capsys.readouterr().err
    assert status == 1
    (line,) = err.strip().splitlines()
    assert line.startswith("catgpt-bot: error: ") and says in line and folder in line
    assert "Traceback" not in err


def test_the_quiz_with_a_real_model_end_to_end(tiny_model_dir, tmp_path):
    folder = dataset(tmp_path, [example(i) for i in range(3)])
    env = tmp_path / "quiz.env"
    database = tmp_path / "db" / "catgpt.sqlite3"
    env.write_text(f"CATGPT_DB=sqlite:///{database}\n")
    result = run_python(
        "-m", "bot", "--quiz", folder, "--rounds", "2", "--model", str(tiny_model_dir),
        "--env-file", str(env), stdin="A\nB\n",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("A or B? ") == 2
    assert "of 2 right" in result.stdout.splitlines()[-1]
    # The owner's score is kept in CATGPT_DB, as the console's (no server).
    from bot.quiz.fingerprint import model_fingerprint
    from bot.store.database import BotStore

    async def kept():
        store = await BotStore.open(f"sqlite:///{database}")
        try:
            return await store.stats(model=model_fingerprint(tiny_model_dir), guild_id=None)
        finally:
            await store.close()

    stats = asyncio.run(kept())
    assert stats.rounds == 2 and stats.votes == 2
