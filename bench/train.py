"""Training recipe benchmark: the original project's recipe against ours, same data, same model.

    .venv/bin/python bench/train.py [--size small|124m] [--epochs 2] [--threads N]

Both recipes train the same randomly initialised GPT-2 architecture (GPT-2 124M with --size 124m;
by default a 4-layer, 256-wide GPT-2 so the whole run takes minutes on two CPU cores) on the same
examples, with the same optimizer and learning rate, for the same number of epochs:

- original: every example padded to 512 tokens (pad = eos, as GPT-2 has no pad token), labels on
  every token including the padding, batch size 2;
- ours: the product's own training code, `training.model.trainer.train_model` (what
  `catgpt-train train --no-early-stop` runs): labels on the persona's reply and its eos only,
  dynamic padding, length-grouped batches of 8, the vocabulary projection computed only where
  there are labels, and the product's learning-rate schedule (5% warmup, then constant). Its base
  is the same random init, saved to a folder and passed as `--base`. Seconds per epoch come from
  a Trainer callback (epoch begin to epoch end: the per-epoch validation and checkpoint are not
  counted, as the original loop has neither).

Data: the shipped sample export (data/sample) prepared with `prepare`'s own API, rendered with our
chat template for both recipes so only the recipe differs. Tokenizer: SmolLM2's (GPT-2's cannot be
downloaded here; both are byte-level BPE of a similar size, 49k vs 50k). Val loss is measured the
same way for both, by one function (training/model/measures.py's `persona_loss`) on the same
val features after training: mean cross-entropy per persona token. Both run on the CPU (GPUs are
hidden): the original loop has no device handling, and the comparison is of recipes, not devices.
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import random
import sys
import tempfile
import time
from pathlib import Path

# Same device for both recipes (see the docstring); set before torch looks for GPUs.
os.environ.setdefault("CUDA_VISIBLE_DEVICES", "")
os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")

import torch  # noqa: E402
from transformers import TrainerCallback  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from training.model.bases import load_folder, smollm2_folder  # noqa: E402
from training.model.chat_template import install_chat_template  # noqa: E402
from training.model.features import encode_split, load_dataset  # noqa: E402
from training.model.measures import persona_loss  # noqa: E402
from training.model.trainer import TrainArgs, train_model  # noqa: E402

ORIGINAL_LENGTH, ORIGINAL_BATCH, OUR_BATCH = 512, 2, 8
SIZES = {
    "mini": {"n_layer": 2, "n_head": 4, "n_embd": 128},  # bench/time_to_quality.py's default
    "small": {"n_layer": 4, "n_head": 4, "n_embd": 256},
    "124m": {"n_layer": 12, "n_head": 12, "n_embd": 768},
}


def prepared_sample(folder: Path) -> Path:
    """The sample export through `prepare`'s API (the same cleaning as the product)."""
    from training.data.pipeline import PrepareOptions, run_prepare

    folder.mkdir(parents=True)
    run_prepare(PrepareOptions([ROOT / "data" / "sample"], ["mochi"], seed=0), folder)
    return folder


def original_features(tokenizer, examples: list[dict]) -> list[dict]:
    """The original recipe: fixed 512-token rows, labels = inputs, padding (eos) included."""
    rows = []
    for example in examples:
        ids = tokenizer.apply_chat_template(example["messages"], tokenize=True, return_dict=False)
        ids = ids[:ORIGINAL_LENGTH]  # right truncation, as a tokenizer's truncation=True does
        pad = ORIGINAL_LENGTH - len(ids)
        rows.append(
            {
                "input_ids": ids + [tokenizer.eos_token_id] * pad,
                "attention_mask": [1] * len(ids) + [0] * pad,
                "labels": ids + [tokenizer.eos_token_id] * pad,  # the loss sees the padding
            }
        )
    return rows


def original_batches(rows: list[dict], rng: random.Random):
    order = list(range(len(rows)))
    rng.shuffle(order)
    for i in range(0, len(order), ORIGINAL_BATCH):
        chunk = [rows[j] for j in order[i : i + ORIGINAL_BATCH]]
        yield {k: torch.tensor([r[k] for r in chunk]) for k in chunk[0]}  # (2, 512) each


def new_model(tokenizer, size: str, seed: int):
    from transformers import GPT2Config, GPT2LMHeadModel

    torch.manual_seed(seed)
    config = GPT2Config(
        vocab_size=len(tokenizer),
        n_positions=ORIGINAL_LENGTH,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
        **SIZES[size],
    )
    return GPT2LMHeadModel(config)


def validate(model, val: list[dict], pad_id: int) -> float:
    """The one val measure applied to both trained models: loss per persona token."""
    return persona_loss(model, val, pad_id, batch_size=8)[0]


def train_recipe(name, model, make_batches, loss_of, epochs, lr, val, pad_id, persona_tokens):
    """Train for `epochs`; returns seconds per epoch, persona tokens/s, final val loss."""
    optimizer = torch.optim.AdamW(model.parameters(), lr=lr)
    rng = random.Random(0)
    seconds = []
    for epoch in range(epochs):
        model.train()
        started = time.perf_counter()
        for step, batch in enumerate(make_batches(rng)):
            loss = loss_of(model, batch)
            loss.backward()
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            if step % 20 == 0:
                print(f"  {name} epoch {epoch + 1} step {step}: loss {loss.item():.3f}", flush=True)
        seconds.append(time.perf_counter() - started)
    per_epoch = sum(seconds) / len(seconds)
    return {"s_per_epoch": per_epoch, "tok_per_s": persona_tokens / per_epoch,
            "val": validate(model, val, pad_id)}  # fmt: skip


class EpochTimer(TrainerCallback):
    """Seconds of each training epoch, from its first step to its last (no val, no checkpoint)."""

    def __init__(self):
        self.seconds: list[float] = []
        self.started = 0.0

    def on_epoch_begin(self, args, state, control, **kwargs):
        self.started = time.perf_counter()

    def on_epoch_end(self, args, state, control, **kwargs):
        self.seconds.append(time.perf_counter() - self.started)


def train_ours(data: Path, base: Path, out: Path, epochs: int, lr: float, val, pad_id,
               persona_tokens) -> dict:  # fmt: skip
    """`catgpt-train train --data DATA --base BASE --epochs N --lr LR --no-early-stop`."""
    timer = EpochTimer()
    card = train_model(
        TrainArgs(data=str(data), out=str(out), base=str(base), epochs=epochs, lr=lr,
                  batch_size=OUR_BATCH, max_length=ORIGINAL_LENGTH, seed=0, early_stop=False),
        callbacks=[timer],
    )  # fmt: skip
    learnt = card["dataset"]["encoding"]["train"]["persona_tokens"]
    assert learnt == persona_tokens, (learnt, persona_tokens)  # the same examples, the same labels
    assert len(timer.seconds) == epochs, timer.seconds
    per_epoch = sum(timer.seconds) / len(timer.seconds)
    model = load_folder(out).model  # the saved model folder, as the bot would load it
    return {"s_per_epoch": per_epoch, "tok_per_s": persona_tokens / per_epoch,
            "val": validate(model, val, pad_id)}  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", choices=SIZES, default="small", help="GPT-2 size (default small)")
    parser.add_argument("--epochs", type=int, default=2, help="epochs per recipe (default 2)")
    parser.add_argument("--lr", type=float, default=5e-4, help="AdamW learning rate (both)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch default)")
    args = parser.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)

    from transformers import AutoTokenizer

    logging.basicConfig(level=logging.INFO, format="%(message)s")
    with tempfile.TemporaryDirectory() as scratch:
        scratch = Path(scratch)
        data = prepared_sample(scratch / "dataset")
        dataset = load_dataset(data)
        tokenizer = AutoTokenizer.from_pretrained(smollm2_folder())
        install_chat_template(tokenizer, dataset.persona or "mochi")
        train, report = encode_split(tokenizer, dataset.train, ORIGINAL_LENGTH, "train")
        val, _ = encode_split(tokenizer, dataset.val, ORIGINAL_LENGTH, "val")
        original = original_features(tokenizer, dataset.train)
        print(f"{len(train)} train / {len(val)} val examples, {report.persona_tokens} persona "
              f"tokens, GPT-2 {args.size} {SIZES[args.size]}, {args.epochs} epochs, "
              f"{torch.get_num_threads()} threads")  # fmt: skip
        # Ours starts from the very weights the original recipe starts from.
        base = scratch / "base"
        new_model(tokenizer, args.size, 0).save_pretrained(base)
        tokenizer.save_pretrained(base)

        pad_id = tokenizer.pad_token_id
        results = {
            "original": train_recipe(
                "original", new_model(tokenizer, args.size, 0),
                lambda rng: original_batches(original, rng),
                lambda model, batch: model(**batch).loss,
                args.epochs, args.lr, val, pad_id, report.persona_tokens,
            ),
            "ours": train_ours(data, base, scratch / "ours", args.epochs, args.lr, val, pad_id,
                               report.persona_tokens),
        }  # fmt: skip
    old, new = results["original"], results["ours"]
    print()
    print(f"{'recipe':<44}{'s/epoch':>10}{'persona tok/s':>15}{'val loss':>10}{'val ppl':>10}")
    for name, label in (("original", "original (pad 512, labels on all, batch 2)"),
                        ("ours", "ours (catgpt-train train, batch 8)")):  # fmt: skip
        r = results[name]
        print(f"{label:<44}{r['s_per_epoch']:>10.1f}{r['tok_per_s']:>15.1f}"
              f"{r['val']:>10.3f}{math.exp(r['val']):>10.1f}")  # fmt: skip
    speedup = old["s_per_epoch"] / new["s_per_epoch"]
    throughput = new["tok_per_s"] / old["tok_per_s"]
    print(f"{'ratio':<44}{speedup:>9.1f}x{throughput:>14.1f}x{new['val'] / old['val']:>10.2f}")
    print("(speed: original s/epoch over ours; val loss: ours over original, lower is better)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
