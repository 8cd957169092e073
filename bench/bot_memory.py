"""Resident memory of a bot process: the local backend (torch + weights) vs the openai backend.

    .venv/bin/python bench/bot_memory.py        # the GPT-2 124M folder bench/bot_load.py builds

Each backend runs in a fresh interpreter that does what `catgpt-bot` does before it connects:
import the bot (discord.py, the cogs), read the settings, build the engine CATGPT_BACKEND names,
and answer one conversation. Then it reads VmRSS (now) and VmHWM (peak) from /proc/self/status.
The openai side talks to `transformers serve` on the same folder, whose memory is printed too:
that is what moves to the inference box.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

from inference_server import rss_mb, served

ROOT = Path(__file__).resolve().parents[1]
FOLDER = ROOT / "bench" / "out" / "gpt2-124m-random-smollm2"

CHILD = """
import json, sys
from pathlib import Path
import bot.cli, bot.client  # the whole bot, Discord side included
from bot.engines import load_engine
from bot.settings import load_settings, read_environment

settings = load_settings(read_environment(None), require_token=False)
engine = load_engine(settings)
reply = engine.submit([{"role": "user", "name": "alice", "content": "hi mochi"}]).result()
status = dict(line.split(":", 1) for line in Path("/proc/self/status").read_text().splitlines())
mb = lambda key: int(status[key].split()[0]) / 1024
print(json.dumps({"rss": mb("VmRSS"), "peak": mb("VmHWM"), "torch": "torch" in sys.modules}))
engine.close(5.0)
"""


def measure(env: dict) -> dict:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CATGPT_", "DISCORD_"))}
    result = subprocess.run(
        [sys.executable, "-c", CHILD],
        env={**clean, **env},
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    if result.returncode != 0:
        raise SystemExit(result.stderr)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--model", type=Path, default=FOLDER, help="model folder (%(default)s)")
    args = parser.parse_args(argv)
    if not (args.model / "config.json").is_file():
        raise SystemExit(f"{args.model}: no model folder; run bench/bot_load.py --quick first")
    base = {"CATGPT_MODEL": str(args.model), "CATGPT_DEVICE": "cpu", "CATGPT_MAX_NEW_TOKENS": "16"}
    rows = [("local", measure({**base, "CATGPT_BACKEND": "local"}), None)]
    with served(args.model, name="memory") as (api_base, process):
        remote = measure({**base, "CATGPT_BACKEND": "openai", "CATGPT_API_BASE": api_base})
        rows.append(("openai", remote, rss_mb(process.pid)))
    print(f"model folder: {args.model.name}")
    print("| backend | bot RSS MB | bot peak MB | torch imported | server RSS MB |")
    print("|---|---|---|---|---|")
    for name, bot, server in rows:
        served_mb = f"{server[0]:.0f}" if server else "-"
        print(f"| {name} | {bot['rss']:.0f} | {bot['peak']:.0f} | {bot['torch']} | {served_mb} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
