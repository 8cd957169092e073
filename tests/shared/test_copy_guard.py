"""catgpt.copy_guard and the Replier's use of it: copies are drawn again, no text in the index."""

from __future__ import annotations

import json
import logging

import pytest

from catgpt.copy_guard import (
    INDEX_FILE,
    CopyGuard,
    NgramIndex,
    load_guard,
    read_index,
    token_ids,
)
from catgpt.errors import ModelFolderError
from catgpt.folder import PersonaCard
from catgpt.prompt import PromptBuilder
from catgpt.reply import Completion, Replier
from training.model.bases import train_tiny_tokenizer
from training.model.chat_template import install_chat_template
from training.model.copy_index import index_sequences

TRAINING = [
    "i left my keys at the dentist on main street again today",
    "the red dot is back and i will catch it this time for sure",
    "nya~ feed me first",
]
FRESH = "purr purr, yes"
N = 6


@pytest.fixture(scope="module")
def tokenizer():
    words = [*TRAINING, FRESH, "so anyway", "alice bob mochi hi"]
    tokenizer = train_tiny_tokenizer(words * 20, vocab_size=400)
    install_chat_template(tokenizer, "mochi")
    return tokenizer


@pytest.fixture(scope="module")
def index(tokenizer):
    return NgramIndex.build(index_sequences(tokenizer, TRAINING), N)


def guard_of(index, tokenizer, retries=3) -> CopyGuard:
    return CopyGuard(index, lambda text: token_ids(tokenizer, text), retries)


class ScriptedBackend:
    """Writes, for each prompt in each call, the next text of its script; records batch sizes."""

    max_new_tokens = 32

    def __init__(self, *texts: str):
        self.texts = list(texts)
        self.batches: list[int] = []

    def complete(self, prompts, *, should_stop=None, seed=None):
        self.batches.append(len(prompts))
        return [Completion(self.texts.pop(0), "eos") for _ in prompts]


def replier(tokenizer, backend, guard=None) -> Replier:
    card = PersonaCard("mochi")
    prompts = PromptBuilder(tokenizer, persona_names=card.names, max_tokens=64)
    return Replier(prompts, backend, card, guard)


def chat(text: str = "hi") -> list[dict]:
    return [{"role": "user", "name": "bob", "content": text}]


# --- the index ------------------------------------------------------------------------------


def test_the_index_finds_long_runs_of_training_replies_only(tokenizer, index):
    guard = guard_of(index, tokenizer)
    assert guard.copied(TRAINING[0]) > 0
    assert guard.copied("so anyway " + TRAINING[1] + " lol") > 0  # quoted mid-sentence
    assert guard.copied("the red dot is back") == 0  # shorter than n tokens: a habit, not a copy
    assert guard.copied(FRESH) == 0 and guard.copied("") == 0
    # More of a reply copied, more runs found: what "least copying" compares.
    half = " ".join(TRAINING[0].split()[:8])
    assert 0 < guard.copied(half) < guard.copied(TRAINING[0])


def test_a_whole_reply_of_n_tokens_is_found_after_other_words_too(tokenizer):
    # A byte-level BPE writes a word's first token differently after a space: indexed both ways.
    n = len(token_ids(tokenizer, TRAINING[0]))
    assert token_ids(tokenizer, " " + TRAINING[0])[0] != token_ids(tokenizer, TRAINING[0])[0]
    guard = guard_of(NgramIndex.build(index_sequences(tokenizer, TRAINING), n), tokenizer)
    assert guard.copied(TRAINING[0]) == 1 and guard.copied("so anyway " + TRAINING[0]) == 1


def test_the_index_file_holds_no_text_and_reads_back(tokenizer, index, tmp_path):
    index.save(tmp_path / INDEX_FILE)
    raw = (tmp_path / INDEX_FILE).read_text()
    for reply in TRAINING:
        words = reply.split()
        # No reply, and no run of three of its words, appears in the file...
        for i in range(len(words) - 2):
            assert " ".join(words[i : i + 3]) not in raw
        # ...nor its token ids written out.
        ids = token_ids(tokenizer, reply)
        assert json.dumps(ids[:N])[1:-1] not in raw
    loaded = read_index(tmp_path)
    assert loaded.n == N and loaded.key == index.key and list(loaded.hashes) == list(index.hashes)
    assert guard_of(loaded, tokenizer).copied(TRAINING[0]) == guard_of(index, tokenizer).copied(
        TRAINING[0]
    )


def test_each_folder_gets_its_own_key(tokenizer):
    sequences = index_sequences(tokenizer, TRAINING)
    one, two = NgramIndex.build(sequences, N), NgramIndex.build(sequences, N)
    assert one.key != two.key and set(one.hashes).isdisjoint(two.hashes)
    assert list(NgramIndex.build(sequences, N, key=one.key).hashes) == list(one.hashes)


def test_a_damaged_index_is_one_clear_error(tmp_path, tokenizer, caplog):
    caplog.set_level(logging.INFO, logger="catgpt.copy_guard")
    assert load_guard(tmp_path, tokenizer) is None  # an older folder: served unguarded...
    assert caplog.text.count(f"no {INDEX_FILE}: the copy guard is off") == 1  # ...said once
    (tmp_path / INDEX_FILE).write_text('{"format": 1, "n": 6, "key": "00", "hashes": "!!"}')
    with pytest.raises(ModelFolderError, match=f"unreadable {INDEX_FILE}") as error:
        load_guard(tmp_path, tokenizer)
    assert error.value.where == str(tmp_path / INDEX_FILE)


# --- the reply path with the guard ------------------------------------------------------------


def test_a_recited_reply_is_drawn_again_with_the_guard_and_sent_without(tokenizer, index):
    guarded = ScriptedBackend(TRAINING[0], FRESH)
    reply = replier(tokenizer, guarded, guard_of(index, tokenizer)).replies([chat()])[0]
    assert reply.text == FRESH and reply.copied == 0 and reply.candidates == 2
    off = ScriptedBackend(TRAINING[0], FRESH)
    unguarded = replier(tokenizer, off).replies([chat()])[0]
    assert unguarded.text == TRAINING[0] and unguarded.candidates == 1  # the parrot is back
    assert off.texts == [FRESH]  # and nothing was drawn again
    # The guarded reply keeps the first draw, what the guard off sends (eval reports both).
    assert reply.first == unguarded and unguarded.first is None


def test_only_the_copying_replies_are_drawn_again_as_a_smaller_batch(tokenizer, index):
    backend = ScriptedBackend(FRESH, TRAINING[1], "nya~ no", "so anyway")
    replies = replier(tokenizer, backend, guard_of(index, tokenizer)).replies(
        [chat("a"), chat("b"), chat("c")]
    )
    assert [r.text for r in replies] == [FRESH, "so anyway", "nya~ no"]
    assert [r.candidates for r in replies] == [1, 2, 1]
    assert backend.batches == [3, 1]
    assert [r.first.text if r.first else None for r in replies] == [None, TRAINING[1], None]


def test_when_every_draw_copies_the_least_copying_one_is_sent(tokenizer, index):
    half = " ".join(TRAINING[0].split()[:8])
    guard = guard_of(index, tokenizer)
    assert 0 < guard.copied(half) < guard.copied(TRAINING[1])
    backend = ScriptedBackend(TRAINING[1], half, TRAINING[0], half + " zzz")
    reply = replier(tokenizer, backend, guard).replies([chat()])[0]
    assert reply.text == half  # the fewest copied runs; `half zzz` ties with it: the first wins
    assert reply.candidates == 4 and reply.copied == guard.copied(half)
    assert backend.batches == [1, 1, 1, 1]  # the first draw and guard.retries (3) more


def test_no_more_draws_once_the_caller_says_stop(tokenizer, index):
    backend = ScriptedBackend(TRAINING[0], FRESH)
    reply = replier(tokenizer, backend, guard_of(index, tokenizer)).replies(
        [chat()], should_stop=lambda: True
    )[0]
    assert reply.text == TRAINING[0] and backend.batches == [1]


@pytest.mark.parametrize(("do_sample", "retries"), [(True, 3), (False, 0)])
def test_a_greedy_folder_is_never_drawn_again(tokenizer, index, tmp_path, do_sample, retries):
    # Greedy decoding writes the same reply again: the guard counts, but draws nothing more,
    # on the local path and a server's alike (decided once, where the guard is loaded).
    index.save(tmp_path / INDEX_FILE)
    (tmp_path / "generation_config.json").write_text(json.dumps({"do_sample": do_sample}))
    guard = load_guard(tmp_path, tokenizer)
    assert guard.retries == retries and guard.copied(TRAINING[0]) > 0
