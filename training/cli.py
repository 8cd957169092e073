"""`catgpt-train`: prepare / train / eval / run.

Each subcommand lives in its own module under training/commands/ and exposes
`add_arguments(parser)` and `main(args) -> int`. `run` composes the other three by
adding all their arguments to one parser and calling their `main`s in turn.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import os
import sys

from training.errors import CatGPTError

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


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    level = logging.DEBUG if args.verbose else logging.WARNING if args.quiet else logging.INFO
    logging.basicConfig(level=level, format="%(message)s")
    # Hide the bars for loading and writing weights (read when transformers is first imported);
    # the Trainer's own progress bar is not one of them and stays.
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    try:
        code = args.handler(args) or 0
        sys.stdout.flush()  # a reader that went away shows here, not at interpreter exit
        return code
    except CatGPTError as error:
        print(f"catgpt-train: error: {error}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("catgpt-train: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # `catgpt-train ... | head -1`: the reader has all it wanted. Stop quietly, as CLIs do.
        _stdout_to_devnull()
        return 141  # 128 + SIGPIPE: what the shell reports for a CLI stopped by the pipe


def _stdout_to_devnull() -> None:
    """Point stdout at /dev/null, so Python's own flush at exit cannot fail on the closed pipe
    again (the recipe in Python's `signal` docs, "Note on SIGPIPE")."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # not a real file (e.g. under capture)
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, fd)
    os.close(devnull)
