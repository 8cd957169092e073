"""catgpt.reply over the local backend: a tiny real model, its bounds, pad, the abort flag."""

from __future__ import annotations

import json
import logging
import shutil
import threading

import pytest
import torch

from catgpt.folder import read_card
from catgpt.local_backend import LocalBackend, load_replier
from catgpt.prompt import PromptBuilder
from catgpt.reply import Completion, Replier

from .conftest import DEADLINE, PERSONA


def chat(*lines: str) -> list[dict]:
    messages = []
    for line in lines:
        name, _, text = line.partition(": ")
        if name == PERSONA:
            messages.append({"role": "assistant", "content": text})
        else:
            messages.append({"role": "user", "name": name, "content": text})
    return messages


def bounded_folder(tiny_model_dir, tmp_path, **context):
    """The tiny model folder with catgpt.json's trained context bounds."""
    folder = tmp_path / "bounded"
    shutil.copytree(tiny_model_dir, folder)
    card = json.loads((folder / "catgpt.json").read_text())
    (folder / "catgpt.json").write_text(json.dumps({**card, "context": context}))
    return folder


def test_the_trained_context_bounds_every_prompt(tiny_model_dir, tmp_path, caplog):
    folder = bounded_folder(tiny_model_dir, tmp_path, max_length=40, context_turns=3)
    with caplog.at_level(logging.INFO, logger="catgpt.prompt"):
        replier = load_replier(folder, device="cpu", history=20)  # CATGPT_HISTORY's default
    assert replier.prompts.max_turns == 3  # the setting was capped ...
    assert [r.getMessage() for r in caplog.records] == [  # ... saying so, once
        "a history of 20 turns is more than the 3 this model was trained with: using 3"
    ]
    assert replier.prompts.max_tokens == 40 - 12  # trained length less the reply
    long = chat(*[f"{'alice' if n % 2 else 'bob'}: fish number {n} in the sun" for n in range(30)])
    prompt = replier.prompts.build(long)
    text = replier.prompts.tokenizer.decode(prompt.ids)
    assert len(prompt.ids) <= 28
    assert text.count("<|endoftext|>") <= 3 and "number 29 in the sun" in text
    assert text.startswith(("alice: fish number", "bob: fish number"))  # at a turn boundary
    # Without catgpt.json's bounds (a foreign or older folder): the window, as before.
    assert load_replier(tiny_model_dir, device="cpu").prompts.max_tokens == 128 - 12


def test_a_larger_max_new_tokens_is_capped_to_the_trained_length(tiny_model_dir, tmp_path,
                                                                 caplog):  # fmt: skip
    folder = bounded_folder(tiny_model_dir, tmp_path, max_length=40, context_turns=3)
    with caplog.at_level(logging.WARNING, logger="catgpt.prompt"):
        replier = load_replier(folder, device="cpu", max_new_tokens=100, history=2)
    assert replier.max_new_tokens == 32 and replier.prompts.max_tokens == 8
    assert replier.prompts.max_turns == 2  # a lower setting is simply used
    assert len(caplog.records) == 1 and "max_new_tokens 100" in caplog.records[0].getMessage()


@pytest.fixture
def pad_loving_model(tiny_model_dir):
    """The tiny model with the pad token's logit forced far above every other token's."""
    backend = load_replier(tiny_model_dir, device="cpu").backend
    pad = backend.tokenizer.pad_token_id
    hook = backend.model.lm_head.register_forward_hook(
        lambda module, inputs, logits: logits.index_fill(-1, torch.tensor([pad]), 1e4)
    )
    yield backend.model, backend.tokenizer
    hook.remove()


def test_the_pad_token_is_never_generated(pad_loving_model):
    model, tokenizer = pad_loving_model
    pad = tokenizer.pad_token_id
    prompt = tokenizer("alice: hi<|endoftext|>mochi:", add_special_tokens=False)["input_ids"]
    # The folder's generation_config.json (an older folder: no suppress_tokens) picks pad ...
    raw = model.generate(torch.tensor([prompt]), generation_config=model.generation_config)
    assert pad in raw[0, len(prompt) :].tolist()
    # ... the local backend never does, greedy or sampled.
    backend = LocalBackend(model, tokenizer)
    for sample in (False, True):
        backend.generation_config.do_sample = sample
        rows, _ = backend.generate_ids([prompt, prompt[-3:]], [["mochi"], ["mochi"]])
        assert all(rows) and not any(pad in row for row in rows)


def test_the_abort_flag_stops_a_generate_in_progress(tiny_model_dir):
    backend = load_replier(tiny_model_dir, device="cpu").backend
    backend.max_new_tokens = 100
    backend.generation_config.min_new_tokens = 100  # no eos: only the length or the flag ends it
    prompt = backend.tokenizer("alice: hi<|endoftext|>mochi:")["input_ids"]
    rows, finishes = backend.generate_ids([prompt], [[]])
    assert finishes == ["length"] and len(rows[0]) == 100  # what it does undisturbed

    abort, polled = threading.Event(), threading.Semaphore(0)

    def should_stop() -> bool:  # the engine passes its abort flag's is_set
        polled.release()
        return abort.is_set()

    def aborter() -> None:  # another thread, as at shutdown: once generation is under way
        for _ in range(5):
            polled.acquire(timeout=DEADLINE)
        abort.set()

    thread = threading.Thread(target=aborter)
    thread.start()
    rows, finishes = backend.generate_ids([prompt], [[]], should_stop)
    thread.join(DEADLINE)
    assert finishes == ["abort"] and 5 <= len(rows[0]) < 100


class ScriptedBackend:
    """A backend that writes what it is told, to check what the reply path does with it."""

    max_new_tokens = 16

    def __init__(self, *texts: str):
        self.texts = texts
        self.prompts = []

    def complete(self, prompts, *, should_stop=None, seed=None):
        self.prompts.extend(prompts)
        return [Completion(text, "eos") for text in self.texts]


def test_replies_stop_at_a_label_and_are_cleaned(tiny_model_dir):
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    card = read_card(tiny_model_dir)
    prompts = PromptBuilder(tokenizer, persona_names=card.names, max_tokens=100)
    backend = ScriptedBackend(
        " mochi: nya~ <@123> [look](https://x.example) alice: you're next", " \u200b\u2060"
    )
    replies = Replier(prompts, backend, card).replies([chat("alice: hi"), chat("bob: yo")])
    assert replies[0].text == "nya~ <\u200b@123> look (https://x.example)"
    assert replies[0].finish == "label"
    assert replies[1].text == "" and replies[1].finish == "eos"  # the bot sends its fallback
    assert backend.prompts[1].stop_names == ("mochi", "mochi-chan", "bob")
