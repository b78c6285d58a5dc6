"""A scheduler killed with SIGKILL in the middle of a run, and a new one started in its place:
the run finishes, and no task runs twice, let alone twice at once.

The DAG e2e_restart (tests/e2e/run_dags) has each task append `start <task> <pid> <time>` and
`end <task> <pid> <time>` to a journal file (its `journal` param); the tests read the journal
back. The schedulers here are started by the tests themselves (not the module fixture), with
a short [scheduler] health_check_threshold so that a new scheduler soon takes the dead one's
queued task instances back.
"""

from __future__ import annotations

import random
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

import pytest
import windsock_client
from windsock_client.models import DAGPatch, DAGRunCreate

from tests.e2e.conftest import RunDags, scheduler_env, settle
from tests.support.scheduler import (
    SchedulerProcess,
    database_state,
    process_alive,
    wait_for,
)

DAG_ID = "e2e_restart"
TASKS = {"start", "sleeper", "after_1", "after_2", "after_3", "finish", "side_1", "side_2"}
HEALTH_CHECK_THRESHOLD = "4"


class Schedulers:
    """Schedulers started one after the other; every one still alive is stopped at the end."""

    def __init__(self, env: dict[str, str], dags_folder: Path, log_folder: Path):
        self.env = scheduler_env(env, dags_folder,
                                 WINDSOCK__SCHEDULER__HEALTH_CHECK_THRESHOLD=HEALTH_CHECK_THRESHOLD)
        self.log_folder = log_folder
        self.started: list[SchedulerProcess] = []

    def start(self) -> SchedulerProcess:
        number = len(self.started) + 1
        scheduler = SchedulerProcess(self.env, self.log_folder / f"scheduler-{number}.log")
        self.started.append(scheduler)
        scheduler.wait_started()
        return scheduler

    def describe(self) -> str:
        return "\n".join(s.describe() for s in self.started[-2:])


@pytest.fixture
def schedulers(migrated, run_dags: RunDags, tmp_path) -> Iterator[Schedulers]:
    started = Schedulers(migrated, run_dags.path, tmp_path)
    try:
        yield started
        if started.started and started.started[-1].alive():
            settle(started.started[-1])
    finally:
        alive = [s for s in started.started if s.alive()]
        codes = [(s.pid, s.stop()) for s in alive]
        assert all(code == 0 for _, code in codes), (codes, started.describe())
        # A scheduler stopped with SIGTERM records that it ended.
        for scheduler in alive:
            job = _job(scheduler.pid)
            assert job is not None and job[0] == "success" and job[1] is not None, (
                job, scheduler.describe())


def _job(pid: int):
    """(state, end_date) of the scheduler job of the process `pid`."""
    from sqlalchemy import select

    from windsock.db.engine import session
    from windsock.db.models import Job

    with session() as sess:
        row = sess.execute(select(Job.state, Job.end_date).where(
            Job.job_type == "scheduler", Job.pid == pid).order_by(Job.id.desc())).first()
    return tuple(row) if row else None


def _trigger(api_client, journal: Path) -> str:
    windsock_client.DAGApi(api_client).patch_dag(DAG_ID, DAGPatch(is_paused=False),
                                                  update_mask=["is_paused"])
    run = windsock_client.DAGRunApi(api_client).post_dag_run(
        DAG_ID, DAGRunCreate(dag_run_id=f"restart_{time.time_ns()}",
                             conf={"journal": str(journal)}))
    return run.dag_run_id


def _journal(path: Path) -> dict[str, list[tuple[str, int, float]]]:
    """task_id -> [(event, pid, time), ...] in the order written."""
    events: dict[str, list[tuple[str, int, float]]] = defaultdict(list)
    if path.exists():
        for line in path.read_text().splitlines():
            event, task_id, pid, at = line.split()
            events[task_id].append((event, int(pid), float(at)))
    return events


def _assert_each_task_ran_once(journal: Path, api_client, run_id: str, describe) -> None:
    events = _journal(journal)
    text = journal.read_text()
    assert set(events) == TASKS, f"tasks in the journal: {sorted(events)}\n{text}"
    for task_id, noted in events.items():
        # exactly one start then one end, by the same process: never run twice, and so never
        # twice at the same time
        assert [event for event, _, _ in noted] == ["start", "end"], f"{task_id}:\n{text}"
        (_, start_pid, started), (_, end_pid, ended) = noted
        assert start_pid == end_pid and started <= ended, f"{task_id}:\n{text}"
    # and in dependency order
    first = {task_id: noted[0][2] for task_id, noted in events.items()}
    last = {task_id: noted[-1][2] for task_id, noted in events.items()}
    for upstream, downstream in [("start", "sleeper"), ("start", "side_1"), ("start", "side_2"),
                                 ("sleeper", "after_1"), ("sleeper", "after_2"),
                                 ("sleeper", "after_3"), ("after_1", "finish"),
                                 ("after_2", "finish"), ("after_3", "finish")]:
        assert last[upstream] <= first[downstream], f"{upstream} -> {downstream}:\n{text}"

    tis = windsock_client.TaskInstanceApi(api_client).get_task_instances(DAG_ID, run_id)
    states = {ti.task_id: (ti.state, ti.try_number) for ti in tis.task_instances}
    assert states == {task_id: ("success", 1) for task_id in TASKS}, (states, describe())


def test_a_killed_scheduler_is_replaced_and_the_run_finishes(api_client, schedulers, tmp_path):
    journal = tmp_path / "journal.txt"
    first = schedulers.start()
    run_id = _trigger(api_client, journal)
    runs = windsock_client.DAGRunApi(api_client)

    def describe() -> str:
        return f"{database_state([DAG_ID])}\n{schedulers.describe()}\njournal:\n" + (
            journal.read_text() if journal.exists() else "(empty)")

    # Kill the scheduler while `sleeper` runs and the tasks after it wait.
    wait_for(lambda: "start sleeper" in (journal.read_text() if journal.exists() else ""), 60,
             "the sleeper task to start", describe)
    first.kill()
    assert not first.alive()
    assert "end sleeper" not in journal.read_text(), "sleeper ended before the kill"
    assert runs.get_dag_run(DAG_ID, run_id).state == "running"

    # The tasks the dead scheduler started go on in their own processes.
    second = schedulers.start()
    run = wait_for(lambda: (r := runs.get_dag_run(DAG_ID, run_id)).state in ("success", "failed")
                   and r, 90, "the run to finish under the new scheduler", describe)
    assert run.state == "success", describe()
    second.assert_alive()
    _assert_each_task_ran_once(journal, api_client, run_id, describe)


def test_schedulers_killed_again_and_again_still_run_each_task_once(api_client, schedulers,
                                                                    tmp_path):
    """SIGKILL a scheduler at random moments (between 0.3 and 2.5 s after it started), start a
    new one, again and again until the run is over: whatever moment a kill lands on (queueing,
    spawning a task, finishing a run), each task runs exactly once."""
    journal = tmp_path / "journal.txt"
    rng = random.Random(4)
    run_id = None
    runs = windsock_client.DAGRunApi(api_client)

    def describe() -> str:
        return f"{database_state([DAG_ID])}\n{schedulers.describe()}\njournal:\n" + (
            journal.read_text() if journal.exists() else "(empty)")

    deadline = time.monotonic() + 150
    kills = 0
    while True:
        scheduler = schedulers.start()
        if run_id is None:
            run_id = _trigger(api_client, journal)
        time.sleep(rng.uniform(0.3, 2.5))
        state = runs.get_dag_run(DAG_ID, run_id).state
        if state in ("success", "failed"):
            break
        assert time.monotonic() < deadline, f"the run did not finish after {kills} kills\n" + (
            describe())
        scheduler.assert_alive()
        scheduler.kill()
        kills += 1
    print(f"the run finished after {kills} kills")
    assert kills >= 3, f"only {kills} kills: the run finished too soon to test anything"
    assert state == "success", describe()
    _assert_each_task_ran_once(journal, api_client, run_id, describe)
    # Every task's process has exited.
    for noted in _journal(journal).values():
        assert not process_alive(noted[0][1])
