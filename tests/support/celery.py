"""A real `windsock celery worker` process for the end-to-end tests, as one machine: its own
hostname and log server address (a loopback address of its own, 127.0.0.2 and up), its own log
folder, its output in a file (each start's output after the previous one's)."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path

from tests.support.scheduler import wait_for

READY_TIMEOUT = 60  # seconds
STOP_TIMEOUT = 60  # seconds a warm shutdown may take (the tests' tasks last a few seconds)


class CeleryWorker:
    """One `windsock celery worker` process (in its own session), as one machine."""

    def __init__(self, env: dict[str, str], hostname: str, queues: str, folder: Path):
        self.env = {**os.environ, **env, "WINDSOCK__CORE__HOSTNAME": hostname,
                    "WINDSOCK__LOGGING__WORKER_LOG_SERVER_HOST": hostname,
                    "WINDSOCK__LOGGING__BASE_LOG_FOLDER": str(folder / "logs")}
        self.hostname = hostname
        self.queues = queues
        self.nodename = f"windsock@{hostname}"
        self.log_folder = folder / "logs"
        self.output_file = folder / "worker.log"
        self.port = int(env["WINDSOCK__LOGGING__WORKER_LOG_SERVER_PORT"])
        folder.mkdir(parents=True, exist_ok=True)
        self.start()

    def start(self) -> None:
        """Start the worker (again, after `kill` or `stop`); `wait_ready` waits for it."""
        self._output_from = self.output_file.stat().st_size if self.output_file.exists() else 0
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "windsock.cli", "celery", "worker", "--queues", self.queues,
             "--concurrency", "2"],
            env=self.env, stdout=self.output_file.open("ab"), stderr=subprocess.STDOUT,
            start_new_session=True)

    def _said(self) -> str:
        """What this start of the worker wrote."""
        with self.output_file.open("rb") as output:
            output.seek(self._output_from)
            return output.read().decode(errors="replace")

    def output(self, tail: int = 60) -> str:
        lines = self._said().splitlines()
        return f"worker {self.hostname} (pid {self.proc.pid}):\n" + "\n".join(lines[-tail:])

    def _serving(self) -> bool:
        try:
            socket.create_connection((self.hostname, self.port), timeout=1).close()
        except OSError:
            return False
        return True

    def wait_ready(self) -> None:
        def ready() -> bool:
            assert self.proc.poll() is None, f"the worker died:\n{self.output()}"
            return " ready." in self._said() and self._serving()

        wait_for(ready, READY_TIMEOUT, f"worker {self.hostname} to be ready", self.output)

    def log_server_pid(self) -> int:
        """The pid of the worker's log server (a child process with its own title)."""
        from windsock.log_server import TITLE

        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        return next(int(pid) for pid in children.split()
                    if Path(f"/proc/{pid}/cmdline").read_bytes().rstrip(b"\0") == TITLE.encode())

    def kill(self) -> None:
        """SIGKILL to the worker's every process (the log server and the pool included)."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> int | None:
        """SIGTERM to the worker's main process (a warm shutdown: it finishes its running tasks
        first) and its exit code; None when it hung and was killed."""
        code = None
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                code = self.proc.wait(timeout=STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.kill()
        else:
            code = self.proc.returncode
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # whatever it left behind
        except ProcessLookupError:
            pass
        return code
