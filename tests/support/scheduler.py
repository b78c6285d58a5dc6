"""A real `windsock scheduler` process for the end-to-end tests, and helpers to watch runs.

The scheduler runs with the test's environment (same WINDSOCK_HOME and database as the test
process and the api-server), fast loop settings, and its output in a file, so a failing test
can show what the scheduler said. `stop()` asks it to stop with SIGTERM and checks that it
exits cleanly; `kill()` is SIGKILL, for the restart tests.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

# Fast settings: the tests wait on the scheduler, so it loops and heartbeats often.
FAST_SETTINGS = {
    "WINDSOCK__SCHEDULER__LOOP_INTERVAL": "1",
    "WINDSOCK__SCHEDULER__TASK_HEARTBEAT_INTERVAL": "1",
    "WINDSOCK__SCHEDULER__HEALTH_CHECK_THRESHOLD": "10",
}
STOP_TIMEOUT = 30  # seconds a scheduler may take to exit after SIGTERM


def process_alive(pid: int) -> bool:
    """Whether a process with this id exists and is not a zombie (a zombie has exited; it only
    waits for its parent, or init in a container, to reap it)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except (FileNotFoundError, ProcessLookupError):
        return False
    except OSError:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    state = stat.rsplit(")", 1)[1].split()[0]  # the field after "(comm)"
    return state not in ("Z", "X")


class SchedulerProcess:
    """One `windsock scheduler` child process."""

    def __init__(self, env: dict[str, str], log_file: Path):
        self.env = env
        self.log_file = log_file
        self._log = log_file.open("ab")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "windsock.cli", "scheduler"], env={**os.environ, **env},
            stdout=self._log, stderr=subprocess.STDOUT, start_new_session=True)
        self.pid = self.proc.pid

    def output(self, tail: int = 80) -> str:
        try:
            lines = self.log_file.read_text(errors="replace").splitlines()
        except FileNotFoundError:
            return "(no output)"
        return "\n".join(lines[-tail:])

    def describe(self) -> str:
        status = "running" if self.proc.poll() is None else f"exited {self.proc.returncode}"
        return f"scheduler pid {self.pid} ({status}); last output:\n{self.output()}"

    def alive(self) -> bool:
        return self.proc.poll() is None

    def assert_alive(self) -> None:
        assert self.alive(), f"the scheduler died: {self.describe()}"

    def wait_started(self, timeout: float = 60) -> None:
        """Until the scheduler has registered its job row (its first heartbeat)."""
        from sqlalchemy import select

        from windsock.db.engine import session
        from windsock.db.models import Job

        def registered() -> bool:
            self.assert_alive()
            with session() as sess:
                return sess.scalar(select(Job.id).where(
                    Job.job_type == "scheduler", Job.pid == self.pid)) is not None

        wait_for(registered, timeout, "the scheduler to register its job", self.describe)

    def stop(self, timeout: float = STOP_TIMEOUT) -> int:
        """SIGTERM, and the exit code; SIGKILL (and an AssertionError) when it hangs."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
                self._log.close()
                raise AssertionError(f"the scheduler did not exit within {timeout} s of SIGTERM:"
                                     f"\n{self.output()}") from None
        self._log.close()
        return self.proc.returncode

    def kill(self) -> None:
        """SIGKILL: no chance to clean up (the tasks it started live on, in their own sessions)."""
        self.proc.kill()
        self.proc.wait()
        self._log.close()


@contextmanager
def scheduler_process(env: dict[str, str], log_file: Path, *,
                      check_exit: bool = True) -> Iterator[SchedulerProcess]:
    """Run a scheduler until the block ends; then stop it and (by default) check it exited 0."""
    scheduler = SchedulerProcess(env, log_file)
    try:
        scheduler.wait_started()
        yield scheduler
    finally:
        was_alive = scheduler.alive()
        code = scheduler.stop()
        if check_exit:
            assert was_alive, f"the scheduler died before the end: {scheduler.describe()}"
            assert code == 0, (f"the scheduler exited with {code} after SIGTERM:\n"
                               f"{scheduler.output()}")


def wait_for(condition: Callable[[], T], timeout: float, what: str,
             describe: Callable[[], str] | None = None, interval: float = 0.25) -> T:
    """Call `condition` until it returns something truthy; that value. Fails after `timeout`
    seconds, with `describe()` (the state of things) in the message."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() > deadline:
            detail = f"\n{describe()}" if describe else ""
            raise AssertionError(f"timed out after {timeout} s waiting for {what}{detail}")
        time.sleep(interval)


def database_state(dag_ids: list[str] | None = None) -> str:
    """The runs and task instances in the database (of `dag_ids`), for failure messages."""
    from sqlalchemy import select

    from windsock.db.engine import session
    from windsock.db.models import DagRun, Job, TaskInstance

    lines = []
    with session() as sess:
        runs = select(DagRun).order_by(DagRun.dag_id, DagRun.run_id)
        tis = select(TaskInstance).order_by(TaskInstance.dag_id, TaskInstance.run_id,
                                            TaskInstance.task_id)
        if dag_ids:
            runs = runs.where(DagRun.dag_id.in_(dag_ids))
            tis = tis.where(TaskInstance.dag_id.in_(dag_ids))
        for run in sess.scalars(runs):
            lines.append(f"run {run.dag_id}/{run.run_id}: {run.state}")
        for ti in sess.scalars(tis):
            lines.append(f"  ti {ti.dag_id}/{ti.run_id}/{ti.task_id}: {ti.state} "
                         f"try {ti.try_number}/{ti.max_tries} pid {ti.pid} "
                         f"start {ti.start_date} end {ti.end_date} queued {ti.queued_dttm} "
                         f"by job {ti.queued_by_job_id} heartbeat {ti.last_heartbeat_at}")
        for job in sess.scalars(select(Job).order_by(Job.id)):
            lines.append(f"job {job.id} {job.job_type} pid {job.pid}: {job.state} "
                         f"heartbeat {job.latest_heartbeat} end {job.end_date}")
    return "\n".join(lines) or "(no runs)"


def active_work() -> list[str]:
    """What is still going on: runs that are running, or queued in an unpaused DAG (a paused
    DAG's queued run waits for good), and task instances that are queued, running or
    restarting."""
    from sqlalchemy import select

    from windsock.db.engine import session
    from windsock.db.models import Dag, DagRun, TaskInstance

    with session() as sess:
        runs = [f"{r.dag_id}/{r.run_id}: {r.state}" for r in sess.scalars(
            select(DagRun).join(Dag, Dag.dag_id == DagRun.dag_id, isouter=True).where(
                (DagRun.state == "running")
                | ((DagRun.state == "queued") & Dag.is_paused.is_not(True))))]
        tis = [f"{t.dag_id}/{t.run_id}/{t.task_id}: {t.state}" for t in sess.scalars(
            select(TaskInstance).where(
                TaskInstance.state.in_(("queued", "running", "restarting"))))]
    return runs + tis
