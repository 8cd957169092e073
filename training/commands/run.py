"""Prepare + train + eval in one command: Discord exports in, a served-ready model folder out.

    catgpt-train run EXPORT... --persona NAME --base smollm2 --out models/NAME

The prepared dataset ends up inside the model folder as `dataset/` (so `catgpt-train eval OUT`
finds it again); it holds other people's messages, so delete it before sharing the folder.
Nothing is written at --out until training has finished.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
from pathlib import Path

from training.commands import eval as eval_command
from training.commands import prepare
from training.commands import train as train_command


def add_arguments(parser: argparse.ArgumentParser) -> None:
    prepare.add_source_arguments(parser)
    parser.add_argument("--out", required=True, metavar="DIR", help="model folder to write")
    prepare.add_cleaning_arguments(parser)
    train_command.add_model_arguments(parser)
    eval_command.add_eval_arguments(parser)


def main(args: argparse.Namespace) -> int:
    from training.model.bases import base_kind
    from training.model.model_folder import check_output
    from training.model.trainer import train_model
    from training.outputs import check_separate, check_writable

    out = Path(args.out)
    check_separate(out, args.exports)  # --overwrite must never delete the exports
    check_writable(out)
    check_output(out, args.overwrite)  # before the (long) prepare step
    base_kind(args.base)  # a mistyped --base, too
    out.parent.mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f".{out.name}.dataset-", dir=out.parent))
    try:
        stats = prepare.prepare_from_args(args, scratch, args.seed)
        print(prepare.format_summary(stats))
        config = train_command.train_args(args, data=str(scratch), out=str(out))
        card = train_model(config, bundle_dataset=True)  # moves scratch to OUT/dataset
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(train_command.summary(card))
    if not _has_examples(out / "dataset" / "val.jsonl"):
        # The model folder is complete and usable; there is just nothing held out to measure.
        print("eval skipped: the dataset has no val examples (--val-share 0, or too few "
              "conversations to hold one out); the model folder is ready")
        print(f"model folder: {out}  (chat with it: catgpt-bot --console --model {out})")
        return 0
    figures = eval_command.evaluate(
        out, out / "dataset", samples=args.eval_samples, batch_size=args.eval_batch_size,
        seed=args.seed, compare_base=args.compare_base,
    )  # fmt: skip
    print(eval_command.format_table(figures, args.show))
    eval_command.record(out, figures)
    print(f"model folder: {out}  (chat with it: catgpt-bot --console --model {out})")
    return 0


def _has_examples(path: Path) -> bool:
    if not path.is_file():
        return False
    with path.open(encoding="utf-8") as lines:
        return any(line.strip() for line in lines)
