"""`transformers serve` for the benchmarks: start it on a model folder, wait, stop it.

The same server the remote backend's tests use (tests/bot/serving.py), here with the options
a benchmark varies (continuous batching). Its log goes to bench/out/, never to a pipe: uvicorn
logs every request, and an unread pipe fills and blocks the server.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

OUT = Path(__file__).resolve().parent / "out"
# Continuous batching sizes its KV cache from free memory unless told (4 GB RSS for a tiny
# model, 10 s before the first answer); with 512 blocks and 2048 batch tokens it wanted 12 GB
# for GPT-2 124M and refused. These answer 32 concurrent requests in about 2 GB.
CB_OPTIONS = ("--continuous-batching", "--cb-num-blocks", "64", "--cb-max-batch-tokens", "256")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url + "/health", timeout=1) as response:
            return response.status == 200
    except OSError:
        return False


@contextlib.contextmanager
def served(
    folder: Path, *options: str, name: str = "serve", threads: int | None = None, within=180.0
):
    """Yield (api_base, process) while `transformers serve FOLDER` runs on a free port.

    threads: torch's CPU threads in the server (it has no flag; OMP_NUM_THREADS sets them).
    """
    executable = shutil.which("transformers", path=str(Path(sys.executable).parent))
    if executable is None:
        raise SystemExit("transformers serve is missing: pip install 'transformers[serving]'")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    OUT.mkdir(parents=True, exist_ok=True)
    log_path = OUT / f"{name}.log"
    command = [executable, "serve", str(folder), "--host", "127.0.0.1", "--port", str(port),
               "--device", "cpu", *options]  # fmt: skip
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    if threads:
        env["OMP_NUM_THREADS"] = str(threads)
    with log_path.open("wb") as log:
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        deadline = time.monotonic() + within
        while not healthy(url):
            if process.poll() is not None or time.monotonic() > deadline:
                raise SystemExit(f"transformers serve did not come up; see {log_path}")
            time.sleep(0.2)
        yield url + "/v1", process
    finally:
        process.terminate()
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def rss_mb(pid: int | str = "self") -> tuple[float, float]:
    """Resident memory now and at its peak (VmRSS, VmHWM), in MB, from /proc (Linux)."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key in ("VmRSS", "VmHWM"):
            fields[key] = int(value.split()[0]) / 1024  # kB -> MB (MiB)
    return fields["VmRSS"], fields["VmHWM"]
