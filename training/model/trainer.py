"""Fine-tune a base on a dataset folder with the Hugging Face Trainer.

Why the Trainer and not a hand loop: it already gives early stopping with the best checkpoint
restored, --resume from a checkpoint, length-grouped sampling, a progress bar, bf16/fp16, and
runs unchanged under `accelerate launch` / `torchrun` on several GPUs. What is ours is the
data: labels only on the persona's reply and its eos (features.py) and dynamic padding
(collate.py), which is where the original project lost most of its time and quality.
"""

from __future__ import annotations

import logging
import math
import shutil
import time
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path

import torch
from accelerate import PartialState
from transformers import (
    EarlyStoppingCallback,
    ProgressCallback,
    Trainer,
    TrainingArguments,
    set_seed,
)
from transformers.trainer_utils import get_last_checkpoint

from catgpt.heap import return_large_blocks
from catgpt.runtime import context_window, pick_device
from training.data.report import REPORT_PICTURE
from training.errors import ModelError, OutputExistsError
from training.model import copy_index, model_folder, sharing
from training.model.arguments import TrainArgs
from training.model.bases import load_base
from training.model.batching import Batching, plan_batching
from training.model.callbacks import TIED_HEAD_NOTICE, StepReport, TimeBudget, ValReport
from training.model.chat_template import install_chat_template
from training.model.collate import PadCollator
from training.model.features import encode_split, load_dataset
from training.model.model_folder import trained_context
from training.model.sparse_head import sparse_head_loss, supports_sparse_head
from training.outputs import (
    check_separate,
    check_writable,
    disk_full_is_one_line,
    is_ours,
    mark_ours,
    move_into_place,
    release,
    staging_folder,
)

log = logging.getLogger(__name__)


def precision(device: str) -> dict:
    """bf16 where the GPU has it, else fp16 on CUDA; fp32 on MPS and CPU."""
    if device == "cuda":
        return {"bf16": True} if torch.cuda.is_bf16_supported() else {"fp16": True}
    return {}


def prepare_model(base, persona: str):
    """Install the template (may add a pad token) and grow the embeddings to match."""
    model, tokenizer = base.model, base.tokenizer
    install_chat_template(tokenizer, persona)
    if len(tokenizer) > model.get_input_embeddings().weight.shape[0]:
        # The new pad row is never trained (it is masked out of attention and loss).
        model.resize_token_embeddings(len(tokenizer), mean_resizing=False)
    # Tell the config and generation config about the pad token now (transformers warns otherwise).
    model.config.pad_token_id = tokenizer.pad_token_id
    if getattr(model, "generation_config", None) is not None:
        model.generation_config.pad_token_id = tokenizer.pad_token_id
    return model, tokenizer


def add_lora(model, args: TrainArgs):
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(
        task_type="CAUSAL_LM",
        r=args.lora_r,
        lora_alpha=args.lora_alpha,
        lora_dropout=args.lora_dropout,
        target_modules="all-linear",
        # GPT-2 stores its linear layers transposed (Conv1D); peft needs to be told.
        fan_in_fan_out=model.config.model_type == "gpt2",
    )
    model = get_peft_model(model, config)
    trainable, total = model.get_nb_trainable_parameters()
    log.info("LoRA: training %.2fM of %.1fM parameters", trainable / 1e6, total / 1e6)
    return model


class PersonaTrainer(Trainer):
    """The Trainer, with the loss computed by sparse_head.py where the model allows it."""

    def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
        if self.args.world_size > 1 or not supports_sparse_head(model):
            return super().compute_loss(model, inputs, return_outputs, num_items_in_batch)
        loss = sparse_head_loss(model, inputs, num_items_in_batch)
        return (loss, {"loss": loss}) if return_outputs else loss


def training_arguments(args: TrainArgs, checkpoints: Path, has_val: bool, device: str,
                       batching: Batching):
    early_stop = args.early_stop and has_val
    return TrainingArguments(
        output_dir=str(checkpoints),
        num_train_epochs=args.epochs,
        max_steps=args.max_steps or -1,
        per_device_train_batch_size=batching.per_pass,
        # Eval keeps no activations for a backward pass, so it takes the whole per-process
        # batch; and its val loss (a mean of batch means) stays comparable across runs.
        per_device_eval_batch_size=batching.per_pass * batching.accumulate,
        gradient_accumulation_steps=batching.accumulate,
        activation_checkpointing=batching.checkpointing,
        # The non-reentrant form: works with frozen inputs (LoRA) and with our sparse head.
        activation_checkpointing_kwargs=(
            {"use_reentrant": False} if batching.checkpointing else None),
        learning_rate=args.lr,
        weight_decay=args.weight_decay,
        warmup_steps=args.warmup_ratio,  # a float < 1 is a ratio of the total steps
        # Constant after warm-up: early stopping decides when training ends, and --epochs is
        # only an upper bound, so a decay tied to it would shrink the rate on a made-up
        # schedule (in a 2-epoch run, to zero before the model has learned much).
        lr_scheduler_type="constant_with_warmup",
        # Batches of similar lengths: little padding even with dynamic padding.
        train_sampling_strategy="group_by_length",
        eval_strategy="epoch" if has_val else "no",
        save_strategy="epoch",
        save_total_limit=2,  # the best and the latest
        load_best_model_at_end=early_stop,
        metric_for_best_model="eval_loss" if early_stop else None,
        greater_is_better=False,
        logging_strategy="steps",
        logging_steps=10,
        logging_first_step=True,
        report_to=args.report_to,  # the same log entries loss.png is drawn from
        prediction_loss_only=True,  # eval needs the loss only, never the logits
        seed=args.seed,
        dataloader_pin_memory=device == "cuda",
        # Every parameter that trains takes part in every step (LoRA's frozen ones do not
        # count), so DDP need not walk the autograd graph for unused ones each step.
        ddp_find_unused_parameters=False,
        use_cpu=device == "cpu",
        **precision(device),
    )


def train_model(args: TrainArgs, bundle_dataset: bool = False, callbacks=()) -> dict:
    """Train and write the model folder at args.out; returns the catgpt.json card.

    bundle_dataset: move the dataset folder into the model folder as `dataset/` (`run` does).
    callbacks: extra TrainerCallbacks (bench/train.py times the epochs with one).
    """
    # Each pass's freed activations go back to the OS rather than staying resident in malloc's
    # heap: 0.4 GB off the peak on a CPU (catgpt/heap.py, bench/train_memory.py).
    return_large_blocks()
    out = Path(args.out)
    check_separate(out, [args.data])  # --overwrite must never delete the dataset
    check_writable(out)
    model_folder.check_output(out, args.overwrite)
    dataset = load_dataset(args.data)  # all input checks before any work
    persona = dataset.persona or args.persona
    if not persona:
        persona = "assistant"
        log.warning(
            "%s names no persona (no stats.json): the persona's turns are labelled %r; "
            "pass --persona NAME to use their name", args.data, persona,
        )  # fmt: skip
    set_seed(args.seed)
    base = load_base(args.base, texts=dataset.texts(), seed=args.seed)
    model, tokenizer = prepare_model(base, persona)
    if getattr(model.config, "tie_word_embeddings", False):
        logging.getLogger("transformers.trainer").addFilter(TIED_HEAD_NOTICE)

    window = context_window(model, tokenizer)
    max_length = min(args.max_length, window) if window else args.max_length
    train_features, train_report = encode_split(tokenizer, dataset.train, max_length, "train")
    val_features, val_report = encode_split(tokenizer, dataset.val, max_length, "val")
    if not train_features:
        raise ModelError(
            f"no training example fits the context window of {max_length} tokens "
            f"({train_report.too_long} persona replies are longer than that)",
            where=args.base,
            fix="Raise --max-length or use a base with a longer context window.",
        )
    if args.lora:
        model = add_lora(model, args)

    device = pick_device().type
    # One process per GPU (or CPU worker) under torchrun / accelerate launch; one otherwise.
    # `cpu=True` as TrainingArguments(use_cpu=True) will say: without it, the processes of a
    # CPU run each believe they are the only one (and each wrote the folder and printed).
    state = PartialState(cpu=device == "cpu")
    batching = plan_batching(args.batch_size, args.grad_accum, args.micro_batch, device,
                             state.num_processes, free_gpu_bytes(),
                             args.checkpointing)  # checked before any writing
    staging = staging_folder(out)
    # A full disk (checkpoints, weights, anything) is one line, the staging folder removed.
    with disk_full_is_one_line(out, "the model folder", staged=staging):
        resume_from = open_staging(staging, args.resume, state)
        log_path = sharing.private_dir(staging) / "train.log" if state.is_main_process else None
        with log_file(log_path, state.is_main_process):
            log.info(
                "%d train / %d val examples, %d persona tokens to learn, window %d tokens",
                len(train_features), len(val_features), train_report.persona_tokens, max_length,
            )  # fmt: skip
            log.info("batches: %s", batching.describe())
            has_val = bool(val_features)
            callbacks = [ValReport(), *callbacks]
            if args.early_stop and has_val:
                callbacks.append(EarlyStoppingCallback(early_stopping_patience=args.patience))
            budget = TimeBudget(args.max_minutes) if args.max_minutes else None
            callbacks += [budget] if budget else []
            trainer = PersonaTrainer(
                model=model,
                args=training_arguments(args, staging / "checkpoints", has_val, device,
                                        batching),
                train_dataset=train_features,
                eval_dataset=val_features or None,
                data_collator=PadCollator(tokenizer.pad_token_id, 8 if device == "cuda" else 1),
                processing_class=tokenizer,
                callbacks=callbacks,
            )
            trainer.remove_callback(ProgressCallback)
            trainer.add_callback(StepReport)
            if state.is_main_process:  # private_dir writes: the first process's alone
                keep_tensorboard_logs(trainer, sharing.private_dir(staging) / "runs")
            started = time.monotonic()
            result = trainer.train(resume_from_checkpoint=resume_from)
            seconds = time.monotonic() - started
            # Every process has written its last checkpoint files (each saves its own random
            # state) before the first one removes the checkpoints and moves the folder.
            state.wait_for_everyone()

            card = describe_run(
                args, dataset, base.info, persona, trainer, seconds, bundle_dataset, max_length
            )
            card["training"]["train_loss"] = round(result.training_loss, 4)
            card["training"]["stop_reason"] = stop_reason_of(trainer, args, budget)
            card["training"]["batching"] = asdict(batching)
            card["dataset"].update(
                train_examples=len(train_features),
                val_examples=len(val_features),
                max_length=max_length,
                encoding={"train": asdict(train_report), "val": asdict(val_report)},
            )
            if state.is_main_process:
                final = trainer.model
                if args.lora:  # a plain model folder: the bot needs no peft
                    final = final.merge_and_unload()
                model_folder.save_model(final, tokenizer, staging)
                # The serving path's copy guard: hashes of long runs of the training replies.
                card["copy_guard"] = copy_index.write_index(staging, tokenizer, dataset.train,
                                                            dataset.val)  # fmt: skip
                model_folder.write_log(staging, trainer.state.log_history)
                shutil.rmtree(staging / "checkpoints", ignore_errors=True)
                write_pictures(staging, trainer.state.log_history, card, Path(args.data))
                if bundle_dataset:
                    release(Path(args.data))  # run's scratch dataset becomes part of the output
                    shutil.move(str(args.data), str(sharing.private_dir(staging) / "dataset"))
                # Where the inputs were on this machine: for `eval` later, never for publishing.
                sharing.write_private(staging, "paths.json", {
                    "base": base.info.get("name") if base.info.get("kind") == "folder" else None,
                    "dataset": None if bundle_dataset else str(Path(args.data).resolve()),
                })  # fmt: skip
                model_folder.write_catgpt(staging, card)
                model_folder.write_model_card(staging, card)
        if state.is_main_process:
            move_into_place(staging, out)
            log.info("model folder written: %s (%s)", out, card["training"]["stop_reason"])
        state.wait_for_everyone()
        return card


def keep_tensorboard_logs(trainer, folder: Path) -> None:
    """--report-to tensorboard: write the event files into the model folder's `runs/`.

    The Trainer's default is under its output_dir, our checkpoints folder, which is deleted
    when the run ends. TENSORBOARD_LOGGING_DIR, when set, still wins.
    """
    from transformers.integrations import TensorBoardCallback

    for callback in trainer.callback_handler.callbacks:
        if isinstance(callback, TensorBoardCallback) and callback.logging_dir is None:
            callback.logging_dir = str(folder)


def write_pictures(folder: Path, log_history: list[dict], card: dict, data: Path) -> None:
    """loss.png from the Trainer's log, and the dataset's report.png (prepare's) beside it."""
    from training import plots  # matplotlib, only when there is a picture to draw

    training = card["training"]
    plots.loss_picture(folder / model_folder.LOSS_PICTURE, log_history,
                       persona=card["persona"]["name"], stop_reason=training["stop_reason"],
                       restored_best=training["restored_best_checkpoint"])  # fmt: skip
    report = data / REPORT_PICTURE
    if report.is_file():  # made to be shared: no one but the persona is named in it
        shutil.copyfile(report, folder / model_folder.DATA_PICTURE)


def describe_run(
    args, dataset, base_info, persona, trainer, seconds, bundle_dataset, max_length
) -> dict:
    """The catgpt.json card of a finished run (its "evaluation" is filled in by `eval`)."""
    state = trainer.state
    best = state.best_metric if trainer.args.load_best_model_at_end else None
    return {
        "persona": {"name": persona, "aliases": dataset.aliases,
                    "account_ids": dataset.account_ids},
        # The context the model learned from; the bot bounds its prompts by it (catgpt.folder).
        "context": trained_context(dataset, max_length),
        "base": sharing.public_base(base_info),
        "dataset": {
            # Relative to the model folder, or not at all (training/model/sharing.py).
            "path": f"{sharing.PRIVATE_DIR}/dataset" if bundle_dataset else None,
            "stats": sharing.public_stats(dataset.stats),
            # The bot's `/catgpt about` says "trained on messages up to" this day.
            "last_persona_message": (dataset.stats or {}).get("last_persona_message"),
        },
        "training": {
            "args": sharing.public_args(asdict(args)),
            "device": str(trainer.args.device),
            "precision": "bf16" if trainer.args.bf16 else "fp16" if trainer.args.fp16 else "fp32",
            "steps": state.global_step,
            "epochs_run": round(state.epoch or 0.0, 3),
            "seconds": round(seconds, 1),
            "val_losses": [round(e["eval_loss"], 4) for e in state.log_history if "eval_loss" in e],
            "best_val_loss": round(best, 4) if best is not None else None,
            "best_val_perplexity": round(math.exp(best), 2) if best is not None else None,
            "restored_best_checkpoint": best is not None,
        },
        "evaluation": None,
    }


def open_staging(staging: Path, resume: bool, state) -> str | None:
    """Make the staging folder; returns the checkpoint to resume from, if any."""
    checkpoints = staging / "checkpoints"
    resume_from = get_last_checkpoint(checkpoints) if resume and checkpoints.is_dir() else None
    if resume and not resume_from:
        log.warning("--resume: no checkpoint under %s; starting from the base", staging)
    if state.is_main_process and not resume_from and staging.exists():
        if not is_ours(staging):  # never delete what we did not write, even under our name
            raise OutputExistsError(
                "a folder by the name train stages in exists and catgpt-train did not write it",
                where=str(staging), fix="Move it away, or choose another --out.")  # fmt: skip
        shutil.rmtree(staging)  # a leftover of an abandoned run
    state.wait_for_everyone()
    if state.is_main_process:
        staging.mkdir(parents=True, exist_ok=True)
        mark_ours(staging, "model")  # from the start: a crashed run's leftover is ours too
    return resume_from


class _LogFile(logging.FileHandler):
    """A log file that goes quiet when it cannot be written (a full disk): logging's own
    reaction is a traceback on stderr per line, and the run's error says what happened."""

    broken = False

    def emit(self, record):
        if not self.broken:
            super().emit(record)

    def handleError(self, record):  # noqa: N802 (logging's name)
        self.broken = True


@contextmanager
def log_file(path: Path, enabled: bool):
    """Copy this run's log lines into the model folder (private/train.log) while the block runs."""
    if not enabled:
        yield
        return
    handler = _LogFile(path, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)
        handler.close()


def free_gpu_bytes() -> int | None:
    """Free memory of this process's GPU, or None without CUDA."""
    if not torch.cuda.is_available():
        return None
    free, _ = torch.cuda.mem_get_info()
    return free


def stop_reason_of(trainer, args: TrainArgs, budget) -> str:
    """Why training ended, in words for catgpt.json and the model card."""
    state = trainer.state
    if budget is not None and budget.hit:
        return f"time budget ({args.max_minutes:g} min)"
    if args.max_steps and state.global_step >= args.max_steps:
        return f"max steps ({args.max_steps})"
    if state.epoch is not None and state.epoch + 1e-6 < args.epochs:
        return f"early stopping (patience {args.patience})"
    return f"all {args.epochs:g} epochs"
