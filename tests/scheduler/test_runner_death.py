"""A task runner killed with SIGKILL together with its guard leaves its task's processes behind,
and the retry that the scheduler starts stops them before it begins: it never runs beside what
is left of the previous try. (A runner killed alone takes its task's processes with it: that,
with either executor, is in tests/e2e/test_executor_faults.py.)

The tasks append `<try> <writer> <time>` lines to a file ten times a second, from the task's
process (`child`) and from a process it started (`grandchild`; the shell task's ignores
SIGTERM), so the file tells when each try's processes ran."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy import update

from tests.scheduler.conftest import log_text, new_run, process_gone, ti
from tests.support.scheduler import database_state, wait_for
from windsock.db.engine import session
from windsock.db.models import Dag, TaskInstance
from windsock.scheduler import process_group
from windsock.scheduler.executors import LocalExecutor, TaskKey
from windsock.scheduler.loop import Scheduler

BEAT = 'while true; do echo "$WINDSOCK_TRY $2 $(date +%s.%N)" >> "$1"; sleep 0.1; done\n'
DAGS = """
import os, subprocess, time
from datetime import timedelta
from windsock import DAG, ShellTask, task

BEAT, BEATS = {beat!r}, {beats!r}
RETRY = {{"retries": 1, "retry_delay": timedelta(0)}}

with DAG("shell_beats", default_args=RETRY) as shell_dag:
    ShellTask("beat", f"(trap '' TERM; sh {{BEAT}} {{BEATS}} grandchild) & "
                      f"sh {{BEAT}} {{BEATS}} child")

with DAG("python_beats", default_args=RETRY) as python_dag:
    @task
    def beat():
        subprocess.Popen(["sh", BEAT, BEATS, "grandchild"])
        while True:
            with open(BEATS, "a") as beats:
                beats.write(f"{{os.environ['WINDSOCK_TRY']}} child {{time.time()}}\\n")
            time.sleep(0.1)

    beat()
"""
WRITERS = {"child", "grandchild"}
HEARTBEAT_TIMEOUT = 2  # seconds, so that the scheduler soon retries a task whose runner died


@pytest.fixture
def beats(add_dags, tmp_path, monkeypatch) -> Path:
    """The beating DAGs, unpaused; the file their tasks write to."""
    monkeypatch.setenv("WINDSOCK__SCHEDULER__TASK_HEARTBEAT_TIMEOUT", str(HEARTBEAT_TIMEOUT))
    (tmp_path / "beat.sh").write_text(BEAT)
    path = tmp_path / "beats"
    add_dags(DAGS.format(beat=str(tmp_path / "beat.sh"), beats=str(path)))
    with session() as sess:
        sess.execute(update(Dag).values(is_paused=False))
    return path


def read_beats(path: Path) -> dict[int, dict[str, list[float]]]:
    """The times written, by try number and writer (whole lines only)."""
    tries: dict[int, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    text = path.read_text() if path.exists() else ""
    for line in text[:text.rfind("\n") + 1].splitlines():
        tag, writer, at = line.split()
        tries[int(tag.rsplit("/", 1)[1])][writer].append(float(at))
    return tries


@contextmanager
def local_scheduler() -> Iterator[Scheduler]:
    """A scheduler with the local executor, driven by the test; the runners it started are
    stopped at the end."""
    scheduler = Scheduler(LocalExecutor())
    scheduler.start()
    try:
        yield scheduler
    finally:
        for runner in scheduler.executor.running.values():
            runner.terminate()
            runner.wait(timeout=30)
        scheduler.stop()
        scheduler.end()


def drive(scheduler: Scheduler, until: Callable[[], bool], what: str) -> None:
    def round_then_check() -> bool:
        scheduler.run_once()
        return until()

    wait_for(round_then_check, 60, what, lambda: database_state())


@pytest.mark.parametrize("killed", ["after-a-heartbeat", "before-a-heartbeat"])
@pytest.mark.parametrize("dag_id", ["shell_beats", "python_beats"])
def test_a_killed_runners_task_is_stopped_by_its_retry_before_it_begins(beats, dag_id, killed):
    """`before-a-heartbeat`: both died before a heartbeat recorded the process group, so the
    retry finds what is left by the try's tag."""
    run_id = new_run(dag_id)
    key = TaskKey(dag_id, run_id, "beat")
    with local_scheduler() as scheduler:
        drive(scheduler, lambda: set(read_beats(beats)[1]) == WRITERS, "try 1 to beat")
        runner = scheduler.executor.running[key]
        guard = wait_for(lambda: ti(*key[:3]).pgid, 30, "a heartbeat to record the group")
        runner.send_signal(signal.SIGSTOP)  # both at once: the runner must not see its guard die
        os.kill(guard, signal.SIGKILL)
        runner.kill()
        killed_at = time.time()
        if killed == "before-a-heartbeat":
            with session() as sess:
                sess.execute(update(TaskInstance).where(
                    TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id,
                    TaskInstance.task_id == "beat").values(pgid=None))
        drive(scheduler, lambda: set(read_beats(beats)[2]) == WRITERS, "try 2 to beat")

    tries = read_beats(beats)
    first_ended = max(max(times) for times in tries[1].values())
    assert first_ended < min(min(times) for times in tries[2].values())
    # left running, until the retry's runner stopped them before it began
    assert first_ended > killed_at + 1
    assert "Stopped the processes of try 1" in log_text(*key[:3], 2)


def test_reaping_leaves_a_process_group_of_another_try_alone():
    """A recorded process group id may be reused by unrelated processes once the try's are gone."""
    other = subprocess.Popen(["sleep", "30"], start_new_session=True)
    try:
        assert process_group.reap(other.pid, "dag/run/task/-1/1", 0.5) is None
        assert not process_gone(other.pid)
    finally:
        other.kill()
        other.wait()
