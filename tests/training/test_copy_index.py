"""The copy guard's index as `train` writes it: n chosen from the data, no text in the file."""

from __future__ import annotations

import json

import pytest

from catgpt.copy_guard import INDEX_FILE, read_index
from training.model.copy_index import CEILING, FLOOR, THRESHOLD, choose_n, shares_by_length

HABIT = list(range(1000, 1007))  # a 7-token phrase the person uses all the time


def unique(start: int, length: int = 12) -> list[int]:
    return list(range(start, start + length))


def test_n_is_longer_than_the_habitual_phrases_the_val_replies_show():
    train = [HABIT + unique(100 * i) for i in range(30)]
    val = [unique(50_000 + 100 * i) + HABIT for i in range(10)]  # the habit, never a recital
    shares = shares_by_length(train, val, range(FLOOR, CEILING + 1))
    assert shares[7] == 1.0 and shares[8] == 0.0
    n, why = choose_n(shares)
    assert n == 8 and FLOOR <= n <= CEILING and "shortest run" in why


def test_a_few_long_repeats_within_the_threshold_are_allowed():
    train = [unique(100 * i) for i in range(30)]
    val = [unique(100) + [7]] + [unique(90_000 + 100 * i) for i in range(19)]  # 1 of 20: 5%
    n, _ = choose_n(shares_by_length(train, val, range(FLOOR, CEILING + 1)))
    assert n == FLOOR and THRESHOLD == 0.05


def test_n_stays_within_the_bounds():
    train = [unique(100 * i, 30) for i in range(10)]
    repeats = [unique(100 * i, 30) for i in range(5)]  # val replies that repeat 30-token runs
    n, why = choose_n(shares_by_length(train, repeats, range(FLOOR, CEILING + 1)))
    assert n == CEILING and "the ceiling" in why
    n, why = choose_n({})  # no val split: nothing to measure habits on
    assert n == CEILING and "no val replies" in why


def test_train_writes_an_index_without_text(trained_tiny):
    card = json.loads((trained_tiny / "catgpt.json").read_text())["copy_guard"]
    assert FLOOR <= card["n"] <= CEILING and card["file"] == INDEX_FILE
    assert card["val_replies"] == 12 and set(card["val_share_by_n"]) == {
        str(n) for n in range(FLOOR, CEILING + 1)
    }
    # n is the shortest run at most 5% of the val replies share (or the ceiling).
    shares = {int(k): v for k, v in card["val_share_by_n"].items()}
    assert shares[card["n"]] <= THRESHOLD or card["n"] == CEILING
    assert all(shares[k] > THRESHOLD for k in shares if k < card["n"])
    rows = (trained_tiny.parent / "dataset" / "train.jsonl").read_text().splitlines()
    replies = {json.loads(row)["messages"][-1]["content"] for row in rows}
    index = read_index(trained_tiny)
    assert index.n == card["n"] and len(index.runs) == card["ngrams"] > 0
    # Every distinct training reply of 20+ characters is indexed whole, for this tokenizer.
    assert len(index.whole) == card["whole_replies"] == len(
        {r for r in replies if len(r.strip()) >= card["whole_min_chars"] == 20})
    assert index.tokenizer == card["tokenizer"]
    # The fingerprint holds however the folder's tokenizer is loaded (the bot's two ways).
    from catgpt.copy_guard import load_guard
    from catgpt.folder import load_fast_tokenizer, load_tokenizer

    for load in (load_fast_tokenizer, load_tokenizer):
        assert load_guard(trained_tiny, load(trained_tiny)).n == card["n"]
    raw = (trained_tiny / INDEX_FILE).read_text()
    for reply in replies:
        assert reply not in raw
        words = reply.split()
        for i in range(len(words) - 1):  # not even two words of it in a row
            assert " ".join(words[i : i + 2]) not in raw


def test_the_bot_serves_with_the_guard_unless_it_is_turned_off(trained_tiny):
    from bot.engines.local import LocalEngine
    from bot.settings import load_settings

    env = {"CATGPT_MODEL": str(trained_tiny), "CATGPT_DEVICE": "cpu"}
    for value, on in (("", True), ("off", False)):
        settings = load_settings({**env, "CATGPT_COPY_GUARD": value}, require_token=False)
        engine = LocalEngine.from_settings(settings)
        try:
            guard = engine.replier.guard
            assert (guard is not None) is on
            if on:
                assert guard.n == json.loads((trained_tiny / "catgpt.json").read_text())[
                    "copy_guard"]["n"]  # fmt: skip
            assert isinstance(engine.submit([{"role": "user", "name": "bob",
                                              "content": "hi"}]).result(60), str)  # fmt: skip
        finally:
            engine.close()


def test_a_folder_whose_index_went_missing_is_refused_in_one_line(trained_tiny, tmp_path, capsys):
    # catgpt.json says training wrote an index: without it, the guard would silently do nothing.
    import shutil

    from bot.engines.local import LocalEngine
    from bot.errors import ModelLoadError
    from bot.settings import load_settings
    from training.cli import main

    folder = shutil.copytree(trained_tiny, tmp_path / "copied")
    (folder / INDEX_FILE).unlink()
    env = {"CATGPT_MODEL": str(folder), "CATGPT_DEVICE": "cpu"}
    with pytest.raises(ModelLoadError) as error:
        LocalEngine.from_settings(load_settings(env, require_token=False))
    assert str(error.value).startswith(f"{folder / INDEX_FILE}: catgpt.json says training wrote")
    assert "CATGPT_COPY_GUARD=off" in str(error.value) and "\n" not in str(error.value)
    # Turned off knowingly, it serves.
    engine = LocalEngine.from_settings(load_settings({**env, "CATGPT_COPY_GUARD": "off"},
                                                require_token=False))  # fmt: skip
    engine.close()
    # eval measures what the bot would serve: the same refusal, one line, exit status 1.
    data = trained_tiny.parent / "dataset"
    assert main(["eval", str(folder), "--data", str(data), "--eval-samples", "1", "--no-base"]) == 1
    err = capsys.readouterr().err.strip()
    assert "catgpt.json says training wrote" in err and len(err.splitlines()) == 1
