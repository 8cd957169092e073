"""catgpt.copy_guard and the Replier's use of it: copies are drawn again, no text in the index."""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from catgpt.copy_guard import (
    INDEX_FILE,
    CopyGuard,
    CopyIndex,
    NgramIndex,
    load_guard,
    read_index,
    reply_sequences,
    token_ids,
)
from catgpt.errors import ModelFolderError
from catgpt.folder import PersonaCard, load_fast_tokenizer
from catgpt.prompt import PromptBuilder
from catgpt.reply import Completion, Replier
from training.model.bases import train_tiny_tokenizer
from training.model.chat_template import install_chat_template

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
    return CopyIndex.build(tokenizer, TRAINING, N)


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
    guard = guard_of(CopyIndex.build(tokenizer, TRAINING, n), tokenizer)
    assert guard.runs(TRAINING[0]) == 1 and guard.runs("so anyway " + TRAINING[0]) == 1


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
    assert loaded.n == N and loaded.runs.key == index.runs.key
    assert list(loaded.runs.hashes) == list(index.runs.hashes)
    assert list(loaded.whole.hashes) == list(index.whole.hashes) and len(loaded.whole) == 2
    assert loaded.tokenizer == index.tokenizer
    assert guard_of(loaded, tokenizer).copied(TRAINING[0]) == guard_of(index, tokenizer).copied(
        TRAINING[0]
    )


def test_each_folder_gets_its_own_key(tokenizer):
    sequences = reply_sequences(tokenizer, TRAINING)
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


# --- whole replies: the messages shorter than n tokens ----------------------------------------

LETTERS = "abcdefghijklmnopqrstuvwxyzéñß0123456789"
word = st.text(alphabet=LETTERS, min_size=1, max_size=9)
message = st.lists(st.one_of(word, st.sampled_from(["~", ":3", "!!", ",", "..."])),
                   min_size=2, max_size=10).map(" ".join)  # fmt: skip


def restyled(text: str, style: int) -> str:
    """The same message as a model may write it back: another case, spacing, invisible marks."""
    return [text.upper(), text.title(), "  ".join(text.split()), text.replace(" ", " \u200b"),
            text][style]  # fmt: skip


@settings(max_examples=60, deadline=None)
@given(secret=message.filter(lambda m: len(m.strip()) >= 20),
       others=st.lists(message, max_size=5), style=st.integers(0, 4),
       before=st.sampled_from(["", "lol ", "so anyway, "]),
       after=st.sampled_from(["", " !!", " nya~", "\nok"]))  # fmt: skip
def test_a_training_message_of_20_chars_is_found_whole_however_it_is_recited(
    tokenizer, secret, others, style, before, after
):
    # n at the ceiling (16 tokens): the runs alone cannot see most chat messages; before whole
    # replies were indexed, a recited 8-word message was found by nothing (copied == 0).
    guard = guard_of(CopyIndex.build(tokenizer, [secret, *others], 16), tokenizer)
    recited = before + restyled(secret, style) + after
    assert guard.whole(recited) >= 1 and guard.copied(recited) >= 1


@settings(max_examples=40, deadline=None)
@given(replies=st.lists(message, min_size=1, max_size=6),
       fresh=st.text(alphabet="QWXZ ", min_size=1, max_size=60))  # fmt: skip
def test_a_reply_sharing_no_training_message_is_not_counted_whole(tokenizer, replies, fresh):
    # Upper-case letters the messages never hold: no training reply's units can be in it.
    guard = guard_of(CopyIndex.build(tokenizer, replies, 16), tokenizer)
    assert guard.whole(fresh.lower().replace("q", "ǫ")) == 0


def test_the_sample_personas_median_message_is_drawn_again(tokenizer):
    short = "nya~ the red dot is back again"  # 8 words, fewer tokens than the ceiling n
    index = CopyIndex.build(tokenizer, [short], 16)
    assert index.runs.hits(token_ids(tokenizer, short)) == 0  # what the runs alone see
    backend = ScriptedBackend(short, FRESH)
    reply = replier(tokenizer, backend, guard_of(index, tokenizer)).replies([chat()])[0]
    assert reply.text == FRESH and reply.first.text == short


# --- the index belongs to its tokenizer ---------------------------------------------------------


def test_an_index_of_another_tokenizer_is_refused(tokenizer, tmp_path):
    index = CopyIndex.build(tokenizer, TRAINING, N)
    index.save(tmp_path / INDEX_FILE)
    other = train_tiny_tokenizer(["completely other words here"] * 20, vocab_size=300)
    with pytest.raises(ModelFolderError, match="another tokenizer") as error:
        load_guard(tmp_path, other)
    assert "CATGPT_COPY_GUARD=off" in error.value.fix
    # The same tokenizer, saved and loaded as the bot loads it, is the one indexed.
    tokenizer.save_pretrained(tmp_path)
    reloaded = load_guard(tmp_path, load_fast_tokenizer(tmp_path))
    assert reloaded.copied(TRAINING[0]) == guard_of(index, tokenizer).copied(TRAINING[0]) > 1



@settings(max_examples=15, deadline=None)
@given(added=st.text(alphabet=LETTERS + "<|>_", min_size=3, max_size=12),
       special=st.booleans())  # fmt: skip
def test_any_change_to_the_indexed_tokenizers_vocabulary_is_refused(tokenizer, index, added,
                                                                   special):  # fmt: skip
    # A token added (a fine-tune's special token, a merged vocabulary) changes the ids of the
    # text it covers: the index would silently miss them, so the folder is refused.
    import copy
    import tempfile

    changed = copy.deepcopy(tokenizer)
    if not changed.add_tokens([added], special_tokens=special):
        return  # already a token: nothing changed
    with tempfile.TemporaryDirectory() as folder:
        index.save(Path(folder) / INDEX_FILE)
        with pytest.raises(ModelFolderError, match="another tokenizer"):
            load_guard(folder, changed)


def test_a_missing_index_that_training_wrote_is_refused(tokenizer, tmp_path, caplog):
    (tmp_path / "catgpt.json").write_text(json.dumps({"copy_guard": {"file": INDEX_FILE, "n": 8}}))
    with pytest.raises(ModelFolderError, match=f"{INDEX_FILE}, but it is missing") as error:
        load_guard(tmp_path, tokenizer)
    assert error.value.where == str(tmp_path / INDEX_FILE)
    # A folder training did not index (a foreign one) is still served, with one INFO line.
    (tmp_path / "catgpt.json").write_text(json.dumps({"persona": {"name": "mochi"}}))
    caplog.set_level(logging.INFO, logger="catgpt.copy_guard")
    assert load_guard(tmp_path, tokenizer) is None and "copy guard is off" in caplog.text


def test_a_format_1_index_is_served_with_a_warning(tokenizer, index, tmp_path, caplog):
    old = {"format": 1, "key": index.runs.key.hex(), **index.runs.to_json()}
    (tmp_path / INDEX_FILE).write_text(json.dumps(old))
    (tmp_path / "generation_config.json").write_text(json.dumps({"do_sample": True}))
    caplog.set_level(logging.INFO, logger="catgpt.copy_guard")
    guard = load_guard(tmp_path, tokenizer)
    assert "format 1" in caplog.text and "WARNING" in [r.levelname for r in caplog.records]
    assert guard.runs(TRAINING[0]) > 0 and guard.whole(TRAINING[0]) == 0


# --- the reply budget -----------------------------------------------------------------------------


def test_a_completion_past_the_reply_budget_is_cut_before_cleaning_and_the_guard(tokenizer, index):
    seen: list[int] = []
    guard = guard_of(index, tokenizer)
    guard.encode = lambda text: seen.append(len(text)) or token_ids(tokenizer, text)
    backend = ScriptedBackend("meow " * 200_000)
    chatty = replier(tokenizer, backend, guard)
    reply = chatty.replies([chat()])[0]
    assert reply.finish == "length" and len(reply.text) <= chatty.reply_chars < 1_000_000
    assert seen and max(seen) <= chatty.reply_chars
    # What max_new_tokens tokens can write is never cut.
    words = " ".join(["purr"] * backend.max_new_tokens)
    assert replier(tokenizer, ScriptedBackend(words)).replies([chat()])[0].text == words


@settings(max_examples=40, deadline=None)
@given(text=st.text(alphabet="meow purr \n", max_size=3000), budget=st.integers(1, 40))
def test_no_completion_is_cleaned_or_guarded_past_the_reply_budget(tokenizer, index, text, budget):
    # Whatever a server sends, the cleaning and the guard read at most what max_new_tokens
    # tokens can decode to; a completion within that is never cut.
    seen: list[int] = []
    guard = guard_of(index, tokenizer)
    guard.encode = lambda reply: seen.append(len(reply)) or token_ids(tokenizer, reply)
    backend = ScriptedBackend(text)
    backend.max_new_tokens = budget
    chatty = replier(tokenizer, backend, guard)
    reply = chatty.replies([chat()])[0]
    assert len(reply.text) <= chatty.reply_chars and max(seen, default=0) <= chatty.reply_chars
    assert (reply.finish == "length") == (len(text) > chatty.reply_chars)


# --- one reply path, whoever calls the backend ------------------------------------------------


class AsyncScriptedBackend(ScriptedBackend):
    """The same script, awaited (as a server's RemoteBackend is)."""

    async def acomplete(self, prompts, *, should_stop=None, seed=None):
        await asyncio.sleep(0)
        return self.complete(prompts, should_stop=should_stop, seed=seed)


@settings(max_examples=40, deadline=None)
@given(st.data())
def test_replies_and_areplies_take_the_same_steps(tokenizer, index, data):
    # The guard's draws again are one sequence of steps (Replier._steps) for a local backend's
    # batches and a server's awaited requests: same replies, same batches asked.
    texts = [*TRAINING, FRESH, "so anyway", " ".join(TRAINING[0].split()[:8])]
    chats = [chat(str(i)) for i in range(data.draw(st.integers(1, 3)))]
    script = data.draw(st.lists(st.sampled_from(texts), min_size=4 * len(chats),
                                max_size=4 * len(chats)))  # fmt: skip
    sync, awaited = ScriptedBackend(*script), AsyncScriptedBackend(*script)
    guard = guard_of(index, tokenizer)
    one = replier(tokenizer, sync, guard).replies(chats)
    two = asyncio.run(replier(tokenizer, awaited, guard).areplies(chats))
    untimed = [[replace(r, guard_seconds=0.0) for r in replies] for replies in (one, two)]
    assert untimed[0] == untimed[1] and sync.batches == awaited.batches
