"""Training's peak memory and seconds per step: today's default batching against the old one.

    .venv/bin/python bench/train_memory.py [--steps 3] [--bases smollm2 gpt2]

Each row is a fresh `catgpt-train train` process on the CPU (GPUs hidden) over a generated
dataset whose every example fills the 512-token window, so a pass holds the most a real run's
passes can. It trains --steps optimizer steps of 8 examples and reports the process's peak
resident memory (VmHWM) and the seconds per step. "old" passes all 8 examples at once (what
`train` did before issue 18, `--micro-batch 8`); "default" is what `train` picks now on a CPU
(training/model/batching.py); "heap kept" is the default with malloc's mapping threshold left
as glibc adjusts it (catgpt/heap.py), to show what fixing it saves. Bases: `smollm2` (135M,
offline) and `gpt2`, GPT-2 124M's architecture with random weights (the hub cannot be reached
here; memory and time depend on the shapes, not the values), built once under bench/out/ by
bench/bot_load.py's builder.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GPT2_FOLDER = ROOT / "bench" / "out" / "gpt2-124m-random-smollm2"
WORDS = ("nya", "fish", "nap", "sunbeam", "box", "mrrp", "treat", "window", "bird", "zoomies",
         "the", "a", "is", "so", "and", "but", "very", "sleepy", "again", "tonight")

CHILD = """
import json, sys, time
from pathlib import Path
from training.model import trainer
from training.model.trainer import TrainArgs, train_model
data, base, out, steps, micro, recompute, heap = sys.argv[1:8]
if heap == "kept":
    trainer.return_large_blocks = lambda: False
args = TrainArgs(data=data, base=base, out=out, max_steps=int(steps), batch_size=8,
                 micro_batch=int(micro) if micro != "default" else None, early_stop=False,
                 checkpointing=recompute == "on")
card = train_model(args)
status = dict(l.split(":", 1) for l in Path("/proc/self/status").read_text().splitlines())
t = card["training"]
print(json.dumps({"peak_mb": int(status["VmHWM"].split()[0]) / 1024,
                  "s_per_step": t["seconds"] / max(1, t["steps"]), "batching": t["batching"]}))
"""


def long_example(rng: random.Random, number: int) -> dict:
    """Eight turns of about 90 words each: more than 512 tokens, so the window is full."""
    messages = []
    for turn in range(8):
        text = " ".join(rng.choice(WORDS) for _ in range(90))
        if turn % 2:
            messages.append({"role": "assistant", "content": text})
        else:
            messages.append({"role": "user", "name": f"friend{turn}", "content": text})
    return {"conversation": f"general:{number}", "messages": messages}


def write_dataset(folder: Path, n_train: int = 32, n_val: int = 4) -> Path:
    rng = random.Random(18)
    folder.mkdir(parents=True)
    for name, count in (("train.jsonl", n_train), ("val.jsonl", n_val)):
        rows = [json.dumps(long_example(rng, i)) for i in range(count)]
        (folder / name).write_text("\n".join(rows) + "\n", encoding="utf-8")
    persona = {"name": "mochi", "aliases": ["mochi"], "account_ids": []}
    (folder / "stats.json").write_text(json.dumps({"persona": persona}), encoding="utf-8")
    return folder


def gpt2_folder() -> Path:
    if not (GPT2_FOLDER / "config.json").is_file():
        sys.path.insert(0, str(ROOT / "bench"))
        from bot_load import build_model_folder  # the folder bot_load and bot_memory use

        return build_model_folder("smollm2", 32)
    return GPT2_FOLDER


def measure(data: Path, base: str, steps: int, micro: str, scratch: Path,
            recompute: str = "off", heap: str = "returned") -> dict:
    env = {**os.environ, "CUDA_VISIBLE_DEVICES": "", "HF_HUB_DISABLE_PROGRESS_BARS": "1"}
    out = scratch / f"{Path(base).name}-{micro}-{recompute}-{heap}"
    result = subprocess.run(
        [sys.executable, "-c", CHILD, str(data), base, str(out), str(steps), micro, recompute,
         heap],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=3600, check=False,
    )  # fmt: skip
    if result.returncode != 0:
        raise SystemExit(result.stderr[-3000:])
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=3, help="optimizer steps a row (%(default)s)")
    parser.add_argument("--bases", nargs="+", default=["smollm2", "gpt2"],
                        choices=["smollm2", "gpt2"])
    args = parser.parse_args(argv)
    rows = []
    with tempfile.TemporaryDirectory() as scratch:
        data = write_dataset(Path(scratch) / "dataset")
        for name in args.bases:
            base = "smollm2" if name == "smollm2" else str(gpt2_folder())
            old = measure(data, base, args.steps, "8", Path(scratch))
            new = measure(data, base, args.steps, "default", Path(scratch))
            kept = measure(data, base, args.steps, "default", Path(scratch), heap="kept")
            rows.append((name, old, new, kept))
            print(f"{name}: old {old['peak_mb']:.0f} MB, default {new['peak_mb']:.0f} MB, "
                  f"heap kept {kept['peak_mb']:.0f} MB", file=sys.stderr)
    print(f"CPU, 8 examples of 512 tokens a step, {args.steps} steps, peak resident memory")
    print("| base | old (8 a pass) MiB | default MiB | default/old | heap kept MiB | old s/step"
          " | default s/step | heap kept s/step | time default/old | default passes |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for name, old, new, kept in rows:
        b = new["batching"]
        print(f"| {name} | {old['peak_mb']:.0f} | {new['peak_mb']:.0f} | "
              f"{new['peak_mb'] / old['peak_mb']:.2f}x | {kept['peak_mb']:.0f} | "
              f"{old['s_per_step']:.1f} | {new['s_per_step']:.1f} | {kept['s_per_step']:.1f} | "
              f"{new['s_per_step'] / old['s_per_step']:.2f}x | "
              f"{b['per_pass']} x {b['accumulate']} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
