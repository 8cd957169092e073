"""A real PostgreSQL server for the store's tests, started and stopped by the tests themselves.

`initdb` makes a throw-away cluster in a temporary folder (password login over TCP, so a wrong
password can be tested; trust over the unix socket in that folder, for the fixture's own
`createdb`), `postgres` serves it on a free loopback port for the session, and each test gets
a database of its own. PostgreSQL refuses to run as root, so under root (CI containers) the
cluster belongs to the `postgres` user Debian's package creates.

Without PostgreSQL installed the tests that need it skip, except under CI (env CI set), where
they fail: CI installs it (.ci/run), so a missing server there is a broken CI, not a choice.

Imported into the test module (not conftest.py): only the store's tests pay for a server.
"""

from __future__ import annotations

import glob
import itertools
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from .serving import free_port

READY_WITHIN = 60.0  # seconds; a cold start on a busy 2-core machine takes 1-3 s
USER = "catgpt"


def find_bin() -> Path | None:
    """The folder holding initdb: Debian's /usr/lib/postgresql/<version>/bin, else PATH."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=_version)
    if found:
        return Path(found[-1]).parent
    initdb = shutil.which("initdb")
    return Path(initdb).resolve().parent if initdb else None


def _version(path: str) -> tuple[int, ...]:
    version = Path(path).parts[-3]
    return tuple(int(part) for part in version.split(".") if part.isdigit())


class PostgresServer:
    """One cluster in a temporary folder, served on 127.0.0.1:<port>."""

    def __init__(self, bin_dir: Path):
        self.bin = bin_dir
        self.password = secrets.token_urlsafe(16)
        self.port = free_port()
        # Not pytest's tmp_path: its parents are private to the user running pytest (root),
        # where the server's own user could not reach the cluster.
        self.root = Path(tempfile.mkdtemp(prefix="catgpt-pg-"))
        self.data = self.root / "data"
        self.owner = _server_user()
        self.process: subprocess.Popen | None = None
        self._names = itertools.count(1)

    def url(self, database: str, *, password: str | None = None, scheme="postgresql") -> str:
        password = self.password if password is None else password
        return f"{scheme}://{USER}:{password}@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        password_file = self.root / "password"
        password_file.write_text(self.password + "\n")
        if self.owner is not None:
            group = pwd.getpwnam(self.owner).pw_gid
            shutil.chown(self.root, self.owner, group)
            shutil.chown(password_file, self.owner, group)
        self._run(
            "initdb", "-D", str(self.data), "-U", USER, f"--pwfile={password_file}",
            "--auth-host=scram-sha-256", "--auth-local=trust", "-E", "UTF8", "--no-sync",
        )  # fmt: skip
        log = (self.root / "server.log").open("ab")
        # fsync off: a test cluster need not survive a power cut; it makes commits ~10x faster.
        self.process = subprocess.Popen(
            [str(self.bin / "postgres"), "-D", str(self.data), "-p", str(self.port),
             "-k", str(self.root), "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
             "-c", "synchronous_commit=off", "-c", "full_page_writes=off"],
            stdout=log, stderr=subprocess.STDOUT, env=self._env(), **self._as_owner(),
        )  # fmt: skip
        log.close()
        deadline = time.monotonic() + READY_WITHIN
        while self._run("pg_isready", "-h", str(self.root), "-p", str(self.port), check=False):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"PostgreSQL did not start; see {self.root / 'server.log'}")
            time.sleep(0.1)

    def new_database(self) -> str:
        """A fresh, empty database's name: each test starts from nothing."""
        name = f"store_{next(self._names)}"
        self._run("createdb", "-h", str(self.root), "-p", str(self.port), "-U", USER, name)
        return name

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)  # "fast" shutdown: ends sessions, exits
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        shutil.rmtree(self.root, ignore_errors=True)

    def _run(self, program: str, *args: str, check: bool = True) -> int:
        done = subprocess.run(
            [str(self.bin / program), *args],
            capture_output=True, text=True, env=self._env(), **self._as_owner(),
        )  # fmt: skip
        if check and done.returncode:
            pytest.fail(f"{program} failed ({done.returncode}): {done.stderr.strip()}")
        return done.returncode

    def _as_owner(self) -> dict:
        """Popen's arguments to run as the cluster's owner (nothing when that is us)."""
        if self.owner is None:
            return {}
        # The owner's own group, and none of root's: postgres checks who owns its files.
        return dict(user=self.owner, group=pwd.getpwnam(self.owner).pw_gid, extra_groups=[])

    def _env(self) -> dict[str, str]:
        # C locale: the cluster must not depend on the machine's locales being generated.
        return {"PATH": os.environ.get("PATH", ""), "LC_ALL": "C", "LANG": "C", "TZ": "UTC"}


def _server_user() -> str | None:
    """Who runs the server: ourselves, or under root the `postgres` (else `nobody`) user."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        try:
            return pwd.getpwnam(name).pw_name
        except KeyError:
            continue
    pytest.fail("running as root, and there is no postgres or nobody user to run PostgreSQL")


@pytest.fixture(scope="session", name="postgres")
def postgres_fixture():
    bin_dir = find_bin()
    if bin_dir is None:
        message = "PostgreSQL is not installed (no initdb): apt-get install postgresql"
        if os.environ.get("CI"):
            pytest.fail(message + " (CI must run the PostgreSQL tests; .ci/run installs it)")
        pytest.skip(message)
    server = PostgresServer(bin_dir)
    server.start()
    try:
        yield server
    finally:
        server.stop()
