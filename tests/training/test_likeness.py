"""eval's likeness figures: discriminator accuracy and attribution, on texts whose answer is
known, and end to end on the tiny base.

The texts come from seeded generators: the persona writes lower case cat talk (`nya~`, `:3`,
`*stretches*`); "formal" writes Faker's capitalised sentences with a full stop, the kind a
base model writes; "shouty" writes upper case with `!!`. A model that writes what the persona
writes must be indistinguishable (50%) and attributed as often as the real replies; a model
that writes formal sentences must be told apart every time and never taken for the persona.
"""

import json
import logging
import random
import shutil

import pytest
from faker import Faker
from hypothesis import given
from hypothesis import strategies as st

from catgpt.folder_checks import check_card
from training.cli import main
from training.model import likeness
from training.model.likeness import PERSONA

CAT_WORDS = [
    "nap",
    "sun",
    "fish",
    "dinner",
    "human",
    "keyboard",
    "box",
    "red",
    "dot",
    "purr",
    "mrrp",
    "feed",
    "me",
    "now",
    "no",
    "sleep",
    "window",
    "bird",
    "tail",
    "zoomies",
]
CAT_ENDS = ["nya~", ":3", "mrrp", "*stretches*", "purr", "uwu"]


def persona_line(rng: random.Random) -> str:
    words = rng.choices(CAT_WORDS, k=rng.randint(2, 6))
    if rng.random() < 0.5:
        words.insert(0, "nya~")
    return " ".join([*words, rng.choice(CAT_ENDS)])


def formal_line(fake: Faker) -> str:
    return fake.sentence(nb_words=fake.random_int(6, 14))


def shouty_line(fake: Faker) -> str:
    return " ".join(fake.words(fake.random_int(2, 5))).upper() + "!!"


def writer(style: str, seed: int):
    """A function giving lines in `style`, seeded: the same seed, the same lines."""
    rng, fake = random.Random(seed), Faker()
    fake.seed_instance(seed)
    return {"persona": lambda: persona_line(rng), "formal": lambda: formal_line(fake),
            "shouty": lambda: shouty_line(fake)}[style]  # fmt: skip


def lines(style: str, count: int, seed: int) -> list[str]:
    write = writer(style, seed)
    return [write() for _ in range(count)]


def speakers(seed: int = 0, count: int = 120) -> dict[str, list[str]]:
    return {PERSONA: lines("persona", count, seed), "alice": lines("formal", count, seed + 1),
            "bob": lines("shouty", count, seed + 2)}  # fmt: skip


# --- discriminator ---------------------------------------------------------------------------


def test_a_model_that_returns_the_real_replies_cannot_be_told_apart():
    real = lines("persona", 60, seed=1)
    figure = likeness.discriminator(real, list(real))
    # Each context's two replies are the same text: the classifier can only get one right.
    assert figure["available"] and figure["accuracy"] == 0.5
    assert figure["interval"][0] <= 0.5 <= figure["interval"][1]
    assert figure["contexts"] == 60 and figure["folds"] == 5


@pytest.mark.parametrize("seed", [2, 3, 4])
def test_replies_in_the_personas_style_score_near_50_percent(seed):
    # Another draw of the same writer: the persona's style, not its exact words.
    figure = likeness.discriminator(lines("persona", 80, seed), lines("persona", 80, seed + 100),
                                    seed=seed)  # fmt: skip
    low, high = figure["interval"]
    assert low <= 0.5 <= high
    assert 0.3 <= figure["accuracy"] <= 0.7 and high - low < 0.3


def test_replies_in_another_style_are_told_apart():
    figure = likeness.discriminator(lines("persona", 60, 5), lines("formal", 60, 6))
    assert figure["accuracy"] >= 0.95 and figure["interval"][0] >= 0.9


def test_too_few_contexts_is_not_available_with_the_reason():
    figure = likeness.discriminator(lines("persona", 5, 7), lines("formal", 5, 8))
    assert not figure["available"] and "5 contexts" in figure["reason"]
    empty = likeness.discriminator([""] * 10, [" "] * 10)  # nothing to learn from
    assert not empty["available"] and "could not learn" in empty["reason"]


# --- attribution -----------------------------------------------------------------------------


def test_attribution_of_real_persona_like_and_other_replies():
    figure = likeness.attribution(speakers(), {
        "real": lines("persona", 50, 10),
        "fine_tuned": lines("persona", 50, 11),
        "base": lines("formal", 50, 12),
    })  # fmt: skip
    assert figure["available"] and figure["speakers"] == 3 and figure["chance"] == 0.3333
    shares = figure["shares"]
    assert shares["real"]["share"] >= 0.9  # the ceiling
    # A model writing as the persona does is attributed about as often as the real replies.
    assert abs(shares["fine_tuned"]["share"] - shares["real"]["share"]) <= 0.1
    low, high = shares["fine_tuned"]["interval"]
    assert low <= shares["real"]["share"] <= high or shares["real"]["share"] == 1.0
    # One writing as someone else is not.
    assert shares["base"]["share"] <= 0.05 and shares["base"]["replies"] == 50


def test_empty_replies_are_attributed_to_no_one():
    figure = likeness.attribution(speakers(), {"real": ["", "  ", *lines("persona", 2, 13)]})
    assert figure["shares"]["real"]["share"] == 0.5


def test_attribution_needs_another_speaker_and_enough_persona_messages():
    alone = likeness.attribution({PERSONA: lines("persona", 50, 14), "bob": ["HI!!"] * 5},
                                 {"real": ["nya~"]})  # fmt: skip
    assert not alone["available"] and "no other speaker" in alone["reason"]
    quiet = likeness.attribution({PERSONA: ["nya~"] * 3, "alice": lines("formal", 50, 15)},
                                 {"real": ["nya~"]})  # fmt: skip
    assert not quiet["available"] and "3 training messages" in quiet["reason"]


def test_a_loud_speaker_is_capped():
    kept = likeness.training_set(
        {
            PERSONA: lines("persona", 30, 16),
            "alice": lines("formal", 1000, 17),
            "bob": ["HI!!"] * 19,
        }
    )
    assert set(kept) == {PERSONA, "alice"}  # bob has too few to learn
    assert len(kept["alice"]) == likeness.MAX_MESSAGES and len(kept[PERSONA]) == 30


def test_messages_by_speaker_takes_each_message_once():
    def turn(name, text):
        return (
            {"role": "user", "name": name, "content": text}
            if name
            else {"role": "assistant", "content": text}
        )

    examples = [
        {"conversation": "c:1", "messages": [turn("alice", "hi"), turn(None, "nya~")]},
        # The next persona turn of the same conversation repeats its context.
        {"conversation": "c:1", "messages": [turn("alice", "hi"), turn(None, "nya~"),
                                             turn("bob", "yo"), turn(None, "mrrp")]},
        {"conversation": "c:2", "messages": [turn("alice", "hi"), turn(None, " ")]},
    ]  # fmt: skip
    assert likeness.messages_by_speaker(examples) == {
        "alice": ["hi", "hi"],
        PERSONA: ["nya~", "mrrp"],
        "bob": ["yo"],
    }


@given(hits=st.integers(0, 500), extra=st.integers(0, 500))
def test_the_wilson_interval_holds_its_share_within_0_and_1(hits, extra):
    total = hits + extra
    low, high = likeness.wilson_interval(hits, total)
    assert 0.0 <= low <= high <= 1.0
    if total:
        assert low <= hits / total <= high
        assert high - low > 0  # never zero-width, not even at 0% or 100%


def test_the_wilson_interval_by_a_known_value():
    low, high = likeness.wilson_interval(8, 10)  # a textbook case: 0.490 to 0.943
    assert round(low, 3) == 0.490 and round(high, 3) == 0.943


# --- sampling progress and eval end to end -----------------------------------------------------


def test_sampling_logs_a_line_per_batch(caplog):
    from catgpt.folder import PersonaCard
    from catgpt.prompt import PromptBuilder
    from catgpt.reply import Completion, Replier
    from training.model.bases import train_tiny_tokenizer
    from training.model.chat_template import install_chat_template
    from training.model.measures import sample_replies

    class Backend:
        max_new_tokens = 8

        def complete(self, prompts, *, should_stop=None, seed=None):
            return [Completion(" nya~", "eos") for _ in prompts]

    tokenizer = train_tiny_tokenizer(["hi bob mochi nya"] * 20, 300)
    install_chat_template(tokenizer, "mochi")
    replier = Replier(PromptBuilder(tokenizer, persona_names=["mochi"], max_tokens=24),
                      Backend(), PersonaCard("mochi"))  # fmt: skip
    examples = [
        {
            "messages": [
                {"role": "user", "name": "bob", "content": f"hi {i}"},
                {"role": "assistant", "content": "nya"},
            ]
        }
        for i in range(5)
    ]
    caplog.set_level(logging.INFO, logger="training.model.measures")
    sample_replies(replier, examples, batch_size=2, label="fine-tuned replies")
    said = [record.getMessage() for record in caplog.records]
    assert len(said) == 3
    assert said[0].startswith("fine-tuned replies: batch 1 of 3 (2 of 5, ")
    assert said[2].startswith("fine-tuned replies: batch 3 of 3 (5 of 5, ")


def test_eval_records_the_likeness_figures(trained_tiny, tmp_path, make_dataset, capsys):
    folder = tmp_path / "model"
    shutil.copytree(trained_tiny, folder)
    # trained_tiny's dataset (the same seed gives the same train split), with more val examples.
    data = make_dataset(tmp_path / "data", n_val=40)
    assert main(["eval", str(folder), "--data", str(data), "--eval-samples", "4",
                 "--few-shot", "2", "--show", "0"]) == 0  # fmt: skip
    out = capsys.readouterr().out
    assert "told from the real replies (50% = cannot tell)" in out
    assert "attributed to the persona (of 3 speakers)" in out
    card = json.loads((folder / "catgpt.json").read_text())
    check_card(card)  # the bot's load checks accept the new section
    section = card["evaluation"]["likeness"]
    assert section["contexts"] > 8  # every usable val context, not only --eval-samples
    assert card["evaluation"]["samples"] == 4  # the copy and style figures keep theirs
    for side in ("fine_tuned", "base", "prompted_base"):
        figure = section["discriminator"][side]
        assert figure["available"] and figure["contexts"] == section["contexts"]
        assert figure["interval"][0] <= figure["accuracy"] <= figure["interval"][1]
    attribution = section["attribution"]
    assert attribution["speakers"] == 3  # mochi, bob and carol; alice says 17 things, under 20
    assert set(attribution["shares"]) == {"real", "fine_tuned", "base", "prompted_base"}
    assert "bob" not in json.dumps(section)  # other people's names stay out
    readme = (folder / "README.md").read_text()
    assert "| likeness (" in readme and "attributed to the persona (of 3 speakers)" in readme
    assert (folder / "style.png").is_file()


def test_likeness_contexts_0_leaves_the_figures_out(trained_tiny, tmp_path, capsys):
    folder = tmp_path / "model"
    shutil.copytree(trained_tiny, folder)
    data = trained_tiny.parent / "dataset"
    assert main(["eval", str(folder), "--data", str(data), "--eval-samples", "3", "--no-base",
                 "--likeness-contexts", "0"]) == 0  # fmt: skip
    assert json.loads((folder / "catgpt.json").read_text())["evaluation"]["likeness"] is None
    assert "likeness" not in capsys.readouterr().out


# --- tables and the picture ------------------------------------------------------------------


def test_a_figure_not_available_shows_as_n_a_with_its_reason(tmp_path):
    from training import plots
    from training.model.tables import likeness_notes, likeness_rows

    section = likeness.compare(
        {"real": lines("persona", 6, 20), "fine_tuned": lines("persona", 6, 21)},
        {PERSONA: lines("persona", 30, 22)},
    )
    rows = likeness_rows(section)
    assert rows[1] == ["told from the real replies (50% = cannot tell)", "n/a", ""]
    assert rows[2] == ["attributed to the persona", "n/a", "n/a"]
    notes = " ".join(likeness_notes(section))
    assert "discriminator not available: 6 contexts" in notes and "no other speaker" in notes
    # The picture draws what there is, and says why attribution is missing.
    style = {"replies": 6, "markers": {"real": {}, "fine_tuned": {}}, "distance": {}}
    plots.style_picture(tmp_path / "style.png", style, section)
    assert (tmp_path / "style.png").stat().st_size > 0
