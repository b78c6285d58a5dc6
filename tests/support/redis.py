"""A throwaway Redis server for the Celery tests and the benchmark.

Installs Debian's `redis-server` package when the binary is missing (as tests/support/postgres
installs PostgreSQL), then runs it on a free port on 127.0.0.1 with its data in a temporary
folder, append-only file on (as a broker that must keep its messages across a restart is run),
so that `restart` keeps what was queued.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from pathlib import Path

from tests.support.ports import free_port

START_TIMEOUT = 20  # seconds


def _install() -> str:
    binary = shutil.which("redis-server")
    if binary is None:
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
        subprocess.run(["apt-get", "install", "-y", "-qq", "redis-server"], check=True, env=env)
        binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server not found after installing redis-server")
    return binary


class RedisServer:
    """One redis-server process; `url` is its broker URL."""

    def __init__(self) -> None:
        self.binary = _install()
        self.folder = Path(tempfile.mkdtemp(prefix="windsock-redis-"))
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.proc: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [self.binary, "--port", str(self.port), "--bind", "127.0.0.1", "--dir",
             str(self.folder), "--appendonly", "yes", "--save", "", "--protected-mode", "no"],
            stdout=(self.folder / "redis.log").open("ab"), stderr=subprocess.STDOUT,
            start_new_session=True)
        deadline = time.monotonic() + START_TIMEOUT
        while not self._answers():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start:\n{self.output()}")
            time.sleep(0.05)

    def _answers(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as sock:
                sock.sendall(b"PING\r\n")
                return sock.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def output(self) -> str:
        return (self.folder / "redis.log").read_text(errors="replace")[-4000:]

    def stop(self) -> None:
        """SIGTERM (redis-server writes its append-only file and exits) and wait."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            self.proc.wait(timeout=30)
        self.proc = None

    def restart(self) -> None:
        self.stop()
        self.start()

    def close(self) -> None:
        self.stop()
        shutil.rmtree(self.folder, ignore_errors=True)
