"""Labels come from the template's assistant mask: the target reply and its eos, nothing else."""

import pytest

from training.model.bases import train_tiny_tokenizer
from training.model.chat_template import install_chat_template
from training.model.collate import PadCollator
from training.model.features import IGNORE_INDEX, EncodeReport, encode_example, left_cut

CONVERSATION = [
    {"role": "user", "name": "alice", "content": "anyone up?"},
    {"role": "assistant", "content": "nya~ earlier reply"},
    {"role": "user", "name": "bob", "content": "what are you doing"},
    {"role": "assistant", "content": "mrrp napping"},
]


@pytest.fixture(scope="module")
def tokenizer():
    texts = [m["content"] for m in CONVERSATION] + ["alice", "bob", "mochi"]
    tokenizer = train_tiny_tokenizer(texts * 5, vocab_size=300)
    install_chat_template(tokenizer, "mochi")
    return tokenizer


def labelled_text(tokenizer, feature) -> str:
    ids = [t for t in feature["labels"] if t != IGNORE_INDEX]
    return tokenizer.decode(ids)


def test_only_the_target_reply_and_its_eos_are_labelled(tokenizer):
    feature = encode_example(tokenizer, CONVERSATION, 512, EncodeReport())
    assert len(feature["input_ids"]) == len(feature["labels"])
    assert labelled_text(tokenizer, feature) == " mrrp napping" + tokenizer.eos_token
    # The eos closing the reply is the last token and carries a label.
    assert feature["labels"][-1] == tokenizer.eos_token_id
    # Labelled positions are one contiguous run at the end, equal to the input there.
    first = next(i for i, t in enumerate(feature["labels"]) if t != IGNORE_INDEX)
    assert feature["labels"][first:] == feature["input_ids"][first:]
    assert all(t == IGNORE_INDEX for t in feature["labels"][:first])
    # The speaker label "mochi:" right before the reply is context, not target.
    assert tokenizer.decode(feature["input_ids"][:first]).endswith("mochi:")


def test_earlier_persona_turns_are_context(tokenizer):
    feature = encode_example(tokenizer, CONVERSATION, 512, EncodeReport())
    assert "earlier" not in labelled_text(tokenizer, feature)
    assert "earlier" in tokenizer.decode(feature["input_ids"])


def test_left_truncation_keeps_the_target_whole_and_starts_on_a_turn(tokenizer):
    full = encode_example(tokenizer, CONVERSATION, 512, EncodeReport())
    target = labelled_text(tokenizer, full)
    report = EncodeReport()
    limit = len(full["input_ids"]) - 3  # a little too long
    cut = encode_example(tokenizer, CONVERSATION, limit, report)
    assert len(cut["input_ids"]) <= limit
    assert report.truncated == 1
    assert labelled_text(tokenizer, cut) == target
    assert cut["input_ids"] == full["input_ids"][-len(cut["input_ids"]) :]
    # The window opens on a speaker label (after an eos), not mid-turn.
    assert tokenizer.decode(cut["input_ids"]).startswith(("mochi:", "bob:"))


def test_a_target_longer_than_the_window_is_dropped(tokenizer):
    report = EncodeReport()
    assert encode_example(tokenizer, CONVERSATION, 4, report) is None
    assert report.too_long == 1 and report.examples == 0


def test_no_persona_turn_is_dropped(tokenizer):
    report = EncodeReport()
    assert encode_example(tokenizer, CONVERSATION[:1], 512, report) is None
    assert report.no_target == 1


def test_left_cut_prefers_a_turn_boundary():
    eos = 0
    ids = [5, 5, 0, 6, 6, 0, 7, 7, 7, 0]  # three turns, the target starts at 6
    assert left_cut(ids, eos, turn_start=6, max_length=10) == 0
    assert left_cut(ids, eos, turn_start=6, max_length=8) == 3  # boundary after the first eos
    assert left_cut(ids, eos, turn_start=6, max_length=5) == 6
    assert left_cut(ids, eos, turn_start=6, max_length=3) is None


def test_padding_is_never_in_the_loss():
    collate = PadCollator(pad_token_id=1)
    batch = collate(
        [
            {"input_ids": [4, 5, 6], "labels": [-100, 5, 6]},
            {"input_ids": [7], "labels": [7]},
        ]
    )
    assert batch["input_ids"].tolist() == [[4, 5, 6], [7, 1, 1]]
    assert batch["labels"].tolist() == [[-100, 5, 6], [7, -100, -100]]
    assert batch["attention_mask"].tolist() == [[1, 1, 1], [1, 0, 0]]
    rounded = PadCollator(pad_token_id=1, pad_to_multiple_of=8)([{"input_ids": [4], "labels": [4]}])
    assert rounded["input_ids"].shape == (1, 8)
