"""`eval`: the loss figures against the base, and the copying measures."""

import json
import shutil

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from catgpt.folder import PersonaCard
from catgpt.prompt import PromptBuilder
from catgpt.reply import Completion, Replier
from training.cli import main
from training.model.bases import train_tiny_tokenizer
from training.model.chat_template import install_chat_template
from training.model.measures import (
    Sample,
    TrainingIndex,
    copy_figures,
    guard_figures,
    pick_contexts,
    sample_replies,
)


@pytest.fixture(scope="module")
def tokenizer():
    # Trained on the words below, so each word is about one token.
    words = "one two three four five six seven eight nine ten the red dot is back again"
    return train_tiny_tokenizer([words, "nya~ feed me"] * 20, 400)


def example(reply: str, context: str = "hi") -> dict:
    return {"messages": [{"role": "user", "name": "bob", "content": context},
                         {"role": "assistant", "content": reply}]}  # fmt: skip


def test_exact_copy_needs_a_whole_training_reply_of_20_chars(tokenizer):
    index = TrainingIndex.build(tokenizer, ["mrrp the red dot is back again", "nya~ no"])
    assert index.is_exact_copy("mrrp the red dot is back again")
    assert index.is_exact_copy("lol mrrp the red dot is back again!!")
    assert index.is_exact_copy("MRRP  the red dot is back\u200b again")  # as the guard sees it
    assert not index.is_exact_copy("the red dot is back")  # only part of it
    assert not index.is_exact_copy("nya~ no")  # shorter than 20 characters: not counted


def test_span_share_counts_8_token_overlaps(tokenizer):
    reply = "one two three four five six seven eight nine ten"
    index = TrainingIndex.build(tokenizer, [reply])
    assert index.shares_span("so " + reply)
    # A reply of exactly 8 tokens quoted after other words: its first token is written another
    # way after a space, so only the guard's indexing (alone and after a space) finds it.
    eight = "two three four five six seven eight nine"
    assert TrainingIndex.build(tokenizer, [eight]).shares_span("so " + eight)
    assert not index.shares_span("one two three")
    assert not index.shares_span("completely different words in this reply here now")



WORDS = "one two three four five six seven eight nine ten the red dot is back again nya~".split()
phrase = st.lists(st.sampled_from(WORDS), min_size=1, max_size=12).map(" ".join)


@settings(max_examples=40, deadline=None)
@given(replies=st.lists(phrase, min_size=1, max_size=4), quoted=st.integers(0, 3),
       before=st.sampled_from(["", "so ", "lol, "]), after=st.sampled_from(["", " !!", " ok"]),
       n=st.integers(4, 8))  # fmt: skip
def test_eval_counts_what_the_guard_finds(tokenizer, replies, quoted, before, after, n):
    # One n-gram index and one whole-reply index for both: eval's copy measures can neither
    # miss what the guard draws again for (the leading-space runs once were) nor add to it.
    from catgpt.copy_guard import CopyGuard, CopyIndex, token_ids

    text = before + replies[quoted % len(replies)] + after
    guard = CopyGuard(CopyIndex.build(tokenizer, replies, n), lambda t: token_ids(tokenizer, t))
    index = TrainingIndex.build(tokenizer, replies, (n,))
    assert index.shares_span(text, n) == (guard.runs(text) > 0)
    assert index.is_exact_copy(text) == (guard.whole(text) > 0)


def test_copy_figures_against_the_val_baseline(tokenizer):
    train = [example("mrrp the red dot is back again"), example("nya~ feed me please human")]
    val = [example("mrrp the red dot is back again"), example("something new entirely, really")]
    samples = [
        Sample([], "mrrp the red dot is back again", "", ended=True),
        Sample([], "zzz", "", ended=False),
    ]
    figures = copy_figures(tokenizer, samples, train, val)
    assert figures["samples"] == 2
    assert figures["ended_with_eos"] == 0.5
    assert figures["exact_copy_rate"] == 0.5
    assert figures["span8_share"] == 0.5
    assert figures["span8_share_val_baseline"] == 0.5


def test_guard_figures_off_and_on_beside_the_val_baseline(tokenizer):
    recital = "one two three four five six seven eight nine ten"
    train = [example(recital), example("nya~ feed me")]
    val = [example("the red dot is back again"), example("one two three four five six")]
    off = [Sample([], recital, "", True, seconds=2.0), Sample([], "nya~", "", True, seconds=2.0)]
    on = [Sample([], "the red dot", "", True, seconds=3.0, candidates=2),
          Sample([], "nya~", "", True, seconds=3.0)]  # fmt: skip
    figures = guard_figures(tokenizer, off, on, 9, train, val)
    assert figures["n"] == 9
    assert figures["off"]["exact_copy_rate"] == 0.5 and figures["off"]["long_span_share"] == 0.5
    assert figures["on"]["exact_copy_rate"] == 0.0 and figures["on"]["long_span_share"] == 0.0
    assert figures["on"]["resampled"] == 0.5 and figures["on"]["candidates_mean"] == 1.5
    assert figures["off"]["seconds_per_reply_mean"] == 2.0
    assert figures["on"]["seconds_per_reply_p90"] == 3.0
    # The real val replies: one shares 6 tokens with training (a habit), none shares 9.
    assert figures["val_baseline"]["long_span_share"] == 0.0
    assert figures["val_baseline"]["exact_copy_rate"] == 0.0


class ScriptedBackend:
    """Writes what it is told: shows what eval's sampling does with a model's raw output."""

    max_new_tokens = 16

    def __init__(self, texts):
        self.texts = list(texts)
        self.prompts, self.seeds = [], []

    def complete(self, prompts, *, should_stop=None, seed=None):
        self.prompts += prompts
        self.seeds.append(seed)
        return [Completion(self.texts.pop(0), "eos") for _ in prompts]


def test_eval_samples_through_the_bots_reply_path():
    tokenizer = train_tiny_tokenizer(["hi bob alice mochi nya"] * 20, 300)
    install_chat_template(tokenizer, "mochi")
    card = PersonaCard("mochi", max_length=40, context_turns=2)
    backend = ScriptedBackend([" mochi: nya~ @everyone bob: and you?", " purr", " \u200b"])
    prompts = PromptBuilder(tokenizer, persona_names=card.names, max_tokens=24, max_turns=2)
    long = {"messages": [{"role": "user", "name": n, "content": "hi hi"}
                         for n in ("alice", "bob", "alice", "bob")]
            + [{"role": "assistant", "content": "nya"}]}  # fmt: skip
    samples = sample_replies(Replier(prompts, backend, card), [long, example("a"), example("b")],
                             batch_size=2, seed=7)  # fmt: skip
    # Cut where the model began bob's turn, name prefix stripped, the ping defused: as served.
    assert samples[0].reply == "nya~ @\u200beveryone" and samples[0].at_label
    assert not samples[0].ended and samples[1].ended and samples[1].reply == "purr"
    assert samples[2].reply == ""  # nothing visible: the bot would send its fallback line
    # The prompt was bounded like the bot's: 2 turns of context, 24 tokens at most.
    assert tokenizer.decode(backend.prompts[0].ids) == (
        "alice: hi hi<|endoftext|>bob: hi hi<|endoftext|>mochi:"
    )
    assert backend.seeds == [7, 8]  # one seed per batch: the same seed, the same replies


def test_contexts_are_reproducible_and_never_empty():
    rows = [example(f"reply {i}") for i in range(20)]
    rows.append({"messages": [{"role": "assistant", "content": "no context"}]})
    first, again = pick_contexts(rows, 5, seed=1), pick_contexts(rows, 5, seed=1)
    assert first == again and len(first) == 5
    assert all(len(r["messages"]) > 1 for r in pick_contexts(rows, 50, seed=1))


def test_eval_command_prints_and_records(trained_tiny, capsys):
    assert main(["eval", str(trained_tiny), "--eval-samples", "4", "--show", "2"]) == 0
    out = capsys.readouterr().out
    assert "val loss (" in out and "base (tiny)" in out
    assert "8-token span" in out and "->" in out
    figures = json.loads((trained_tiny / "catgpt.json").read_text())["evaluation"]
    assert figures["samples"] == 4
    # A few epochs already beat the untrained tiny init on persona tokens.
    assert figures["val_loss"] < figures["base_val_loss"]
    for key in ("ended_with_eos", "stopped_at_label", "exact_copy_rate", "span8_share",
                "span8_share_val_baseline"):  # fmt: skip
        assert 0.0 <= figures[key] <= 1.0
    assert "## Evaluation" in (trained_tiny / "README.md").read_text()
    # The copy guard: the same figures with it off and on, beside the real val replies.
    guard = figures["copy_guard"]
    assert guard["n"] == json.loads((trained_tiny / "catgpt.json").read_text())["copy_guard"]["n"]
    for side in (guard["off"], guard["on"], guard["val_baseline"]):
        for key in ("exact_copy_rate", "span8_share", "long_span_share"):
            assert 0.0 <= side[key] <= 1.0
    for side in (guard["off"], guard["on"]):
        assert 0 < side["seconds_per_reply_mean"] <= side["seconds_per_reply_p90"]
    assert 0.0 <= guard["on"]["resampled"] <= 1.0 and guard["on"]["candidates_mean"] >= 1
    # What the bot serves by default (the guard on) is what the main figures describe.
    assert figures["exact_copy_rate"] == guard["on"]["exact_copy_rate"]
    assert guard["n"] == 8 or f"share with a span of {guard['n']} tokens" in out
    assert "guard on" in out
    assert "guard on" in (trained_tiny / "README.md").read_text()


def test_eval_needs_a_model_folder(tmp_path, capsys):
    assert main(["eval", str(tmp_path)]) == 1
    assert "no config.json" in capsys.readouterr().err


def test_eval_of_a_folder_not_written_by_train(dataset, tmp_path, capsys):
    from training.model.bases import build_tiny
    from training.model.chat_template import install_chat_template

    base = build_tiny(["nya~ hello", "alice: hi"] * 5, seed=0)
    install_chat_template(base.tokenizer, "mochi")
    folder = tmp_path / "foreign"
    base.model.save_pretrained(folder)
    base.tokenizer.save_pretrained(folder)
    (folder / "README.md").write_text("someone else's card")
    assert main(["eval", str(folder), "--data", str(dataset), "--eval-samples", "2"]) == 0
    assert "n/a" in capsys.readouterr().out  # no base to compare with
    assert (folder / "README.md").read_text() == "someone else's card"
    assert json.loads((folder / "catgpt.json").read_text())["evaluation"]["samples"] == 2


@pytest.mark.parametrize("name", ["tiny", "smollm2"])
def test_eval_loads_a_folder_named_like_an_offline_base(trained_tiny, tmp_path, monkeypatch,
                                                        capsys, name):
    # `eval tiny` with a model folder called tiny must read that folder, not build the base.
    shutil.copytree(trained_tiny, tmp_path / name)
    monkeypatch.chdir(tmp_path)
    data = trained_tiny.parent / "dataset"
    assert main(["eval", name, "--data", str(data), "--eval-samples", "0", "--no-base"]) == 0
    figures = json.loads((tmp_path / name / "catgpt.json").read_text())["evaluation"]
    # The same figure as the same folder under a neutral name: its own weights were measured.
    shutil.copytree(trained_tiny, tmp_path / "control")
    assert main(["eval", "control", "--data", str(data), "--eval-samples", "0", "--no-base"]) == 0
    control = json.loads((tmp_path / "control" / "catgpt.json").read_text())["evaluation"]
    assert figures["val_loss"] == control["val_loss"]


def test_eval_on_a_missing_folder_says_so(tmp_path, capsys):
    assert main(["eval", str(tmp_path / "nope")]) == 1
    assert f"{tmp_path / 'nope'}: no such model folder" in capsys.readouterr().err


# --- the prompted base and the style section ----------------------------------------------


def test_shots_are_answered_turns_and_replies_from_train_picked_by_seed():
    from training.model.few_shot import other_speakers, pick_shots, with_prefix

    train = [example(f"reply {i}", context=f"hi {i}") for i in range(30)]
    train.append(example("x" * 500))  # too long to show as an example
    train.append({"messages": [{"role": "assistant", "content": "to nobody"}]})
    shots = pick_shots(train, 4, seed=3)
    assert shots == pick_shots(train, 4, seed=3) != pick_shots(train, 4, seed=4)
    assert [m["role"] for m in shots] == ["user", "assistant"] * 4
    pairs = {(q["content"], a["content"]) for q, a in zip(shots[::2], shots[1::2], strict=True)}
    assert pairs <= {(f"hi {i}", f"reply {i}") for i in range(30)}  # as said in train
    assert pick_shots(train, 0, seed=3) == []
    prefixed = with_prefix([example("target")], shots)
    assert prefixed[0]["messages"][:8] == shots
    assert prefixed[0]["messages"][-1] == {"role": "assistant", "content": "target"}
    assert other_speakers([example("a", "same"), example("b", "same")]) == ["same"]


def test_eval_records_the_style_section_and_the_prompted_base(trained_tiny, capsys, caplog):
    caplog.set_level("WARNING")
    assert main(["eval", str(trained_tiny), "--eval-samples", "6", "--few-shot", "3"]) == 0
    out = capsys.readouterr().out
    assert "prompted base" in out and "style distance (0 = as the real replies)" in out
    figures = json.loads((trained_tiny / "catgpt.json").read_text())["evaluation"]
    assert figures["few_shot"] == 3
    assert figures["prompted_base_val_loss"] > 0 and figures["prompted_base_val_perplexity"] > 1
    assert "persona tokens" not in caplog.text  # measured on the same tokens as the others
    section = figures["style"]
    assert section["replies"] == 6
    assert list(section["markers"]) == ["real", "fine_tuned", "base", "prompted_base"]
    assert section["distance"]["real"] == 0.0
    for side in ("fine_tuned", "base", "prompted_base"):
        assert 0.0 <= section["distance"][side] <= 1.0
    card = (trained_tiny / "README.md").read_text()
    assert "| style of the replies (6 val contexts) | real | fine-tuned | base | prompted base |" \
        in card  # fmt: skip
    assert "![Style markers of real and sampled replies](style.png)" in card


def test_without_the_base_the_style_table_has_two_columns(trained_tiny, tmp_path, capsys):
    folder = tmp_path / "model"
    shutil.copytree(trained_tiny, folder)
    data = trained_tiny.parent / "dataset"
    assert main(["eval", str(folder), "--data", str(data), "--eval-samples", "3",
                 "--no-base"]) == 0  # fmt: skip
    figures = json.loads((folder / "catgpt.json").read_text())["evaluation"]
    assert list(figures["style"]["markers"]) == ["real", "fine_tuned"]
    assert figures["few_shot"] == 0 and figures["prompted_base_val_loss"] is None
    # Without samples there is no style: the last eval's picture goes, and the card says none.
    assert main(["eval", str(folder), "--data", str(data), "--eval-samples", "0",
                 "--no-base"]) == 0  # fmt: skip
    assert not (folder / "style.png").exists()
    assert "style.png" not in (folder / "README.md").read_text()


# --- a model overfit to recite: the guard's effect, measured as eval measures it ---------------

SECRETS = ["my pin is four four two one", "the spare key is under the blue pot",
           "i told nobody about the dentist bill"]  # fmt: skip
SHORT = ["nya", "mrrp", "purr", "meow"]


def overfit_reciter(steps: int = 150):
    """A tiny GPT-2 trained on the fly until it recites: after any context it writes one of the
    SECRETS word for word about a third of the time, a short cat noise otherwise."""
    import torch

    from training.model.bases import tiny_config, tiny_init

    chats = [[{"role": "user", "name": "bob", "content": f"hi {i}"},
              {"role": "assistant", "content": reply}]
             for i in range(6) for reply in [*SECRETS, *SHORT[:2], *SHORT[2:]]]  # fmt: skip
    tokenizer = train_tiny_tokenizer([*SECRETS, *SHORT, "bob: hi 0 1 2 3 4 5 mochi:"] * 20, 400)
    install_chat_template(tokenizer, "mochi")
    model = tiny_init(tiny_config(tokenizer, n_layer=1, n_embd=48, n_positions=128), seed=0)
    rows = [tokenizer.apply_chat_template(c, tokenize=True) for c in chats]
    rows = [r if isinstance(r, list) else r["input_ids"] for r in rows]
    width = max(map(len, rows))
    ids = torch.tensor([r + [tokenizer.pad_token_id] * (width - len(r)) for r in rows])
    labels = ids.masked_fill(ids == tokenizer.pad_token_id, -100)
    optimiser = torch.optim.AdamW(model.parameters(), lr=3e-3)
    torch.manual_seed(0)
    model.train()
    for _ in range(steps):
        loss = model(input_ids=ids, attention_mask=(labels != -100).long(), labels=labels).loss
        loss.backward()
        optimiser.step()
        optimiser.zero_grad()
    model.generation_config.update(do_sample=True, temperature=1.0, top_k=0, max_new_tokens=40)
    return model, tokenizer


def test_a_model_that_recites_copies_less_with_the_guard_on():
    from catgpt.copy_guard import CopyGuard, CopyIndex, token_ids
    from catgpt.local_backend import local_replier

    model, tokenizer = overfit_reciter()
    replies = [*SECRETS, *SHORT]
    # n at the ceiling: every secret is shorter than 16 tokens, so only whole replies catch it.
    index = CopyIndex.build(tokenizer, replies, 16)
    guard = CopyGuard(index, lambda text: token_ids(tokenizer, text), retries=3)
    replier = local_replier(model, tokenizer, PersonaCard("mochi"), guard=guard)
    contexts = [example("", context=f"hi {i % 6}") for i in range(24)]
    on = sample_replies(replier, contexts, batch_size=8, seed=0)
    off = [sample.unguarded for sample in on]
    figures = guard_figures(tokenizer, off, on, 16, [example(r) for r in replies],
                            [example("nya")])  # fmt: skip
    # The model recites (a share of the secrets as the training data has it)...
    assert figures["off"]["exact_copy_rate"] >= 0.15
    assert any(s.reply in SECRETS for s in off)
    # ... and the guard sends strictly fewer copies: it drew again for them.
    assert figures["on"]["exact_copy_rate"] < figures["off"]["exact_copy_rate"]
    assert figures["on"]["resampled"] > 0 and figures["whole_replies"] == len(SECRETS)
