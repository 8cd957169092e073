"""Measure a model folder on a dataset's val split, print a table and record it in catgpt.json.

Val loss and perplexity on persona tokens for the fine-tuned model and its base; then replies
sampled for val contexts with the model's own sampling defaults: how many end on their own, and
how much they copy the training replies (against the real val replies as the baseline).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from training.errors import ModelError
from training.model.arguments import EvalOptions
from training.options import add_options, from_args


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL", help="model folder written by `train`")
    parser.add_argument("--data", metavar="DIR",
                        help="dataset folder (default: MODEL/dataset, else the one recorded in "
                        "MODEL/catgpt.json)")  # fmt: skip
    add_options(parser, EvalOptions)


def main(args: argparse.Namespace) -> int:
    from training.model.eval_step import dataset_of, evaluate, format_table, record
    from training.model.model_folder import read_catgpt

    model_dir = Path(args.model)
    if not model_dir.is_dir():
        raise ModelError("no such model folder", where=str(model_dir),
                         fix="Pass the --out folder of `catgpt-train train` or `run`.")  # fmt: skip
    if not (model_dir / "config.json").is_file():
        raise ModelError("not a model folder (no config.json)", where=str(model_dir),
                         fix="Pass a folder written by `catgpt-train train`.")  # fmt: skip
    data_dir = dataset_of(model_dir, args.data, read_catgpt(model_dir))
    options = from_args(EvalOptions, args)
    figures = evaluate(model_dir, data_dir, options)
    print(format_table(figures, options.show))
    record(model_dir, figures)
    return 0
