"""The pictures: report.png (prepare), loss.png (train), style.png (eval), and the card."""

import json
import shutil
import struct
from collections import Counter
from pathlib import Path

import pytest

from training.cli import main
from training.data import report
from training.data.pipeline import PrepareOptions, run_prepare

SAMPLE = Path(__file__).parents[2] / "data" / "sample"
SAMPLE_PEOPLE = ("alice", "bruno", "chen", "dee")  # everyone in the sample but the persona


def png_size(path: Path) -> tuple[int, int]:
    """(width, height) from a PNG's IHDR chunk, after checking the signature."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", f"{path.name} is not a PNG"
    length, kind = struct.unpack(">I4s", data[8:16])
    assert kind == b"IHDR" and length == 13
    return struct.unpack(">II", data[16:24])


def assert_picture(path: Path) -> None:
    width, height = png_size(path)
    assert width > 200 and height > 200, (path.name, width, height)


@pytest.fixture(scope="module")
def sample_dataset(tmp_path_factory):
    """The sample prepared once, with what prepare handed to the plotting code."""
    from training import plots

    drawn = []
    real = plots.dataset_report
    plots.dataset_report = lambda *args, **kwargs: (drawn.append(args), real(*args, **kwargs))
    try:
        out = tmp_path_factory.mktemp("prepared")
        run_prepare(PrepareOptions(exports=[SAMPLE], personas=["mochi"]), out)
    finally:
        plots.dataset_report = real
    return out, drawn[0]


def test_prepare_draws_report_png(sample_dataset):
    out, _ = sample_dataset
    assert_picture(out / "report.png")


def test_report_names_no_one_but_the_persona(sample_dataset):
    out, (_, persona, authors, lengths, activity, unit) = sample_dataset
    assert persona == "mochi"
    labels = [label for label, _, _ in authors]
    assert labels[0] == "mochi"  # the most active in the sample, highlighted
    assert [mine for _, _, mine in authors] == [True] + [False] * (len(authors) - 1)
    assert labels[1:] == [f"other {i}" for i in range(1, len(authors))]
    drawn = json.dumps([persona, labels]).lower()
    assert not any(name in drawn for name in SAMPLE_PEOPLE)
    stats = json.loads((out / "stats.json").read_text())
    assert sum(n for _, n, _ in authors) == stats["messages_kept"]
    assert authors[0][1] == stats["persona_messages"]
    assert sum(lengths.values()) == stats["examples"]  # one length per persona reply
    assert unit == "week" and sum(p + o for _, p, o in activity) == stats["messages_kept"]


def test_authors_beyond_the_top_ten_are_left_out_but_the_persona_stays():
    activity = Counter({f"id{i}": 100 - i for i in range(15)} | {"me": 1, "me_old": 2})
    bars = report.authors_ranked(activity, {"me", "me_old"}, "mochi")
    assert len(bars) == 10 and bars[-1] == ("mochi", 3, True)
    assert [label for label, _, _ in bars[:9]] == [f"other {i}" for i in range(1, 10)]


def test_activity_is_weekly_for_half_a_year_then_monthly():
    from datetime import date

    monday = date(2024, 3, 4).toordinal()
    unit, bins = report.activity_bins(Counter({monday: 2, monday + 6: 1}),
                                      Counter({monday + 7: 5}))  # fmt: skip
    assert unit == "week" and bins == [(date(2024, 3, 4), 3, 0), (date(2024, 3, 11), 0, 5)]
    unit, bins = report.activity_bins(Counter({monday: 1, monday + 400: 1}), Counter())
    assert unit == "month" and bins[0][0] == date(2024, 3, 1) and len(bins) == 2


def test_train_draws_loss_png_and_the_card_shows_it(trained_tiny):
    assert_picture(trained_tiny / "loss.png")
    assert "](loss.png)" in (trained_tiny / "README.md").read_text()


def test_train_copies_the_dataset_picture_into_the_model_folder(sample_dataset, tmp_path):
    from training.model.trainer import TrainArgs, train_model

    data, _ = sample_dataset
    out = tmp_path / "model"
    train_model(TrainArgs(data=str(data), out=str(out), base="tiny", max_steps=1))
    assert (out / "data_report.png").read_bytes() == (data / "report.png").read_bytes()
    card = (out / "README.md").read_text()
    assert "](data_report.png)" in card and "](loss.png)" in card
    assert "](style.png)" not in card  # no eval yet


def test_eval_draws_style_png_and_the_card_shows_it(trained_tiny, tmp_path):
    folder = tmp_path / "model"
    shutil.copytree(trained_tiny, folder)
    data = trained_tiny.parent / "dataset"
    assert main(["eval", str(folder), "--data", str(data), "--eval-samples", "3"]) == 0
    assert_picture(folder / "style.png")
    card = (folder / "README.md").read_text()
    assert "](style.png)" in card and "](loss.png)" in card
    from huggingface_hub import ModelCard

    loaded = ModelCard.load(folder / "README.md")  # still a Hub card: metadata, then the text
    assert loaded.data.library_name == "transformers" and "](style.png)" in loaded.text
    # Tables as Markdown, and nobody's messages: the sampled contexts stay in catgpt.json only.
    assert "| val perplexity |" in card and "| style distance (0 = as the real replies) |" in card
    for example in json.loads((folder / "private" / "eval_samples.json").read_text()):
        for message in example["context"]:
            if len(message["content"]) >= 12:  # long enough not to be in the card by chance
                assert message["content"] not in card
