"""Benchmark: `catgpt-train prepare` on a >= 1 GB DiscordChatExporter JSON export against a
plain `json.load` of the same file.

    python bench/parse.py                 # 1 GB (the target: peak < 300 MB, >= 50 MB/s)
    python bench/parse.py --size-mb 100   # a quick check
    python bench/parse.py --repeat 3      # best of three runs each, on a busy machine

Writes a synthetic export (a friend group with one persona, in DCE's pretty-printed shape,
about 1 KB a message like real exports with roles and avatars) to a temporary folder, runs
each contender in its own process and reads that process's peak resident memory from
`os.wait4`. Prints MB/s, messages/s and peak memory for each, and the ratios. With
`--repeat N` the contenders run N times, taking turns, and each keeps its best wall and CPU
time: on a machine shared with other work that is the figure least disturbed by it.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import ijson

ROOT = Path(__file__).resolve().parents[1]
DISCORD_EPOCH_MS = 1420070400000
PEOPLE = [("mochi", "Mochi"), ("alice_w", "Alice"), ("brunodev", "Bruno"), ("chen.li", "Chen"),
          ("dee", "Dee"), ("eli", "Eli")]
WORDS = ("the a i you it that was so lol what just like this game tonight food nap cat box "
         "tuna sleep work meeting weekend movie really maybe yeah no ok sure haha why when "
         "how later soon today tomorrow good great fun weird cool nice same mood").split()
MOCHI_ENDS = ["~", " :3", "~ :3", " nya~", " mrrp~"]


def author_block(index: int) -> str:
    username, nickname = PEOPLE[index]
    author = {"id": str(1180000000000000100 + index), "name": username, "discriminator": "0000",
              "nickname": nickname, "color": "#3498DB", "isBot": False,
              "roles": [{"id": "1180000000000000500", "name": "friends", "color": "#3498DB",
                         "position": 1}],
              "avatarUrl": f"https://cdn.discordapp.com/avatars/{1180000000000000100 + index}/"
                           "a1b2c3d4e5f6a7b8c9d0e1f2a3b4c5d6.png?size=512"}
    return json.dumps(author, indent=2).replace("\n", "\n      ")


def write_export(path: Path, size_bytes: int, seed: int = 0) -> int:
    """Stream a synthetic export of at least `size_bytes` to `path`; returns messages."""
    rng = random.Random(seed)
    authors = [author_block(i) for i in range(len(PEOPLE))]
    moment = datetime(2020, 1, 1, tzinfo=timezone.utc)
    count = 0
    with path.open("w", encoding="utf-8") as out:
        out.write('{\n  "guild": {\n    "id": "1180000000000000001",\n    "name": "Bench Guild",'
                  '\n    "iconUrl": ""\n  },\n  "channel": {\n    "id": "1180000000000000020",'
                  '\n    "type": "GuildTextChat",\n    "category": "Chat",\n    "name": "general",'
                  '\n    "topic": null\n  },\n  "dateRange": {\n    "after": null,\n'
                  '    "before": null\n  },\n  "messages": [\n')
        written = out.tell()
        first = True
        while written < size_bytes:
            moment += timedelta(hours=rng.uniform(1.5, 6))  # a new conversation
            for _ in range(rng.randint(10, 40)):
                moment += timedelta(seconds=rng.randint(10, 400))
                who = 0 if rng.random() < 0.3 else rng.randint(1, len(PEOPLE) - 1)
                text = " ".join(rng.choices(WORDS, k=rng.randint(3, 18)))
                if who == 0:
                    text += rng.choice(MOCHI_ENDS)
                elif rng.random() < 0.02:
                    text += " <@1180000000000000100> <:blobcat:1180000000000777001>"
                elif rng.random() < 0.005:
                    text += " mail me at someone@example.com or (201) 555-0123"
                count += 1
                millis = int(moment.timestamp() * 1000)
                message_id = ((millis - DISCORD_EPOCH_MS) << 22) + count % 4096
                chunk = (
                    ("" if first else ",\n")
                    + f'    {{\n      "id": "{message_id}",\n      "type": "Default",\n'
                    f'      "timestamp": "{moment.isoformat(timespec="milliseconds")}",\n'
                    '      "timestampEdited": null,\n      "callEndedTimestamp": null,\n'
                    f'      "isPinned": false,\n      "content": {json.dumps(text)},\n'
                    f'      "author": {authors[who]},\n      "attachments": [],\n'
                    '      "embeds": [],\n      "stickers": [],\n      "reactions": [],\n'
                    '      "mentions": []\n    }'
                )
                first = False
                out.write(chunk)
                written += len(chunk)
        out.write(f'\n  ],\n  "messageCount": {count}\n}}\n')
    return count


def measure(command: list[str]) -> tuple[float, float, int, int]:
    """(wall seconds, CPU seconds, peak RSS in bytes, exit code) of one process.

    CPU time is reported beside wall time because this may run on a shared machine:
    wall time then depends on what else runs, CPU time much less so. Both include a
    reader child process, if prepare starts one; peak RSS is the larger of the two.
    """
    start = time.perf_counter()
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL)
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    # ru_maxrss is in kilobytes on Linux (bytes on macOS).
    peak = usage.ru_maxrss * (1 if sys.platform == "darwin" else 1024)
    cpu = usage.ru_utime + usage.ru_stime
    return time.perf_counter() - start, cpu, peak, process.returncode


def _load() -> str:
    """The 1, 5 and 15 minute load averages, as /proc/loadavg gives them."""
    if not hasattr(os, "getloadavg"):
        return "unknown"
    return " ".join(f"{value:.2f}" for value in os.getloadavg())


BASELINE = "import json, sys; print(len(json.load(open(sys.argv[1], 'rb'))['messages']))"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=float, default=1024, help="export size (default 1024)")
    parser.add_argument("--dir", type=Path, default=None, help="scratch folder (default: a temp)")
    parser.add_argument("--no-baseline", action="store_true",
                        help="skip json.load (it needs several GB of memory at full size)")
    parser.add_argument("--repeat", type=int, default=1,
                        help="runs of each contender, taking turns; the best of each is kept")
    args = parser.parse_args()
    if ijson.backend != "yajl2_c":
        print(f"warning: ijson backend is {ijson.backend}, not yajl2_c: expect it to be slow")
    scratch = Path(tempfile.mkdtemp(prefix="catgpt-bench-", dir=args.dir))
    try:
        export = scratch / "export.json"
        started = time.perf_counter()
        messages = write_export(export, int(args.size_mb * 1024 * 1024))
        size_mb = export.stat().st_size / 1e6
        print(f"wrote {export.stat().st_size / 2**20:.0f} MiB, {messages:,} messages in "
              f"{time.perf_counter() - started:.0f} s; ijson backend {ijson.backend}; "
              f"{os.cpu_count()} CPUs; load average at the start: {_load()}")
        out = scratch / "dataset"
        prepare = [sys.executable, "-m", "training", "-q", "prepare", str(export),
                   "--persona", "mochi", "--out", str(out), "--overwrite"]
        contenders = [("prepare (streaming)", prepare)]
        if not args.no_baseline:
            contenders.append(("json.load baseline", [sys.executable, "-c", BASELINE,
                                                      str(export)]))
        best: dict[str, tuple] = {}
        for _ in range(max(1, args.repeat)):
            for name, command in contenders:
                seconds, cpu, peak, code = measure(command)
                old = best.get(name, (float("inf"), float("inf"), 0, 0))
                best[name] = (min(seconds, old[0]), min(cpu, old[1]), max(peak, old[2]),
                              code or old[3])
        rows = [(name, *best[name]) for name, _ in contenders]
        stats = json.loads((out / "stats.json").read_text()) if out.exists() else {}
        print(f"\nprepare: {stats.get('examples', '?'):,} examples from "
              f"{stats.get('messages_read', '?'):,} messages\n")
        print(f"{'':24} {'wall s':>7} {'MB/s':>7} {'messages/s':>11} {'CPU s':>7} "
              f"{'MB/CPU-s':>9} {'peak MB':>8}  exit")
        for name, seconds, cpu, peak, code in rows:
            print(f"{name:24} {seconds:7.1f} {size_mb / seconds:7.1f} "
                  f"{messages / seconds:11,.0f} {cpu:7.1f} {size_mb / cpu:9.1f} "
                  f"{peak / 1e6:8.0f}  {code}")
        print(f"\nload average at the end: {_load()} on {os.cpu_count()} CPUs (if it is above "
              "the CPU count, other work shared the machine and wall times are pessimistic)")
        if not args.no_baseline:
            _, base, base_cpu, base_peak, _ = rows[-1]
            for name, ours, our_cpu, our_peak, _ in rows[:-1]:
                print(f"{name} vs json.load: {base / ours:.2f}x the speed "
                      f"({base_cpu / our_cpu:.2f}x in CPU time; prepare also cleans, masks, "
                      f"builds examples, writes the dataset), {base_peak / our_peak:.1f}x less "
                      "memory")
        print("targets: peak < 300 MB for a 1 GB export, >= 50 MB/s")
        return 0 if all(row[-1] == 0 for row in rows) else 1
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
