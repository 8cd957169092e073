"""Trainer callbacks: a wall-clock budget, short progress lines, and val figures in the log.

Kept apart from trainer.py so that file stays about the run itself.
"""

from __future__ import annotations

import logging
import math
import sys
import time

from transformers import ProgressCallback, TrainerCallback

log = logging.getLogger(__name__)


class _TiedHeadNotice(logging.Filter):
    """Hide the Trainer's "missing keys ... lm_head.weight" when it restores the best checkpoint.

    Models with tied input/output embeddings (GPT-2, SmolLM2) save the shared matrix once; the
    head is the embedding, so nothing is missing, but the warning reads like a broken model.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not ("missing keys in the checkpoint" in message and "['lm_head.weight']" in message)


TIED_HEAD_NOTICE = _TiedHeadNotice()


class TimeBudget(TrainerCallback):
    """Stop after `minutes` of training; the epoch then ends normally (eval + checkpoint)."""

    def __init__(self, minutes: float):
        self.minutes = minutes
        self.deadline = math.inf
        self.hit = False

    def on_train_begin(self, args, state, control, **kwargs):
        self.deadline = time.monotonic() + self.minutes * 60

    def on_step_end(self, args, state, control, **kwargs):
        if time.monotonic() > self.deadline and not control.should_training_stop:
            log.info("time budget of %g min reached at step %d", self.minutes, state.global_step)
            control.should_training_stop = True
            self.hit = True


class StepReport(ProgressCallback):
    """Progress: the Trainer's bar on a terminal, one plain line per logging step elsewhere.

    On a terminal the bar redraws itself in place, with a short loss line per logging step
    above it. Into a file or a pipe (CI, `make demo | tee`) every redraw would be one more
    partial line, so there it logs one line per logging step instead, with the step count and
    the time so far, and no bars at all (the eval pass's bar included).
    """

    def __init__(self, interactive: bool | None = None):
        super().__init__()
        self.interactive = sys.stderr.isatty() if interactive is None else interactive
        self.started = time.monotonic()

    def on_train_begin(self, args, state, control, **kwargs):
        self.started = time.monotonic()
        if self.interactive:
            super().on_train_begin(args, state, control, **kwargs)

    def on_step_end(self, args, state, control, **kwargs):
        if self.interactive:
            super().on_step_end(args, state, control, **kwargs)

    def on_prediction_step(self, args, state, control, eval_dataloader=None, **kwargs):
        if self.interactive:
            super().on_prediction_step(args, state, control, eval_dataloader, **kwargs)

    def on_train_end(self, args, state, control, **kwargs):
        if self.interactive:
            super().on_train_end(args, state, control, **kwargs)

    def on_log(self, args, state, control, logs=None, **kwargs):
        if not (state.is_world_process_zero and logs):
            return
        log.debug("trainer log: %s", logs)
        if "loss" not in logs or "learning_rate" not in logs:
            return  # eval and end-of-training entries: ValReport and the summary say those
        line = (f"step {state.global_step}: loss {float(logs['loss']):.3f}, "
                f"lr {float(logs['learning_rate']):.2e}")  # fmt: skip
        if self.interactive and self.training_bar is not None:
            self.training_bar.write(line)
        elif not self.interactive:
            log.info("%s (of %d, epoch %.2f, %.0f s)", line, state.max_steps, state.epoch or 0.0,
                     time.monotonic() - self.started)  # fmt: skip


class ValReport(TrainerCallback):
    """Log each validation pass as loss and perplexity on persona tokens."""

    def on_evaluate(self, args, state, control, metrics=None, **kwargs):
        if metrics and "eval_loss" in metrics:
            loss = metrics["eval_loss"]
            log.info(
                "epoch %.2f: val loss %.4f, perplexity %.2f (persona tokens)",
                state.epoch or 0.0, loss, math.exp(min(loss, 50.0)),
            )  # fmt: skip
