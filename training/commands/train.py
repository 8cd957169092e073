"""Fine-tune a base model on a dataset folder and write a model folder the bot can serve.

Loss is on the persona's replies only (and the end-of-turn token after each), batches are padded
dynamically, and training stops early when the val loss stops improving, restoring the best
epoch. `--epochs 100 --no-early-stop` reproduces the original project's deliberate overfitting.
"""

from __future__ import annotations

import argparse
import json

from training.model.arguments import TrainArgs
from training.model.batching import Batching
from training.options import add_options, from_args


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_options(parser, TrainArgs)


def summary(card: dict) -> str:
    training = card["training"]
    return (
        f"trained {training['steps']} steps ({training['epochs_run']} epochs) in "
        f"{training['seconds']:.0f} s on {training['device']}; stopped: {training['stop_reason']}"
        + (f"; batches: {Batching(**training['batching']).describe()}"
           if training.get("batching") else "")
        + (f"; best val loss {training['best_val_loss']}"
           if training.get("best_val_loss") is not None else "; no val split")
    )


def main(args: argparse.Namespace) -> int:
    from accelerate import PartialState

    from training.model.trainer import train_model

    card = train_model(from_args(TrainArgs, args))
    if not PartialState().is_main_process:
        return 0  # under torchrun / accelerate launch, one summary: the first process's
    print(summary(card))
    print(f"model folder: {args.out}")
    if getattr(args, "verbose", False):
        print(json.dumps(card["training"], indent=2))
    return 0
