"""A real OpenAI-compatible server for the remote backend's tests: `transformers serve`.

`chatty_model_dir` is a tiny GPT-2 with our chat template, trained for a few seconds until it
answers "hi mochi" with "meow meow" and then, skipping eos, writes alice's next turn itself:
so a reply that stops at the next speaker is something the test can see fail. `serve` starts
`transformers serve` on that folder (one process for the whole session) on a free loopback
port, offline, and gives the tests a handle to freeze, kill and restart it.

Imported into the test module (not conftest.py), so only the tests that need a server pay for
one. The fixture functions have other names than their fixtures, so the import does not
shadow the test functions' parameters.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from .conftest import PERSONA, save_model_folder, tiny_gpt2

# What the tiny model learns: the persona answers, then (no eos) alice talks on.
LESSON = [
    ("alice", "hi mochi"),
    ("mochi", "meow meow\nalice: more fish please"),
    ("bob", "what game tonight?"),
    ("mochi", "the fish one"),
]
HEALTHY_WITHIN = 120.0  # seconds; start-up is 5-12 s on a busy 2-core machine


def lesson_text(eos: str) -> str:
    return "".join(f"{name}: {text}{eos}" for name, text in LESSON)


@pytest.fixture(scope="session", name="chatty_model_dir")
def chatty_model_dir_fixture(tmp_path_factory):
    import torch

    from training.model.bases import train_tiny_tokenizer
    from training.model.chat_template import install_chat_template

    folder = tmp_path_factory.mktemp("chatty-model")
    tokenizer = train_tiny_tokenizer([lesson_text("")] * 4, vocab_size=300)
    install_chat_template(tokenizer, PERSONA)
    torch.manual_seed(0)
    model = tiny_gpt2(tokenizer)
    ids = torch.tensor([tokenizer(lesson_text(tokenizer.eos_token))["input_ids"]])
    optimizer = torch.optim.AdamW(model.parameters(), lr=3e-3)
    threads = torch.get_num_threads()
    # One thread: on a shared 2-core machine OpenMP threads spinning against other processes
    # made these 150 small steps take 16 s instead of 1.5 s.
    torch.set_num_threads(1)
    try:
        for _ in range(150):  # overfit: greedy decoding then repeats the lesson exactly
            loss = model(input_ids=ids, labels=ids).loss
            loss.backward()
            optimizer.step()
            optimizer.zero_grad()
    finally:
        torch.set_num_threads(threads)
    model.eval()
    return save_model_folder(model, tokenizer, folder, max_new_tokens=16)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Server:
    """One `transformers serve` process on a fixed port; restartable on the same port."""

    def __init__(self, executable: str, folder: Path, log_path: Path):
        self.executable = executable
        self.model = str(folder)  # the server answers to exactly this string
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.api_base = self.url + "/v1"
        self.log_path = log_path
        self.process: subprocess.Popen | None = None

    def start(self) -> None:
        command = [self.executable, "serve", self.model, "--host", "127.0.0.1",
                   "--port", str(self.port), "--device", "cpu"]  # fmt: skip
        env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        # A file, not a PIPE: uvicorn logs every request, and an unread pipe fills and blocks.
        with self.log_path.open("ab") as log:
            self.process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env)
        deadline = time.monotonic() + HEALTHY_WITHIN
        while not self.healthy():
            if self.process.poll() is not None:
                code = self.process.returncode
                pytest.fail(f"transformers serve exited ({code}); see {self.log_path}")
            if time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"transformers serve not healthy in time; see {self.log_path}")
            time.sleep(0.2)

    def healthy(self) -> bool:
        try:
            with urllib.request.urlopen(self.url + "/health", timeout=1) as response:
                return response.status == 200
        except OSError:
            return False

    def freeze(self) -> None:
        """SIGSTOP: connections are still accepted by the kernel, but nothing answers."""
        self.process.send_signal(signal.SIGSTOP)

    def thaw(self) -> None:
        self.process.send_signal(signal.SIGCONT)

    def kill(self) -> None:
        """Die like a crashed server: no goodbye, connections reset."""
        self.process.kill()
        self.process.wait()

    def stop(self) -> None:
        if self.process is None or self.process.poll() is not None:
            return
        self.thaw()
        self.process.terminate()
        try:
            self.process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.kill()

    def request_arrived(self) -> bool:
        """A request waits unread on the server's port (Linux: /proc/net/tcp; elsewhere True)."""
        try:
            lines = Path("/proc/net/tcp").read_text().splitlines()[1:]
        except OSError:
            return True  # cannot tell: go ahead
        for line in lines:
            fields = line.split()
            local, state, queues = fields[1], fields[3], fields[4]
            rx_queue = int(queues.split(":")[1], 16)
            if int(local.split(":")[1], 16) == self.port and state == "01" and rx_queue > 0:
                return True
        return False


@pytest.fixture(scope="session", name="serve")
def serve_fixture(chatty_model_dir, tmp_path_factory):
    executable = shutil.which("transformers", path=str(Path(sys.executable).parent))
    if executable is None:
        pytest.skip("the transformers CLI is missing: pip install 'transformers[serving]'")
    server = Server(executable, chatty_model_dir, tmp_path_factory.mktemp("serve") / "serve.log")
    server.start()
    try:
        yield server
    finally:
        server.stop()
