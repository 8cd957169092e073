"""`catgpt-train`: prepare / train / eval / run.

Each subcommand lives in its own module under training/commands/ and exposes
`add_arguments(parser)` and `main(args) -> int`. Their options are the fields of the
dataclasses the library takes (PrepareOptions, TrainArgs, EvalOptions; training/options.py
makes the flags), so `run` is the three dataclasses' options in one parser, and the three
steps' library calls in turn.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os

from catgpt.errors import missing_extra, report, run_cli

log = logging.getLogger(__name__)

# name -> (module, one-line help)
COMMANDS = {
    "prepare": ("training.commands.prepare", "turn Discord exports into a persona dataset folder"),
    "train": ("training.commands.train", "fine-tune a base model on a dataset folder"),
    "eval": ("training.commands.eval", "measure a model folder on a dataset's val split"),
    "run": ("training.commands.run", "prepare + train + eval in one command"),
}


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="catgpt-train",
        description="Fine-tune a language model on one person's Discord history.",
    )
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    parser.add_argument("-q", "--quiet", action="store_true", help="log warnings and errors only")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name, (module_name, help_text) in COMMANDS.items():
        module = importlib.import_module(module_name)
        command = sub.add_parser(
            name,
            help=help_text,
            description=module.__doc__,
            # keep the docstrings' line breaks: they hold usage examples
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(command)
        command.set_defaults(handler=module.main)
    return parser


# What `pip install 'catgpt[train]'` adds to the slim install (pyproject.toml); the commands'
# modules import them, so a bot host's install says so in one line, not a traceback.
TRAIN_EXTRA = frozenset({"torch", "accelerate", "peft", "gguf", "ijson", "phonenumbers", "stdnum",
                         "tqdm", "matplotlib", "emoji", "sklearn"})


def main(argv: list[str] | None = None) -> int:
    try:
        parser = build_parser()
    except ModuleNotFoundError as error:
        return report("catgpt-train", missing_extra(error, extra="train", modules=TRAIN_EXTRA,
                                                    needed_for="catgpt-train"))
    args = parser.parse_args(argv)
    level = logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO
    if os.environ.get("RANK", "0") != "0":  # torchrun / accelerate: the first process tells
        level = max(level, logging.WARNING)
    logging.basicConfig(level=level, format="%(message)s")
    # Hide the bars for loading and writing weights (read when transformers is first imported);
    # the Trainer's own progress bar is not one of them and stays.
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    # A CatGPTError is one line on stderr and exit status 1, no traceback.
    return run_cli("catgpt-train", lambda: args.handler(args) or 0)
