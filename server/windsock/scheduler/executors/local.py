"""LocalExecutor: each task instance runs on this machine, in one of at most [core] parallelism
warm worker processes (see workers)."""

from __future__ import annotations

import logging
from collections import deque

from windsock import config
from windsock.scheduler.executors import workers
from windsock.scheduler.executors.base import Executor, TaskKey

log = logging.getLogger(__name__)


class LocalExecutor(Executor):
    """Runs each task runner in a warm worker forked from the scheduler. The runner writes the
    task's log; its own errors go to the scheduler's stderr."""

    def __init__(self) -> None:
        self.parallelism = config.get_int("core", "parallelism")
        self.waiting: deque[TaskKey] = deque()
        self.running: dict[TaskKey, workers.Worker] = {}
        self.pool = workers.WorkerPool(self.parallelism)

    def start(self) -> None:
        workers.preload()

    def queue(self, key: TaskKey) -> None:
        self.waiting.append(key)
        self._launch()

    def sync(self) -> int:
        finished = self.pool.finished()
        for key, code in finished:
            self.running.pop(key, None)
            if code not in (0, 1):
                log.warning("The task runner of %s ended with %s", key,
                            "its worker's death" if code is None else f"exit code {code}")
        self._launch()
        return len(finished)

    def wait(self, timeout: float) -> None:
        self.pool.wait(timeout)

    @property
    def open_slots(self) -> int:
        return max(0, self.parallelism - len(self.running) - len(self.waiting))

    def end(self) -> None:
        if self.waiting:
            log.info("%d queued task instances were not started", len(self.waiting))
        self.waiting.clear()
        self.pool.close()

    def _launch(self) -> None:
        while self.waiting and len(self.running) < self.parallelism:
            key = self.waiting.popleft()
            self.running[key] = self.pool.run(key)
