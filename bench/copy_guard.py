"""Copy guard benchmark: reply latency and copy shares with the guard off and on, one model.

    .venv/bin/python bench/copy_guard.py models/demo     # 32 val contexts, one at a time
    .venv/bin/python bench/copy_guard.py MODEL --data DIR --samples 64 --batch-size 8

MODEL is a folder `catgpt-train train` (or `run`, or `make demo`) wrote, with its copy_index.json;
the contexts are its val split (MODEL/private/dataset, else the dataset it was trained on, else
--data). Both sides are the bot's reply path (catgpt.generator.load_replier) over the same
loaded model: the guard off sends the first draw; the guard on draws again, up to 3 times, for
the replies that share a run of the folder's n tokens with a training reply, and sends the least
copying one. Each batch is answered by both sides with the same seed (so the guard's first draw
is the unguarded reply), in alternating order so a machine that gets busier or quieter during
the run weighs on both alike.

Latency: the wall time of the batch a reply came in (with --batch-size 1, the default: a quiet
bot answering one mention). Copy shares: eval's measures (training/model/evaluation.py): exact
copies of a training reply of 20+ characters, and replies sharing a run of the guard's n tokens
with a training reply, beside the same measures for the real held-out replies.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from catgpt.generator import load_replier  # noqa: E402
from catgpt.reply import Replier  # noqa: E402
from training.model.evaluate import dataset_of  # noqa: E402
from training.model.evaluation import Sample, guard_figures, pick_contexts, split_target  # noqa: E402
from training.model.features import load_dataset  # noqa: E402
from training.model.model_folder import read_catgpt  # noqa: E402


def answer(replier: Replier, chunk: list[tuple], seed: int) -> list[Sample]:
    started = time.perf_counter()
    replies = replier.replies([context for context, _ in chunk], seed=seed)
    seconds = time.perf_counter() - started
    return [
        Sample(context, reply.text, reference, reply.finish == "eos", reply.finish == "label",
               seconds, reply.candidates)
        for (context, reference), reply in zip(chunk, replies, strict=True)
    ]  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model", type=Path)
    parser.add_argument("--data", help="dataset folder (default: the model's own)")
    parser.add_argument("--samples", type=int, default=32, help="val contexts (default 32)")
    parser.add_argument("--batch-size", type=int, default=1, help="replies per call (default 1)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, help="torch CPU threads (default: torch's)")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)

    guarded = load_replier(args.model, device=args.device, cpu_threads=args.threads)
    if guarded.guard is None:
        print(f"{args.model} has no copy_index.json: train it again with catgpt-train",
              file=sys.stderr)  # fmt: skip
        return 1
    plain = Replier(guarded.prompts, guarded.backend, guarded.card)  # the same model, no guard
    dataset = load_dataset(dataset_of(args.model, args.data, read_catgpt(args.model)))
    contexts = [split_target(e) for e in pick_contexts(dataset.val, args.samples, args.seed)]
    plain.replies([contexts[0][0]])  # first-call costs (allocations, kernels) on neither side

    off, on = [], []
    for number, start in enumerate(range(0, len(contexts), args.batch_size)):
        chunk, seed = contexts[start : start + args.batch_size], args.seed + number
        sides = [(plain, off), (guarded, on)]
        for replier, samples in sides if number % 2 == 0 else sides[::-1]:
            samples += answer(replier, chunk, seed)
        print(f"  {len(on)}/{len(contexts)} contexts", file=sys.stderr, flush=True)

    guard = guarded.guard
    figures = guard_figures(guarded.prompts.tokenizer, off, on, guard.n, dataset.train,
                            dataset.val)  # fmt: skip
    report(figures, args, len(contexts))
    return 0


def report(figures: dict, args, contexts: int) -> None:
    off, on, real = figures["off"], figures["on"], figures["val_baseline"]

    def ratio(key: str) -> str:
        return f"{on[key] / off[key]:.2f}x" if off[key] else "n/a"

    def pct(value) -> str:
        return "" if value is None else f"{100 * value:.0f}%"

    print(f"\n{args.model}: {contexts} val contexts, batches of {args.batch_size}, copy guard "
          f"n = {figures['n']} tokens\n")  # fmt: skip
    rows = [
        ("", "guard off", "guard on", "on / off", "real val"),
        ("seconds per reply, mean", f"{off['seconds_per_reply_mean']:.2f}",
         f"{on['seconds_per_reply_mean']:.2f}", ratio("seconds_per_reply_mean"), ""),
        ("seconds per reply, p90", f"{off['seconds_per_reply_p90']:.2f}",
         f"{on['seconds_per_reply_p90']:.2f}", ratio("seconds_per_reply_p90"), ""),
        ("exact copies of a training reply (20+ chars)", pct(off["exact_copy_rate"]),
         pct(on["exact_copy_rate"]), "", pct(real["exact_copy_rate"])),
        (f"share with a {figures['n']}-token span", pct(off["long_span_share"]),
         pct(on["long_span_share"]), "", pct(real["long_span_share"])),
        ("share with an 8-token span", pct(off["span8_share"]), pct(on["span8_share"]), "",
         pct(real["span8_share"])),
        ("drawn again by the guard", "", pct(on["resampled"]), "", ""),
        ("replies drawn per reply, mean", "1.00", f"{on['candidates_mean']:.2f}", "", ""),
    ]  # fmt: skip
    for row in rows:
        print(f"{row[0]:<46}" + "".join(f"{cell:>11}" for cell in row[1:]))


if __name__ == "__main__":
    sys.exit(main())
