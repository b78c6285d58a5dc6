"""The executor interface: how the scheduler hands queued task instances over to be run.

The scheduler knows only this interface. It queues a task instance after putting it in the
`queued` state; whatever the executor starts then runs the task runner (windsock.scheduler.runner,
also `windsock tasks run`), which claims the task instance, runs it and records the outcome in
the database.
"""

from __future__ import annotations

import time
from abc import ABC, abstractmethod
from typing import NamedTuple


class TaskKey(NamedTuple):
    dag_id: str
    run_id: str
    task_id: str
    map_index: int = -1


class Executor(ABC):
    """Runs queued task instances, at most `parallelism` at once."""

    def start(self) -> None:
        """Get ready to run task instances (called once, before the first `queue`)."""

    @abstractmethod
    def queue(self, key: TaskKey) -> None:
        """Run the task instance `key` (now, or as soon as a slot is free)."""

    @abstractmethod
    def sync(self) -> int:
        """Take note of the task instances that finished (how many); never blocks."""

    def wait(self, timeout: float) -> None:
        """Block until a task instance may have finished, or `timeout` seconds passed."""
        time.sleep(timeout)

    @property
    @abstractmethod
    def open_slots(self) -> int:
        """How many more task instances may be queued now."""

    def end(self) -> None:
        """Stop starting task instances; those started go on and finish on their own."""
