"""catgpt.prompt and catgpt.folder: the bot's prompt is the context training showed the model."""

from __future__ import annotations

import json
import logging

import pytest

from catgpt.errors import ModelFolderError
from catgpt.folder import PersonaCard, card_from_dict, read_card
from catgpt.prompt import Limits, Prompt, PromptBuilder, limits
from training.model.bases import train_tiny_tokenizer
from training.model.chat_template import install_chat_template
from training.model.features import IGNORE_INDEX, EncodeReport, encode_example

SPEAKERS = ["alice", "bob", "mochi", "carol"]
WORDS = "fish nap sun red dot window bird box yarn treat purr zoom".split()


def conversation(turns: int) -> list[dict]:
    """Turns of different lengths, speakers in turn, the persona among them."""
    messages = []
    for n in range(turns):
        speaker = SPEAKERS[n % len(SPEAKERS)]
        text = " ".join(WORDS[(n + k) % len(WORDS)] for k in range(1 + n % 5)) + f" #{n}"
        if speaker == "mochi":
            messages.append({"role": "assistant", "content": text})
        else:
            messages.append({"role": "user", "name": speaker, "content": text})
    return messages


@pytest.fixture(scope="module")
def tokenizer():
    tokenizer = train_tiny_tokenizer([" ".join(WORDS), *SPEAKERS] * 20, vocab_size=300)
    install_chat_template(tokenizer, "mochi")
    return tokenizer


def builder(tokenizer, max_tokens: int, max_turns: int | None = None) -> PromptBuilder:
    return PromptBuilder(
        tokenizer, persona_names=["mochi"], max_tokens=max_tokens, max_turns=max_turns
    )


def test_the_prompt_is_the_training_example_up_to_the_persona_label(tokenizer):
    context = conversation(11)
    reply = {"role": "assistant", "content": "mrrp the red dot"}
    full = encode_example(tokenizer, [*context, reply], 10_000, EncodeReport())
    reply_tokens = sum(label != IGNORE_INDEX for label in full["labels"])  # reply + its eos
    label = tokenizer("mochi:", add_special_tokens=False)["input_ids"]
    compared = cut = 0
    # Every max_length from "only the reply and a few tokens fit" to "everything fits": the cut
    # falls at every turn boundary.
    for max_length in range(reply_tokens + len(label) + 1, len(full["input_ids"]) + 3):
        report = EncodeReport()
        trained = encode_example(tokenizer, [*context, reply], max_length, report)
        start = next(i for i, t in enumerate(trained["labels"]) if t != IGNORE_INDEX)
        # The bot's budget is what training left for context: max_length less the reply.
        budget = max_length - reply_tokens
        prompt = builder(tokenizer, budget).build(context)
        if trained["input_ids"][:start] == label:
            # The newest context turn alone does not fit. Training then keeps no context at all
            # (left_cut's boundary just before the target); the bot keeps that turn's newest
            # tokens, so it never answers nothing. A documented difference, checked as such.
            assert len(prompt.ids) == budget and prompt.ids[-len(label) :] == label
            assert len(full["input_ids"][:-reply_tokens]) > budget
            continue
        assert prompt.ids == trained["input_ids"][:start], max_length
        compared += 1
        cut += report.truncated
    assert compared > 20 and cut > 10  # the comparison covered many cuts, not only whole ones


def test_context_is_cut_to_the_trained_turns_and_tokens_at_a_turn_boundary(tokenizer):
    messages = conversation(30)
    everything = builder(tokenizer, 10_000).build(messages)
    eos = tokenizer.eos_token

    turns = builder(tokenizer, 10_000, max_turns=4).build(messages)
    text = tokenizer.decode(turns.ids)
    assert text.count(eos) == 4 and text.endswith(f"{eos}mochi:")
    assert text == tokenizer.decode(builder(tokenizer, 10_000).build(messages[-4:]).ids)

    budget = len(turns.ids) - 3  # the four newest turns do not fit: whole turns go
    tokens = builder(tokenizer, budget, max_turns=4).build(messages)
    assert len(tokens.ids) <= budget
    assert tokenizer.decode(tokens.ids).count(eos) == 3
    assert tokens.ids == everything.ids[-len(tokens.ids) :]
    assert tokenizer.decode(tokens.ids).startswith(("alice:", "bob:", "carol:", "mochi:"))


def test_stop_names_are_the_speakers_labels(tokenizer):
    messages = [{"role": "user", "name": "ali:ce", "content": "hi"}, *conversation(3)]
    prompt = builder(tokenizer, 100, max_turns=2).build(messages)
    assert prompt.stop_names == ("mochi", "ali ce", "alice", "bob")  # even turns cut away
    assert Prompt([], "", ("bob",)).stop_strings == ["\nbob:", " bob:"]


def test_a_server_never_stops_where_a_reply_opens_with_the_personas_own_label(tokenizer):
    prompt = builder(tokenizer, 100).build([{"role": "user", "name": "bob", "content": "hi"}])
    assert prompt.own_names == ("mochi",)
    # " mochi:" would stop a reply that begins " mochi: hi" before its first word.
    assert prompt.stop_strings == ["\nmochi:", "\nbob:", " bob:"]
    mixed_case = Prompt([], "", ("Mochi", "bob"), own_names=("mochi",))
    assert mixed_case.stop_strings == ["\nMochi:", "\nbob:", " bob:"]


def test_a_template_that_does_not_render_is_refused(tokenizer):
    broken = train_tiny_tokenizer(["a b c"] * 5, vocab_size=280)
    broken.chat_template = "{% for m in messages %}{{ m.content "
    with pytest.raises(ModelFolderError, match="the chat template does not render"):
        builder(broken, 100).probe()
    builder(tokenizer, 100).probe()  # ours renders


CARD = PersonaCard(name="mochi", max_length=512, context_turns=8)


def test_settings_lower_the_trained_bounds(caplog):
    with caplog.at_level(logging.WARNING):
        bounds = limits(CARD, window=8192, max_new_tokens=64, history=5, wanted_new_tokens=32)
    assert bounds == Limits(32, 480, 5) and not caplog.records
    assert limits(CARD, window=8192, max_new_tokens=64) == Limits(64, 448, 8)
    assert limits(CARD, window=256, max_new_tokens=64).prompt_tokens == 192  # a smaller window


def test_settings_never_exceed_the_trained_bounds(caplog):
    with caplog.at_level(logging.INFO, logger="catgpt.prompt"):
        bounds = limits(CARD, window=8192, max_new_tokens=64, history=20, wanted_new_tokens=600)
    assert bounds.turns == 8 and bounds.max_new_tokens == 504 and bounds.prompt_tokens == 8
    messages = [r.getMessage() for r in caplog.records]
    assert len(messages) == 2
    assert "history of 20 turns is more than the 8" in messages[1]
    assert "max_new_tokens 600 is more than the 512-token" in messages[0]


def test_a_folder_without_trained_bounds_keeps_the_window():
    bounds = limits(PersonaCard(), window=1024, max_new_tokens=64, history=20)
    assert bounds == Limits(64, 960, 20)
    assert limits(PersonaCard(), window=1024, max_new_tokens=64).turns is None
    with pytest.raises(ModelFolderError, match="leaves no room for a prompt"):
        limits(PersonaCard(), window=128, max_new_tokens=64, wanted_new_tokens=125)


def test_the_card_is_read_from_catgpt_json(tmp_path):
    assert read_card(tmp_path) == PersonaCard()  # a foreign folder
    (tmp_path / "catgpt.json").write_text(json.dumps({
        "persona": {"name": "mochi", "aliases": ["Mochi", " "], "account_ids": ["42"]},
        "context": {"max_length": 300, "context_turns": 6},
    }))  # fmt: skip
    card = read_card(tmp_path)
    assert card == PersonaCard("mochi", ("Mochi",), ("42",), 300, 6)
    assert card.names == ("mochi", "Mochi")
    # Folders trained before "context" recorded the same numbers elsewhere.
    older = {"persona": "mochi", "dataset": {"max_length": 256,
                                             "stats": {"options": {"context_turns": 5}}}}
    assert card_from_dict(older) == PersonaCard("mochi", (), (), 256, 5)
    (tmp_path / "catgpt.json").write_text("{not json")
    with pytest.raises(ModelFolderError, match="unreadable catgpt.json"):
        read_card(tmp_path)
