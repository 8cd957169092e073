"""Copy guard benchmark: reply latency and copy shares with the guard off and on, one model.

    .venv/bin/python bench/copy_guard.py models/demo     # 32 val contexts, one at a time
    .venv/bin/python bench/copy_guard.py MODEL --data DIR --samples 64 --batch-size 8
    .venv/bin/python bench/copy_guard.py models/demo --n 8   # a shorter run: the guard fires more
    .venv/bin/python bench/copy_guard.py models/demo --huge-mb 10  # a server ignoring max_tokens

MODEL is a folder `catgpt-train train` (or `run`, or `make demo`) wrote, with its copy_index.json;
the contexts are its val split (MODEL/private/dataset, else the dataset it was trained on, else
--data). The reply path is the bot's (catgpt.local_backend.load_replier). The guard off sends the
first draw; the guard on draws again, up to 3 times, for the replies that share a run of the
folder's n tokens with a training reply, and sends the least copying one. So the guard's first
draw *is* the unguarded reply, and both sides come from one pass (eval does the same,
training/model/measures.py's sample_replies): guard off = the first draw and its time, guard
on = what was sent and the whole call's time. Two separate passes would not compare: on this
2-core CPU the first batch of 8 demo replies took 64.9 s, and the same batch again 29.4 s (an
earlier version of this bench, alternating the sides), far more than the guard costs.

Latency: the wall time of the call a reply came in (with --batch-size 1, the default: a quiet
bot answering one mention; with more, the batch's, which its askers all wait for). Copy shares:
eval's measures (training/model/measures.py): exact copies of a training reply of 20+
characters, and replies sharing a run of the guard's n tokens with a training reply, beside the
same measures for the real held-out replies.

--huge-mb N: no generation; a backend answers every prompt with N MB of words (a server that
ignores max_tokens) and the table gives the reply path's seconds for it, guard off and on, for
ours (the completion cut to the reply budget first, catgpt.reply.Replier.finish) and before
(the whole completion cut at labels, cleaned, and its runs counted, as the reply path did
before the budget), with the ratio before / ours. Measured on a 2-core shared CPU with the demo
folder: see docs/training.md (copy guard).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import random  # noqa: E402
import time  # noqa: E402

from catgpt.copy_guard import CopyGuard, CopyIndex, load_guard  # noqa: E402
from catgpt.folder import (  # noqa: E402
    folder_max_new_tokens,
    folder_window,
    load_fast_tokenizer,
    read_card,
)
from catgpt.local_backend import load_replier  # noqa: E402
from catgpt.prompt import prompt_builder_for  # noqa: E402
from catgpt.reply import Completion, Replier  # noqa: E402
from catgpt.reply_cleaning import clean_reply, cut_at_turn, turn_pattern  # noqa: E402
from training.model.eval_step import dataset_of  # noqa: E402
from training.model.features import load_dataset  # noqa: E402
from training.model.measures import (  # noqa: E402
    guard_figures,
    pick_contexts,
    sample_replies,
    split_target,
)
from training.model.model_folder import read_catgpt  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--data", help="dataset folder (default: the model's own)")
    parser.add_argument("--samples", type=int, default=32, help="val contexts (default 32)")
    parser.add_argument("--batch-size", type=int, default=1, help="replies per call (default 1)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    parser.add_argument("--device", default="auto")
    parser.add_argument(
        "--n", type=int,
        help="index the training replies at this n instead of the folder's "
        "(to see what the guard costs when it fires more often)",
    )  # fmt: skip
    parser.add_argument("--huge-mb", type=float,
                        help="time the reply path on a completion of this many MB instead")
    parser.add_argument("--repeat", type=int, default=3, help="--huge-mb: runs per cell (best)")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    if args.huge_mb:
        return huge_completion(args)

    replier = load_replier(args.model, device=args.device, cpu_threads=args.threads)
    if replier.guard is None:
        print(f"{args.model} has no copy_index.json: train it again with catgpt-train",
              file=sys.stderr)  # fmt: skip
        return 1
    dataset = load_dataset(dataset_of(args.model, args.data, read_catgpt(args.model)))
    contexts = pick_contexts(dataset.val, args.samples, args.seed)
    if args.n:
        replies = [split_target(e)[1] for e in dataset.train]
        index = CopyIndex.build(replier.prompts.tokenizer, replies, args.n)
        replier.guard = CopyGuard(index, replier.guard.encode, replier.guard.retries)
    # One untimed reply first: the first generate of a process pays for allocations.
    replier.generate([contexts[0]["messages"][:-1]])
    on = sample_replies(replier, contexts, args.batch_size, args.seed)
    off = [sample.unguarded for sample in on]

    figures = guard_figures(replier.prompts.tokenizer, off, on, replier.guard.n, dataset.train,
                            dataset.val)  # fmt: skip
    report(figures, args, len(contexts))
    return 0


class HugeBackend:
    """Answers every prompt with the same huge text, as a server that ignores max_tokens."""

    def __init__(self, text: str, max_new_tokens: int):
        self.text, self.max_new_tokens = text, max_new_tokens

    def complete(self, prompts, *, should_stop=None, seed=None):
        return [Completion(self.text, "length") for _ in prompts]


def huge_completion(args) -> int:
    tokenizer = load_fast_tokenizer(args.model)
    card = read_card(args.model)
    guard = load_guard(args.model, tokenizer)
    if guard is None:
        print(f"{args.model} has no copy_index.json", file=sys.stderr)
        return 1
    guard.retries = 0  # one draw: the time of checking it, not of drawing again
    window = folder_window(args.model, tokenizer)
    prompts, bounds = prompt_builder_for(tokenizer, card, window=window,
                                         max_new_tokens=folder_max_new_tokens(args.model))
    words = ["nya~", "the", "red", "dot", "is", "back", "mrrp", "fish", "please", ":3", "sun"]
    rng = random.Random(0)
    text = ""
    while len(text) < args.huge_mb * 1_000_000:
        text += " ".join(rng.choice(words) for _ in range(10_000)) + " "
    chat = [{"role": "user", "name": "bob", "content": "talk to me"}]
    backend = HugeBackend(text, bounds.max_new_tokens)

    def ours(guarded: bool) -> None:
        Replier(prompts, backend, card, guard if guarded else None).replies([chat])

    def before(guarded: bool) -> None:  # the reply path without the budget, as it was
        prompt = prompts.build(chat)
        reply = clean_reply(cut_at_turn(text, turn_pattern(prompt.stop_names)), card.names)
        if guarded:
            guard.runs(reply)  # the guard then: runs only, over the whole reply

    def best(run, guarded: bool) -> float:
        times = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            run(guarded)
            times.append(time.perf_counter() - started)
        return min(times)

    cells = {(name, on): best(run, on) for name, run in (("before", before), ("ours", ours))
             for on in (False, True)}  # fmt: skip
    print(f"\n{args.model}: one completion of {len(text) / 1e6:.1f} MB, reply budget "
          f"{Replier(prompts, backend, card).reply_chars} characters "
          f"({bounds.max_new_tokens} tokens), best of {args.repeat}\n")  # fmt: skip
    print(f"{'seconds':<24}{'before':>12}{'ours':>12}{'before / ours':>16}")
    for on in (False, True):
        b, o = cells[("before", on)], cells[("ours", on)]
        print(f"{'guard ' + ('on' if on else 'off'):<24}{b:>12.4f}{o:>12.4f}{b / o:>15.0f}x")
    return 0


def report(figures: dict, args, contexts: int) -> None:
    off, on, real = figures["off"], figures["on"], figures["val_baseline"]

    def ratio(key: str) -> str:
        return f"{on[key] / off[key]:.2f}x" if off[key] else "n/a"

    def pct(value) -> str:
        return "" if value is None else f"{100 * value:.0f}%"

    print(f"\n{args.model}: {contexts} val contexts, batches of {args.batch_size}, copy guard "
          f"n = {figures['n']} tokens{' (--n)' if args.n else ''}\n")  # fmt: skip
    rows = [
        ("", "guard off", "guard on", "on / off", "real val"),
        ("seconds per reply, mean", f"{off['seconds_per_reply_mean']:.2f}",
         f"{on['seconds_per_reply_mean']:.2f}", ratio("seconds_per_reply_mean"), ""),
        ("seconds per reply, p90", f"{off['seconds_per_reply_p90']:.2f}",
         f"{on['seconds_per_reply_p90']:.2f}", ratio("seconds_per_reply_p90"), ""),
        ("exact copies of a training reply (20+ chars)", pct(off["exact_copy_rate"]),
         pct(on["exact_copy_rate"]), "", pct(real["exact_copy_rate"])),
        (f"share with a span of {figures['n']} tokens from training", pct(off["long_span_share"]),
         pct(on["long_span_share"]), "", pct(real["long_span_share"])),
        *([] if figures["n"] == 8 else [
            ("share with a span of 8 tokens (eval's measure)", pct(off["span8_share"]),
             pct(on["span8_share"]), "", pct(real["span8_share"]))]),
        ("drawn again by the guard", "", pct(on["resampled"]), "", ""),
        ("replies drawn per reply, mean", "1.00", f"{on['candidates_mean']:.2f}", "", ""),
    ]  # fmt: skip
    for row in rows:
        print(f"{row[0]:<48}" + "".join(f"{cell:>11}" for cell in row[1:]))


if __name__ == "__main__":
    sys.exit(main())
