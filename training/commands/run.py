"""Prepare + train + eval in one command: Discord exports in, a served-ready model folder out.

    catgpt-train run EXPORT... --persona NAME --base smollm2 --out models/NAME

The prepared dataset ends up inside the model folder as `private/dataset/` (so `catgpt-train eval
OUT` finds it again); `private/` holds other people's messages: leave it out when sharing.
Nothing is written at --out until training has finished.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from training.commands import prepare
from training.commands import train as train_command
from training.data.pipeline import PrepareOptions, prepare_from_args
from training.model.arguments import EvalOptions, TrainArgs
from training.options import add_options, from_args


def add_arguments(parser: argparse.ArgumentParser) -> None:
    # One --seed (train's) for the split, the training and the sampling; --persona is prepare's.
    add_options(parser, PrepareOptions, skip={"seed"})
    add_options(parser, TrainArgs, skip={"data", "persona"})
    add_options(parser, EvalOptions, skip={"seed"})


def main(args: argparse.Namespace) -> int:
    from training.model.bases import base_kind
    from training.model.eval_step import evaluate, format_table, record
    from training.model.model_folder import check_output
    from training.model.sharing import PRIVATE_DIR
    from training.model.trainer import train_model
    from training.outputs import check_separate, check_writable, scratch_folder

    out = Path(args.out)
    check_separate(out, args.exports)  # --overwrite must never delete the exports
    check_writable(out)
    check_output(out, args.overwrite)  # before the (long) prepare step
    base_kind(args.base)  # a mistyped --base, too
    with scratch_folder(out, "dataset-") as scratch:
        stats = prepare_from_args(args, scratch)
        print(prepare.format_summary(stats))
        config = from_args(TrainArgs, args, data=str(scratch), persona=args.personas[0])
        card = train_model(config, bundle_dataset=True)  # moves scratch to OUT/private/dataset
    print(train_command.summary(card))
    if not stats["val_examples"]:  # prepare counted what it wrote to val.jsonl
        # The model folder is complete and usable; there is just nothing held out to measure.
        print("eval skipped: the dataset has no val examples (--val-share 0, or too few "
              "conversations to hold one out); the model folder is ready")
        print(f"model folder: {out}  (chat with it: catgpt-bot --console --model {out})")
        return 0
    options = from_args(EvalOptions, args)
    figures = evaluate(out, out / PRIVATE_DIR / "dataset", options)
    print(format_table(figures, options.show))
    record(out, figures)
    print(f"model folder: {out}  (chat with it: catgpt-bot --console --model {out})")
    return 0

