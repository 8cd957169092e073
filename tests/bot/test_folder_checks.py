"""A model folder's catgpt.json and generation_config.json, checked at start-up (issue 15).

A bad value is one line naming the file and the key, at load, for both backends; before, the
bot started and every reply was a traceback and an apology, or the card's numbers were quietly
replaced, or a persona name with a newline showed replies as another speaker's.
"""

from __future__ import annotations

import json
import shutil
import unicodedata
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from bot.engines.local import LocalEngine
from bot.engines.remote import load_remote_replier, sampling_from
from bot.errors import ModelLoadError
from catgpt.errors import ModelFolderError
from catgpt.folder import card_from_dict, generation_defaults, read_card
from catgpt.folder_checks import GENERATION_RULES, MAX_TOKENS, NEUTRAL_ONLY, generation_settings
from catgpt.labels import speaker_label

CHAT = [{"role": "user", "name": "alice", "content": "hi mochi"}]


@pytest.fixture
def folder(tiny_model_dir, tmp_path):
    copy = tmp_path / "model"
    shutil.copytree(tiny_model_dir, copy)
    return copy


def edit(folder, name: str, **changes) -> None:
    path = folder / name
    content = json.loads(path.read_text()) if path.is_file() else {}
    path.write_text(json.dumps({**content, **changes}))


def loaders(folder):
    return {
        "local": lambda: LocalEngine.from_folder(folder, device="cpu").close(),
        # The folder is checked before the client is ever asked anything.
        "remote": lambda: load_remote_replier(folder, client=None),
    }


@pytest.mark.parametrize(
    ("changes", "key"),
    [
        ({"do_sample": True, "temperature": -1}, "temperature"),
        ({"do_sample": True, "top_k": "fifty"}, "top_k"),
        ({"max_new_tokens": 0}, "max_new_tokens"),  # read as "cannot load the weights"
        ({"suppress_tokens": [10**6]}, "suppress_tokens"),  # past the vocabulary
        # Found by the generated test below: beam search failed every reply (rows per beam).
        ({"num_beams": 2}, "num_beams"),
    ],
)
def test_a_bad_sampling_value_stops_the_start_in_one_line(folder, changes, key):
    edit(folder, "generation_config.json", **changes)
    for backend, load in loaders(folder).items():
        with pytest.raises(ModelLoadError) as caught:
            load()
        message = str(caught.value)
        assert message.startswith(f"{folder / 'generation_config.json'}: {key} is "), backend
        assert "\n" not in message and "weights" not in message, message


def test_temperature_zero_decodes_greedily_on_both_backends(folder, tiny_model_dir):
    from catgpt.local_backend import load_replier

    edit(folder, "generation_config.json", do_sample=True, temperature=0)
    assert sampling_from(generation_defaults(folder)) == {"temperature": 0.0}
    greedy = load_replier(tiny_model_dir, device="cpu", copy_guard=False)
    zero = load_replier(folder, device="cpu", copy_guard=False)
    assert zero.generate([CHAT]) == greedy.generate([CHAT])  # was a traceback per reply


def test_whole_numbers_serve_where_transformers_wants_floats(folder):
    from catgpt.local_backend import load_replier

    # JSON writes 2.0 as 2; transformers refused an int penalty on every reply (found by the
    # generated test below).
    edit(folder, "generation_config.json", do_sample=True, temperature=1, repetition_penalty=2)
    assert isinstance(load_replier(folder, device="cpu").generate([CHAT])[0], str)


@pytest.mark.parametrize(
    ("card", "key"),
    [
        ({"persona": {"name": "mochi\nSystem"}}, "persona.name"),  # shown as `System:` replies
        ({"persona": {"name": 123}}, "persona.name"),  # shown as `123:`
        ({"persona": {"name": "mo:chi"}}, "persona.name"),
        ({"persona": {"name": "mochi", "aliases": ["ok", "\u202eevil"]}}, "persona.aliases"),
        ({"persona": {"name": "mochi", "aliases": "mochi-chan"}}, "persona.aliases"),
        ({"persona": ["mochi"]}, "persona"),
        ({"context": {"max_length": 10**12}}, "context.max_length"),
        ({"context": {"max_length": -5}}, "context.max_length"),
        ({"context": {"max_length": "512"}}, "context.max_length"),
        ({"context": {"context_turns": 0}}, "context.context_turns"),
        ({"context": {"context_turns": True}}, "context.context_turns"),
        ({"context": 512}, "context"),
        ({"dataset": {"max_length": 0}}, "dataset.max_length"),
        ({"copy_guard": {"n": "512"}}, "copy_guard.n"),
        ({"copy_guard": {"n": 10**12}}, "copy_guard.n"),
        ({"context": {"max_length": 64}, "copy_guard": {"n": 100}}, "copy_guard.n"),
    ],
)
def test_a_bad_card_value_is_one_line_naming_the_key(tmp_path, card, key):
    (tmp_path / "catgpt.json").write_text(json.dumps(card))
    with pytest.raises(ModelFolderError) as caught:
        read_card(tmp_path)
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'catgpt.json'}: {key} is "), message
    assert "\n" not in message


def test_the_bot_refuses_a_persona_name_that_is_not_a_label(folder):
    edit(folder, "catgpt.json", persona={"name": "mochi\nSystem"})
    for load in loaders(folder).values():
        with pytest.raises(ModelLoadError, match="catgpt.json: persona.name is 'mochi\\\\nSystem'"):
            load()


# ---- generated: whatever the files hold, the check refuses it or the reply path works ---------

JSON_VALUE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-5, 80),
    st.sampled_from([0, 1, 2, 10**12, -(10**12), MAX_TOKENS, MAX_TOKENS + 1]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(0, 2),
    st.text(max_size=6),
    st.lists(st.integers(-2, 800), max_size=3),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@pytest.fixture(scope="module")
def tiny_model(tiny_model_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(tiny_model_dir)
    return model, AutoTokenizer.from_pretrained(tiny_model_dir), model.config.vocab_size


# Values each key may well take, so that many generated files pass and are served.
PLAUSIBLE = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(0, 40),
    st.floats(0.01, 1.0),
    st.lists(st.integers(0, 300), max_size=2),
)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(
        st.sampled_from(sorted({*GENERATION_RULES, *NEUTRAL_ONLY})),
        st.one_of(PLAUSIBLE, PLAUSIBLE, PLAUSIBLE, JSON_VALUE),
        max_size=4,
    )
)
def test_any_generation_config_is_refused_in_one_line_or_served(tiny_model, config):
    from transformers import GenerationConfig

    from catgpt.local_backend import local_replier

    model, tokenizer, vocab = tiny_model
    try:
        checked = generation_settings(config, vocab)
    except ModelFolderError as error:
        key = str(error).removeprefix("generation_config.json: ").split(" is ")[0]
        assert key in config and "\n" not in str(error), str(error)
        event("refused")
        return
    model.generation_config = GenerationConfig(
        **{**checked, "eos_token_id": tokenizer.eos_token_id}
    )
    try:
        replier = local_replier(model, tokenizer, card_from_dict({}), max_new_tokens=4)
    except ModelFolderError as error:  # e.g. a reply length that leaves no room for a prompt
        assert "\n" not in str(error)
        return
    assert isinstance(replier.generate([CHAT])[0], str)
    event("served")


NAME = st.one_of(st.text(max_size=12), st.integers(), st.none(), st.sampled_from(["mochi"]))


@settings(max_examples=200, deadline=None)
@given(
    name=NAME,
    aliases=st.one_of(st.none(), st.lists(NAME, max_size=3), JSON_VALUE),
    context=st.dictionaries(
        st.sampled_from(["max_length", "context_turns", "merge_window_s", "gap_s"]), JSON_VALUE
    ),
    guard=st.dictionaries(st.just("n"), JSON_VALUE),
)
def test_any_card_is_refused_in_one_line_or_read_as_a_label_and_counts(
    name, aliases, context, guard
):
    raw = {"persona": {"name": name, "aliases": aliases}, "context": context, "copy_guard": guard}
    try:
        card = card_from_dict(raw)
    except ModelFolderError as error:
        assert str(error).startswith("catgpt.json: ") and "\n" not in str(error)
        return
    assert card.name == speaker_label(card.name) and one_line(card.name)
    assert all(one_line(alias) and alias.strip() for alias in card.aliases)  # blanks skipped
    for count in (card.max_length, card.context_turns):
        assert count is None or (type(count) is int and 1 <= count <= MAX_TOKENS)
    assert card.max_length == context.get("max_length")  # never replaced quietly
    for key, read in (("merge_window_s", card.merge_window), ("gap_s", card.gap)):
        if context.get(key) is not None:
            assert read == timedelta(seconds=context[key])


def one_line(text: str) -> bool:
    """Nothing that breaks a line or changes how the text shows (controls, bidi overrides)."""
    return not any(
        unicodedata.category(c) in ("Cc", "Zl", "Zp") or "\u202a" <= c <= "\u202e"
        or "\u2066" <= c <= "\u2069" for c in text
    )  # fmt: skip
