"""Time to a good model: training time until val loss first reaches the original recipe's best.

    .venv/bin/python bench/time_to_quality.py [--size mini] [--original-epochs 100]
        [--check-examples 32] [--curves FILE]

Seconds per epoch (bench/train.py) is not what a user waits for; a good model is. The original
project trained 100 epochs at batch 2, every example padded to 512 tokens, loss on every token
(the padding included). This bench runs that recipe for its 100 epochs and takes the best val
loss it ever reaches as the target; then it runs ours, `catgpt-train train` as a user runs it
(its defaults: at most 10 epochs, early stopping, batch 8), and stops it the moment its val loss
reaches the target. The figure is each side's training time to the target, and their ratio.

Fair by construction: the same prepared sample (data/sample), the same GPT-2 shape from the same
random init (ours gets it as a `--base` folder), the same tokenizer, the same AdamW learning
rate, the same device (the CPU; GPUs hidden), and one val measure for both
(training/model/measures.py's `persona_loss`: cross-entropy per persona token, the quality the
bot is for) taken every `--check-examples` training examples on both sides. Time is training
time only: the stopwatch stops while either side is measured, and, for ours, while the Trainer
validates and writes checkpoints at each epoch's end (the original loop does neither); ours'
whole `train` call, all of that included, is printed too.

Affordable on a laptop CPU: the default shape, `mini`, is a 2-layer, 128-wide GPT-2 with a
512-token window, and the tokenizer is the `tiny` base's byte-level BPE fitted on the dataset
(1024 tokens), so the original's 100 epochs take minutes rather than hours; `--size small` and
`--size 124m` are bench/train.py's larger shapes (the 49k-token projection then dominates: use
`--tokenizer smollm2` to keep it, at hours for the original's 100 epochs).
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import random
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

# The same device for both recipes (see the docstring); set before torch looks for GPUs.
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import torch  # noqa: E402
import train as recipes  # noqa: E402  (bench/train.py: the original recipe and the GPT-2 shapes)
from transformers import TrainerCallback  # noqa: E402

from training.model.bases import smollm2_folder, train_tiny_tokenizer  # noqa: E402
from training.model.chat_template import install_chat_template  # noqa: E402
from training.model.features import encode_split, load_dataset  # noqa: E402
from training.model.measures import persona_loss  # noqa: E402
from training.model.trainer import TrainArgs, train_model  # noqa: E402


class Stopwatch:
    """Training time: runs only between start/resume and pause."""

    def __init__(self):
        self.total = 0.0
        self.since: float | None = None

    def resume(self) -> None:
        if self.since is None:
            self.since = time.perf_counter()

    def pause(self) -> None:
        if self.since is not None:
            self.total += time.perf_counter() - self.since
            self.since = None

    def seconds(self) -> float:
        running = time.perf_counter() - self.since if self.since is not None else 0.0
        return self.total + running


@dataclass
class Point:
    examples: int  # training examples seen so far
    epoch: float
    seconds: float  # training time so far
    val: float


class Checks:
    """The val loss every `every` examples, with the stopwatch paused while it is measured."""

    def __init__(self, val: list[dict], pad_id: int, every: int, watch: Stopwatch):
        self.val, self.pad_id, self.every, self.watch = val, pad_id, every, watch
        self.points: list[Point] = []

    def due(self, examples: int, batch: int) -> bool:
        return examples // self.every > (examples - batch) // self.every

    def measure(self, model, examples: int, epoch: float) -> float:
        self.watch.pause()
        loss = persona_loss(model, self.val, self.pad_id, batch_size=8)[0]
        model.train()  # persona_loss leaves the model in eval mode
        self.points.append(Point(examples, round(epoch, 3), self.watch.seconds(), loss))
        self.watch.resume()
        return loss


def run_original(model, rows: list[dict], epochs: int, lr: float, checks: Checks) -> None:
    """The original loop (bench/train.py's), checked every `checks.every` examples."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    rng = random.Random(0)
    examples = 0
    model.train()
    checks.watch.resume()
    for epoch in range(epochs):
        for batch in recipes.original_batches(rows, rng):
            loss = model(**batch).loss
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            taken = len(batch["input_ids"])
            examples += taken
            if checks.due(examples, taken):
                checks.measure(model, examples, examples / len(rows))
        if checks.points[-1].examples != examples:  # and at each epoch's end
            checks.measure(model, examples, epoch + 1)
        print(f"  original epoch {epoch + 1}/{epochs}: val {checks.points[-1].val:.3f}, "
              f"{checks.watch.seconds():.0f} s", flush=True)  # fmt: skip
    checks.watch.pause()


class StopAtTarget(TrainerCallback):
    """Ours: the same checks inside the Trainer; training stops once val loss <= target.

    The stopwatch pauses from each epoch's end to the next epoch's start: that is where the
    Trainer validates and saves a checkpoint, which the original loop never does."""

    def __init__(self, checks: Checks, target: float, train_examples: int):
        self.checks, self.target, self.train_examples = checks, target, train_examples
        self.reached: Point | None = None
        self.examples = 0

    def on_epoch_begin(self, args, state, control, **kwargs):
        self.checks.watch.resume()

    def on_epoch_end(self, args, state, control, model=None, **kwargs):
        if not self.checks.points or self.checks.points[-1].examples != self.examples:
            self.check(model, state, control)  # as the original is checked at each epoch's end
        self.checks.watch.pause()

    def on_step_end(self, args, state, control, model=None, **kwargs):
        batch = args.per_device_train_batch_size * args.gradient_accumulation_steps
        self.examples = min(self.examples + batch, math.ceil(state.epoch) * self.train_examples)
        if self.checks.due(self.examples, batch):
            self.check(model, state, control)

    def check(self, model, state, control) -> None:
        loss = self.checks.measure(model, self.examples, state.epoch)
        if loss <= self.target and self.reached is None:
            self.reached = self.checks.points[-1]
            control.should_training_stop = True

    def on_train_end(self, args, state, control, **kwargs):
        self.checks.watch.pause()


def tokenizer_for(name: str, dataset):
    if name == "smollm2":
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(smollm2_folder())
    return train_tiny_tokenizer(dataset.texts())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=recipes.SIZES, default="mini", help="GPT-2 shape (mini)")
    parser.add_argument("--tokenizer", choices=["tiny", "smollm2"], default="tiny",
                        help="tiny: 1024 tokens fitted on the data (default); smollm2: 49k")
    parser.add_argument("--original-epochs", type=int, default=100,
                        help="the original recipe's epochs (%(default)s, as it trained)")
    parser.add_argument("--our-epochs", type=float, default=None,
                        help="ours' --epochs (default: catgpt-train train's own default)")
    parser.add_argument("--our-no-early-stop", action="store_true",
                        help="ours without early stopping (it still stops at the target)")
    parser.add_argument("--check-examples", type=int, default=32,
                        help="measure val loss every this many training examples (%(default)s)")
    parser.add_argument("--lr", type=float, default=5e-4, help="AdamW learning rate (both)")
    parser.add_argument("--our-lr", type=float, help="ours' learning rate (default: --lr)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: its default)")
    parser.add_argument("--curves", type=Path, help="write both val curves to this JSON file")
    parser.add_argument("--original-from", type=Path, metavar="CURVES",
                        help="take the original's curve from an earlier --curves file made with "
                        "the same settings on this machine, instead of training it again")
    args = parser.parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    logging.basicConfig(level=logging.WARNING, format="%(message)s")

    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        data = recipes.prepared_sample(scratch / "dataset")
        dataset = load_dataset(data)
        tokenizer = tokenizer_for(args.tokenizer, dataset)
        install_chat_template(tokenizer, dataset.persona or "mochi")
        train, report = encode_split(tokenizer, dataset.train, recipes.ORIGINAL_LENGTH, "train")
        val, _ = encode_split(tokenizer, dataset.val, recipes.ORIGINAL_LENGTH, "val")
        rows = recipes.original_features(tokenizer, dataset.train)
        pad_id = tokenizer.pad_token_id
        print(f"{len(train)} train / {len(val)} val examples, {report.persona_tokens} persona "
              f"tokens, GPT-2 {args.size} {recipes.SIZES[args.size]}, {len(tokenizer)}-token "
              f"vocabulary, {torch.get_num_threads()} threads")  # fmt: skip
        base = scratch / "base"
        recipes.new_model(tokenizer, args.size, 0).save_pretrained(base)
        tokenizer.save_pretrained(base)

        original = Checks(val, pad_id, args.check_examples, Stopwatch())
        if args.original_from:
            original.points = recorded_original(args.original_from, settings_of(args))
        else:
            run_original(recipes.new_model(tokenizer, args.size, 0), rows,
                         args.original_epochs, args.lr, original)  # fmt: skip
        best = min(original.points, key=lambda p: p.val)

        ours = Checks(val, pad_id, args.check_examples, Stopwatch())
        stop = StopAtTarget(ours, best.val, len(train))
        chosen = {"epochs": args.our_epochs} if args.our_epochs else {}
        chosen |= {"early_stop": False} if args.our_no_early_stop else {}
        our_args = TrainArgs(data=str(data), out=str(scratch / "ours"), base=str(base),
                             lr=args.our_lr or args.lr, seed=0,
                             max_length=recipes.ORIGINAL_LENGTH, **chosen)  # fmt: skip
        started = time.perf_counter()
        card = train_model(our_args, callbacks=[stop])
        whole = time.perf_counter() - started

    if args.curves:
        args.curves.write_text(json.dumps({
            "command": "bench/time_to_quality.py " + " ".join(argv or sys.argv[1:]),
            "settings": settings_of(args), "target": best.val,
            "original": [asdict(p) for p in original.points],
            "ours": [asdict(p) for p in ours.points]}, indent=1) + "\n")  # fmt: skip
    print_table(original, best, ours, stop, card, whole, args)
    return 0


def settings_of(args) -> dict:
    """What the original's curve depends on: a recorded curve is reused only when they match."""
    return {"size": args.size, "tokenizer": args.tokenizer, "epochs": args.original_epochs,
            "check_examples": args.check_examples, "lr": args.lr,
            "threads": torch.get_num_threads()}  # fmt: skip


def recorded_original(path: Path, settings: dict) -> list[Point]:
    recorded = json.loads(path.read_text())
    if recorded.get("settings") != settings:
        raise SystemExit(f"{path} was recorded with {recorded.get('settings')}, not {settings}: "
                         "run without --original-from to train the original again")
    return [Point(**p) for p in recorded["original"]]


def print_table(original: Checks, best: Point, ours: Checks, stop: StopAtTarget, card: dict,
                whole: float, args) -> None:
    last = original.points[-1]
    print()
    print(f"target: the original recipe's best val loss, {best.val:.3f} (perplexity "
          f"{math.exp(best.val):.1f}), at epoch {best.epoch:g} of {args.original_epochs}; after "
          f"its {args.original_epochs} epochs it is at {last.val:.3f}")  # fmt: skip
    print(f"{'recipe':<44}{'train s to target':>19}{'epochs':>8}{'best val':>10}")
    print(f"{'original (pad 512, labels on all, batch 2)':<44}{best.seconds:>19.1f}"
          f"{best.epoch:>8.2f}{best.val:>10.3f}")  # fmt: skip
    our_best = min(p.val for p in ours.points)
    label = "ours (catgpt-train train, batch 8)"
    if stop.reached is None:
        print(f"{label:<44}{'not reached':>19}{card['training']['epochs_run']:>8.2f}"
              f"{our_best:>10.3f}")  # fmt: skip
        print(f"ours stopped ({card['training']['stop_reason']}) before reaching the target")
        return
    print(f"{label:<44}{stop.reached.seconds:>19.1f}{stop.reached.epoch:>8.2f}{our_best:>10.3f}")
    print(f"{'ratio (original over ours)':<44}{best.seconds / stop.reached.seconds:>18.1f}x")
    print(f"ours' whole train call, with its per-epoch validation, checkpoints and the model "
          f"folder written: {whole:.1f} s ({best.seconds / whole:.1f}x); the original's "
          f"{args.original_epochs} epochs: {last.seconds:.1f} s")  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
