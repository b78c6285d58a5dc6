"""LocalExecutor: each task instance runs in a child process (`windsock tasks run`) on this
machine, at most [core] parallelism at once."""

from __future__ import annotations

import logging
import subprocess
import sys
from collections import deque

from windsock import config
from windsock.scheduler.executors.base import Executor, TaskKey

log = logging.getLogger(__name__)


def command(key: TaskKey) -> list[str]:
    return [sys.executable, "-m", "windsock.cli", "tasks", "run", key.dag_id, key.task_id,
            key.run_id, "--map-index", str(key.map_index)]


class LocalExecutor(Executor):
    """Starts a task runner per task instance, in its own session so that signals sent to the
    scheduler's terminal do not reach it. The runner writes the task's log; its own errors go
    to the scheduler's stderr."""

    def __init__(self) -> None:
        self.parallelism = config.get_int("core", "parallelism")
        self.waiting: deque[TaskKey] = deque()
        self.running: dict[TaskKey, subprocess.Popen] = {}

    def queue(self, key: TaskKey) -> None:
        self.waiting.append(key)
        self._launch()

    def sync(self) -> None:
        for key, child in list(self.running.items()):
            if child.poll() is not None:
                del self.running[key]
                if child.returncode not in (0, 1):
                    log.warning("The task runner of %s exited with code %s", key,
                                child.returncode)
        self._launch()

    @property
    def open_slots(self) -> int:
        return max(0, self.parallelism - len(self.running) - len(self.waiting))

    def end(self) -> None:
        if self.waiting:
            log.info("%d queued task instances were not started", len(self.waiting))
        self.waiting.clear()

    def _launch(self) -> None:
        while self.waiting and len(self.running) < self.parallelism:
            key = self.waiting.popleft()
            self.running[key] = subprocess.Popen(
                command(key), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                start_new_session=True)
