"""Warm task workers: processes forked from the executor's process (Windsock, SQLAlchemy and the
DAG-loading machinery imported), each of which runs task runners in-process, one task instance
after another, so that starting a task costs a fork rather than a Python interpreter.

The pool forks a worker when it has a task instance to run and no idle worker, up to its size.
It sends a worker the key of the task instance on the worker's own pipe and hears of the
outcome (the runner's exit code) on a pipe all workers share, which `wait` can select on. A
worker that dies is noticed by `finished` (its task instance reported with no exit code); its
task's processes die with it (see process_group). Closing the pool, or the end of the process
that holds it, lets each worker finish its task instance and exit.
"""

from __future__ import annotations

import importlib
import json
import logging
import os
import select
import signal
import time
from dataclasses import dataclass, field

import setproctitle

from windsock import forking
from windsock.db import engine
from windsock.scheduler.executors.base import TaskKey

log = logging.getLogger(__name__)
IDLE_TITLE = "windsock task worker"


@dataclass
class Worker:
    """A worker process as the pool sees it: its pid, its request pipe, its task instance."""

    pid: int
    requests: int  # the write end of the worker's request pipe
    key: TaskKey | None = None
    exited: bool = field(default=False)

    def poll(self) -> bool:
        """Whether the worker has exited (and is reaped)."""
        if not self.exited:
            try:
                self.exited = bool(os.waitpid(self.pid, os.WNOHANG)[0])
            except ChildProcessError:
                self.exited = True
        return self.exited

    def wait(self, timeout: float) -> None:
        """Wait up to `timeout` seconds for the worker to exit."""
        deadline = time.monotonic() + timeout
        while not self.poll() and time.monotonic() < deadline:
            time.sleep(0.05)

    def send_signal(self, signum: int) -> None:
        os.kill(self.pid, signum)

    def kill(self) -> None:
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        self.send_signal(signal.SIGTERM)


class WorkerPool:
    """At most `size` warm workers, forked when needed."""

    def __init__(self, size: int):
        self.size = size
        self.workers: dict[int, Worker] = {}
        self._results, self._results_writer = os.pipe()
        os.set_blocking(self._results, False)
        self._pending = b""

    @property
    def idle(self) -> int:
        return sum(worker.key is None for worker in self.workers.values())

    def run(self, key: TaskKey) -> Worker:
        """Hand `key` to an idle worker (forked if there is none); the worker."""
        worker = next((w for w in self.workers.values() if w.key is None), None)
        if worker is None:
            if len(self.workers) >= self.size:
                raise RuntimeError("every worker is busy")
            worker = self._fork()
        worker.key = key
        os.write(worker.requests, (json.dumps(list(key)) + "\n").encode())
        return worker

    def wait(self, timeout: float) -> None:
        """Block until a worker reports an outcome or `timeout` seconds pass."""
        if not self._pending:
            select.select([self._results], [], [], timeout)

    def finished(self) -> list[tuple[TaskKey, int | None]]:
        """The task instances that finished since the last call, with their runners' exit code
        (None when the worker died)."""
        done = []
        for pid, code in self._read_results():
            worker = self.workers.get(pid)
            if worker is not None and worker.key is not None:
                done.append((worker.key, code))
                worker.key = None
        for worker in list(self.workers.values()):
            if worker.poll():
                del self.workers[worker.pid]
                os.close(worker.requests)
                if worker.key is not None:
                    done.append((worker.key, None))
        return done

    def close(self) -> None:
        """No more task instances: each worker exits once its current one is done."""
        for worker in self.workers.values():
            os.close(worker.requests)
        self.workers.clear()

    def _read_results(self) -> list[tuple[int, int]]:
        try:
            while chunk := os.read(self._results, 65536):
                self._pending += chunk
        except BlockingIOError:
            pass
        *lines, self._pending = self._pending.split(b"\n")
        return [tuple(map(int, line.split())) for line in lines]

    def _fork(self) -> Worker:
        reader, writer = os.pipe()

        def serve() -> None:
            os.close(writer)
            for other in self.workers.values():  # so that closing them ends those workers
                os.close(other.requests)
            os.close(self._results)
            _serve(reader, self._results_writer)

        pid = forking.fork(serve, "A task worker")  # (the pool forks another)
        os.close(reader)
        worker = Worker(pid, writer)
        self.workers[pid] = worker
        return worker


def preload() -> None:
    """Import what a worker needs to run tasks, before workers are forked (the runner, and the
    DAG loader it uses to import a Python task's DAG file)."""
    for module in ("windsock.dags.loader", "windsock.scheduler.runner"):
        importlib.import_module(module)


def _idle(*_) -> None:
    """SIGTERM or SIGINT while no task instance runs: the worker exits."""
    os._exit(0)


def _serve(requests: int, results: int) -> None:
    """A worker's life: run each task instance whose key arrives on `requests` and report
    `<pid> <exit code>` on `results`, until `requests` closes or the worker is asked to stop."""
    from windsock.scheduler import runner

    os.setsid()  # signals meant for the scheduler's terminal do not reach the tasks
    engine.engine().dispose(close=False)  # the parent's connections stay the parent's
    setproctitle.setproctitle(IDLE_TITLE)
    with os.fdopen(requests, encoding="utf-8") as lines:
        for signum in (signal.SIGTERM, signal.SIGINT):
            signal.signal(signum, _idle)
        for line in lines:
            key = TaskKey(*json.loads(line))
            setproctitle.setproctitle(f"{IDLE_TITLE}: {'/'.join(map(str, key))}")
            try:
                code = runner.run_task(key)
            except Exception:  # noqa: BLE001 - the runner's own failure, reported as such
                log.exception("The task runner of %s failed", key)
                code = 2
            try:
                os.write(results, f"{os.getpid()} {code}\n".encode())
            except BrokenPipeError:  # the pool is gone (its scheduler ended): so is the worker
                return
            if runner.stop_requested():
                return
            setproctitle.setproctitle(IDLE_TITLE)
            for signum in (signal.SIGTERM, signal.SIGINT):
                signal.signal(signum, _idle)
