"""What `catgpt-train eval` measures.

1. Val loss and perplexity on persona tokens (the same labels training uses), for the fine-tuned
   model and for its base on the same tokens: the fine-tune must lower it.
2. Replies sampled for val contexts with the model's own generation_config.json, through the
   bot's reply path (catgpt.reply: the same prompt bounds, stop at another speaker's label,
   reply cleaning), so they are the replies users would get:
   - the share that end with eos before max_new_tokens (the model learnt to end its turn),
     and the share cut where the model began another speaker's turn instead;
   - the exact-copy rate: replies that contain a whole training reply of 20+ characters,
     normalised as the copy guard normalises (case, spacing, invisible characters);
   - the share of replies sharing a span of 8+ tokens with some training reply;
   - the same span share for the real held-out val replies: the baseline, since people repeat
     themselves too. A model far above its baseline is reciting, not imitating.
3. With the folder's copy guard (catgpt.copy_guard) off and on: the same figures (the exact
   copies are what the guard's whole-reply index covers), the share sharing a run of the
   guard's n tokens with a training reply (and its val baseline), the share the guard drew
   again, and the seconds per reply.

Both copy measures count with the guard's own indexes (catgpt.copy_guard: NgramIndex over
reply_sequences, ReplyIndex), so eval counts what the guard would find, no more, no less.
"""

from __future__ import annotations

import logging
import math
import random
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

import torch
import torch.nn.functional as F

from catgpt.copy_guard import NgramIndex, ReplyIndex, reply_sequences, token_ids
from catgpt.reply import Replier
from training.model.collate import PadCollator
from training.model.features import IGNORE_INDEX

log = logging.getLogger(__name__)

SPAN_TOKENS = 8


@torch.no_grad()
def persona_loss(model, features: list[dict], pad_token_id: int, batch_size: int = 8):
    """Mean cross-entropy per labelled (persona) token over `features`: (loss, tokens).

    Token-weighted, unlike the Trainer's per-batch mean, so it is the true perplexity basis.
    """
    model.eval()
    device = next(model.parameters()).device
    collate = PadCollator(pad_token_id)
    # Sorting by length keeps padding (wasted compute, never in the loss) low.
    ordered = sorted(features, key=lambda f: len(f["input_ids"]))
    total, count = 0.0, 0
    for i in range(0, len(ordered), batch_size):
        batch = {k: v.to(device) for k, v in collate(ordered[i : i + batch_size]).items()}
        logits = model(input_ids=batch["input_ids"], attention_mask=batch["attention_mask"]).logits
        # Position t predicts token t+1: (B, T-1, V) against (B, T-1).
        logits, labels = logits[:, :-1].float(), batch["labels"][:, 1:]
        total += F.cross_entropy(
            logits.reshape(-1, logits.shape[-1]),
            labels.reshape(-1),
            ignore_index=IGNORE_INDEX,
            reduction="sum",
        ).item()
        count += int((labels != IGNORE_INDEX).sum())
    if count == 0:
        return math.nan, 0
    return total / count, count


def perplexity(loss: float) -> float:
    return math.exp(loss) if loss == loss and loss < 50 else math.inf


@dataclass
class Sample:
    context: list[dict]  # the messages before the persona's turn
    reply: str  # what the model wrote (special tokens removed)
    reference: str  # what the persona really wrote
    ended: bool  # an eos came before max_new_tokens
    at_label: bool = False  # cut where the model began another speaker's turn
    seconds: float = 0.0  # the wall time of the batch it came in: what its asker waited
    candidates: int = 1  # replies drawn for it (more when the copy guard drew again)
    unguarded: Sample | None = None  # with the copy guard on: what the guard off would send


def pick_contexts(examples: list[dict], n: int, seed: int) -> list[dict]:
    """n val examples that have some context, chosen reproducibly (same seed, same contexts)."""
    usable = [e for e in examples if split_target(e)[0]]  # a reply to nothing is no test
    rng = random.Random(seed)
    return usable if len(usable) <= n else rng.sample(usable, n)


def more_contexts(examples: list[dict], chosen: list[dict], n: int, seed: int) -> list[dict]:
    """`chosen` (pick_contexts' choice) and then other usable examples, n in all at most (or
    `chosen` alone when it has n already): the likeness figures take every val context up to
    their cap, and the replies already sampled for `chosen` are not sampled again."""
    taken = {id(e) for e in chosen}
    rest = [e for e in examples if split_target(e)[0] and id(e) not in taken]
    random.Random(seed).shuffle(rest)
    return [*chosen, *rest[: max(0, n - len(chosen))]]


def split_target(example: dict) -> tuple[list[dict], str]:
    """(context messages, the persona's target reply): the last assistant turn is the target."""
    messages = example["messages"]
    last = max(i for i, m in enumerate(messages) if m["role"] == "assistant")
    return messages[:last], messages[last]["content"]


def sample_replies(
    replier: Replier, examples: list[dict], batch_size: int = 8, seed: int = 0,
    label: str | None = None,
) -> list[Sample]:
    """One reply per example's context, through the bot's reply path (catgpt.reply).

    So the prompt is bounded and cut as the bot's is, a reply stops at another speaker's label
    and is cleaned as users would get it: what is measured is what is served. Batches are
    seeded (seed + batch number), so the same seed gives the same replies.

    With the replier's copy guard on, each sample also carries what the guard off would have
    sent (`unguarded`): the guard's first draw is the unguarded path's draw, same prompts, same
    seed, and its seconds are the batch's less what the guard added. One pass, so both sides
    are timed in the same call: two passes would differ by more than the guard costs (a CPU
    runs a batch shape faster the second time, and a shared machine's load moves).

    label: names the replies in a progress line logged after each batch (eval samples hundreds
    of replies on a CPU for minutes; off a terminal a log line is all anyone sees), in the
    style of training's step lines: `fine-tuned replies: batch 2 of 25 (16 of 200, 34 s)`.
    """
    samples = []
    batches, started_all = math.ceil(len(examples) / batch_size), time.perf_counter()
    for number, start in enumerate(range(0, len(examples), batch_size)):
        chunk = [split_target(e) for e in examples[start : start + batch_size]]
        started = time.perf_counter()
        replies = replier.replies([context for context, _ in chunk], seed=seed + number)
        seconds = time.perf_counter() - started
        for (context, reference), reply in zip(chunk, replies, strict=True):
            sample = as_sample(context, reference, reply, seconds)
            if replier.guard is not None:
                first = reply.first or replace(reply, candidates=1)
                sample.unguarded = as_sample(context, reference, first,
                                             seconds - reply.guard_seconds)  # fmt: skip
            samples.append(sample)
        if label:
            log.info("%s: batch %d of %d (%d of %d, %.0f s)", label, number + 1, batches,
                     len(samples), len(examples), time.perf_counter() - started_all)  # fmt: skip
    return samples


def as_sample(context: list[dict], reference: str, reply, seconds: float) -> Sample:
    ended, at_label = reply.finish == "eos", reply.finish == "label"
    return Sample(context, reply.text, reference, ended, at_label, seconds, reply.candidates)


@dataclass(frozen=True)
class TrainingIndex:
    """The training replies indexed as the copy guard indexes them, for eval's copy measures."""

    whole: ReplyIndex  # replies of copy_guard.WHOLE_MIN_CHARS or more, normalised
    spans: dict[int, NgramIndex]  # n -> the runs of n tokens (each reply alone and after a space)
    encode: Callable[[str], Sequence[int]]

    @classmethod
    def build(cls, tokenizer, replies: list[str], lengths=(SPAN_TOKENS,)) -> TrainingIndex:
        sequences = reply_sequences(tokenizer, replies)
        return cls(
            ReplyIndex.build(replies),
            {n: NgramIndex.build(sequences, n) for n in lengths},
            lambda text: token_ids(tokenizer, text),
        )

    def is_exact_copy(self, text: str) -> bool:
        return self.whole.found(text) > 0

    def shares_span(self, text: str, n: int = SPAN_TOKENS) -> bool:
        return self.spans[n].hits(self.encode(text)) > 0


def share(flags: list[bool]) -> float | None:
    return round(sum(flags) / len(flags), 4) if flags else None


def copy_figures(tokenizer, samples: list[Sample], train: list[dict], val: list[dict],
                 index: TrainingIndex | None = None) -> dict:  # fmt: skip
    """The sampling figures of the table, as shares in [0, 1].

    index: the training replies already indexed (eval builds one for both copy measures).
    """
    index = index or TrainingIndex.build(tokenizer, [split_target(e)[1] for e in train])
    val_replies = [split_target(e)[1] for e in val]
    return {
        "samples": len(samples),
        "ended_with_eos": share([s.ended for s in samples]),
        "stopped_at_label": share([s.at_label for s in samples]),
        "exact_copy_rate": share([index.is_exact_copy(s.reply) for s in samples]),
        "span8_share": share([index.shares_span(s.reply) for s in samples]),
        "span8_share_val_baseline": share([index.shares_span(r) for r in val_replies]),
        "exact_copy_rate_val_baseline": share([index.is_exact_copy(r) for r in val_replies]),
        **latency(samples),
    }


def latency(samples: list[Sample]) -> dict:
    """Seconds per reply (its batch's wall time): mean and 90th percentile (nearest rank)."""
    seconds = sorted(s.seconds for s in samples)
    if not seconds:
        return {"seconds_per_reply_mean": None, "seconds_per_reply_p90": None}
    return {
        "seconds_per_reply_mean": round(sum(seconds) / len(seconds), 3),
        "seconds_per_reply_p90": round(seconds[math.ceil(0.9 * len(seconds)) - 1], 3),
    }


def guard_figures(tokenizer, off: list[Sample], on: list[Sample], n: int, train: list[dict],
                  val: list[dict], index: TrainingIndex | None = None) -> dict:  # fmt: skip
    """The copy figures with the copy guard off and on, and the real val replies' baseline.

    `off` and `on` answer the same contexts with the same seeds (`off` is `on`'s unguarded
    side, sample_replies): what differs is what the guard did.
    """
    if index is None or n not in index.spans:
        index = TrainingIndex.build(tokenizer, [split_target(e)[1] for e in train],
                                    (SPAN_TOKENS, n))
    val_replies = [split_target(e)[1] for e in val]

    def side(samples: list[Sample]) -> dict:
        return {
            "ended_with_eos": share([s.ended for s in samples]),
            "exact_copy_rate": share([index.is_exact_copy(s.reply) for s in samples]),
            "span8_share": share([index.shares_span(s.reply) for s in samples]),
            "long_span_share": share([index.shares_span(s.reply, n) for s in samples]),
            **latency(samples),
        }

    return {
        "n": n,
        "off": side(off),
        "on": {
            **side(on),
            "resampled": share([s.candidates > 1 for s in on]),
            "candidates_mean": round(sum(s.candidates for s in on) / len(on), 3) if on else None,
        },
        "whole_replies": len(index.whole),  # training replies the exact-copy rows can find
        "val_baseline": {
            "exact_copy_rate": share([index.is_exact_copy(r) for r in val_replies]),
            "span8_share": share([index.shares_span(r) for r in val_replies]),
            "long_span_share": share([index.shares_span(r, n) for r in val_replies]),
        },
    }
