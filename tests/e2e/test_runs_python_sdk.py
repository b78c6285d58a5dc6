"""DAG runs executed for real, watched through the generated Python SDK (windsock_client).

A real `windsock scheduler` (the module-scoped `scheduler` fixture, LocalExecutor) and a real
`windsock api-server` share the test database. Each test parses tests/e2e/run_dags and the
example DAGs (`windsock dags reserialize`), unpauses and triggers DAGs through the SDK, waits
for the runs to finish and reads back task instances, tries, logs and XComs. After each test
the `live_scheduler` fixture waits for every run to finish, and checks the scheduler is still
alive although `clean_database` deletes every DAG, run and job row after each test.
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import windsock_client
from windsock_client.models import (
    ClearTaskId,
    ClearTaskInstancesForm,
    DAGPatch,
    DAGRunCreate,
    PoolCreate,
    UpdateDagRunState,
)

from tests.support.scheduler import SchedulerProcess, database_state, process_alive, wait_for

RUN_TIMEOUT = 60  # seconds a run of these small DAGs may take
FINISHED = ("success", "failed")


class Runs:
    """The SDK APIs a run test uses, and the waiting helpers."""

    def __init__(self, client: windsock_client.ApiClient, scheduler: SchedulerProcess):
        self.dags = windsock_client.DAGApi(client)
        self.runs = windsock_client.DAGRunApi(client)
        self.tis = windsock_client.TaskInstanceApi(client)
        self.xcoms = windsock_client.XComApi(client)
        self.pools = windsock_client.PoolApi(client)
        self.monitoring = windsock_client.MonitoringApi(client)
        self.events = windsock_client.EventLogApi(client)
        self.scheduler = scheduler

    def describe(self, dag_id: str | None = None) -> str:
        return (f"{database_state([dag_id] if dag_id else None)}\n"
                f"{self.scheduler.describe()}")

    def trigger(self, dag_id: str, run_id: str, conf: dict | None = None):
        """Unpause the DAG and trigger a run of it."""
        self.dags.patch_dag(dag_id, DAGPatch(is_paused=False), update_mask=["is_paused"])
        run = self.runs.post_dag_run(dag_id, DAGRunCreate(dag_run_id=run_id, conf=conf))
        assert run.state == "queued", run
        return run

    def wait_run(self, dag_id: str, run_id: str, states=FINISHED, timeout: float = RUN_TIMEOUT):
        """The run once its state is one of `states`."""
        def reached():
            self.scheduler.assert_alive()
            run = self.runs.get_dag_run(dag_id, run_id)
            return run if run.state in states else None

        return wait_for(reached, timeout, f"run {dag_id}/{run_id} to be {' or '.join(states)}",
                        lambda: self.describe(dag_id))

    def wait_ti(self, dag_id: str, run_id: str, task_id: str, states, timeout: float = 30):
        def reached():
            self.scheduler.assert_alive()
            ti = self.tis.get_task_instance(dag_id, run_id, task_id)
            return ti if ti.state in states else None

        return wait_for(reached, timeout,
                        f"task instance {dag_id}/{run_id}/{task_id} to be {' or '.join(states)}",
                        lambda: self.describe(dag_id))

    def task_instances(self, dag_id: str, run_id: str) -> dict:
        page = self.tis.get_task_instances(dag_id, run_id)
        assert page.total_entries == len(page.task_instances)
        return {ti.task_id: ti for ti in page.task_instances}

    def states(self, dag_id: str, run_id: str) -> dict[str, str | None]:
        return {task_id: ti.state for task_id, ti in self.task_instances(dag_id, run_id).items()}

    def log(self, dag_id: str, run_id: str, task_id: str, try_number: int) -> str:
        """The whole log of one try, read both as JSON and as text/plain: the two must agree."""
        as_json = self.tis.get_log(dag_id, run_id, task_id, try_number, full_content=True)
        # (a full log's token reads on from its end: nothing more for a finished try)
        assert self.tis.get_log(dag_id, run_id, task_id, try_number,
                                token=as_json.continuation_token).content == ""
        plain = self.tis.get_log_without_preload_content(
            dag_id, run_id, task_id, try_number, full_content=True,
            _headers={"Accept": "text/plain"})
        assert plain.status == 200
        assert plain.headers["Content-Type"].startswith("text/plain")
        assert plain.data.decode() == as_json.content
        return as_json.content

    def xcom(self, dag_id: str, run_id: str, task_id: str):
        """The `return_value` XCom of a task instance as the stored JSON value."""
        return self.xcoms.get_xcom_entry(dag_id, run_id, task_id, "return_value",
                                         stringify=False).value


@pytest.fixture
def runs(api_client, live_scheduler) -> Runs:
    return Runs(api_client, live_scheduler)


def _assert_ran_once(ti, hostname_required: bool = True) -> None:
    """A task instance that succeeded on its first try, with the facts of that try."""
    assert ti.state == "success", ti
    assert ti.try_number == 1, ti
    assert ti.start_date is not None and ti.end_date is not None, ti
    assert ti.start_date <= ti.end_date, ti
    assert ti.duration is not None and ti.duration >= 0, ti
    assert ti.pid, ti
    if hostname_required:
        assert ti.hostname, ti


# --- values passed between tasks; logs -------------------------------------------------------


def test_xcom_chain_runs_and_hands_each_return_value_to_the_next_task(runs: Runs):
    dag_id, run_id = "example_xcom_chain", "e2e_xcom_chain"
    runs.trigger(dag_id, run_id)
    run = runs.wait_run(dag_id, run_id)
    assert run.state == "success", runs.describe(dag_id)
    assert run.start_date is not None and run.end_date is not None
    assert run.start_date <= run.end_date

    tis = runs.task_instances(dag_id, run_id)
    assert set(tis) == {"extract", "transform", "load"}
    for ti in tis.values():
        _assert_ran_once(ti)
        assert run.start_date <= ti.start_date and ti.end_date <= run.end_date, (run, ti)
    # Each task started after its upstream had finished.
    assert tis["extract"].end_date <= tis["transform"].start_date
    assert tis["transform"].end_date <= tis["load"].start_date

    # The XComs: what extract returned is what transform summarized, and load printed that.
    orders = runs.xcom(dag_id, run_id, "extract")
    assert orders == [{"id": 1, "amount": 30.0}, {"id": 2, "amount": 12.5},
                      {"id": 3, "amount": 7.25}]
    summary = runs.xcom(dag_id, run_id, "transform")
    assert summary == {"count": len(orders), "total": sum(o["amount"] for o in orders)}
    assert runs.xcoms.get_xcom_entry(dag_id, run_id, "transform", "return_value",
                                     stringify=True).value == str(summary)
    listed = runs.xcoms.get_xcom_entries(dag_id, run_id, "~")
    assert {"extract", "transform"} <= {entry.task_id for entry in listed.xcom_entries}

    # The logs: one per task, with the try's facts and what the task printed.
    logs = {task_id: runs.log(dag_id, run_id, task_id, 1) for task_id in tis}
    assert f"{summary['count']} orders, {summary['total']:.2f} in total" in logs["load"]
    for task_id, log in logs.items():
        assert tis[task_id].hostname in log, log
        assert str(tis[task_id].pid) in log, log
        assert "success" in log.lower(), log

    # A log read in pieces from its continuation tokens is the same text.
    first = runs.tis.get_log(dag_id, run_id, "load", 1)
    assert logs["load"].startswith(first.content)


def test_health_reports_the_running_scheduler(runs: Runs):
    # Not the first test of the module: clean_database has just deleted every row, the
    # scheduler's job included; the scheduler writes its row again at its next round (within
    # [scheduler] loop_interval), and health then reports it.
    def healthy():
        found = runs.monitoring.get_health()
        return found if found.scheduler.status == "healthy" else None

    health = wait_for(healthy, 10, "the scheduler to be healthy again", runs.describe)
    assert health.metadatabase.status == "healthy"
    beat = health.scheduler.latest_scheduler_heartbeat
    assert beat is not None and beat.tzinfo is not None
    assert abs(datetime.now(timezone.utc) - beat) < timedelta(seconds=10), beat


def test_shell_tasks_see_the_run_params_in_their_environment(runs: Runs):
    dag_id, run_id = "example_shell", "e2e_shell"
    runs.trigger(dag_id, run_id, conf={"greeting": "Bonjour"})
    assert runs.wait_run(dag_id, run_id).state == "success", runs.describe(dag_id)
    tis = runs.task_instances(dag_id, run_id)
    for ti in tis.values():
        _assert_ran_once(ti)
    assert "Bonjour from Windsock" in runs.log(dag_id, run_id, "greet", 1)


def test_a_branch_skips_the_path_not_taken(runs: Runs):
    dag_id = "example_branch"
    runs.trigger(dag_id, "e2e_branch_fast")
    runs.trigger(dag_id, "e2e_branch_thorough", conf={"mode": "thorough", "rounds": 4})

    assert runs.wait_run(dag_id, "e2e_branch_fast").state == "success", runs.describe(dag_id)
    assert runs.states(dag_id, "e2e_branch_fast") == {
        "choose_path": "success", "fast_path": "success", "thorough_path": "skipped",
        "join": "success", "cleanup": "success"}
    assert runs.xcom(dag_id, "e2e_branch_fast", "choose_path") == "fast_path"
    assert runs.xcom(dag_id, "e2e_branch_fast", "fast_path") == "done quickly"

    assert runs.wait_run(dag_id, "e2e_branch_thorough").state == "success", runs.describe(dag_id)
    assert runs.states(dag_id, "e2e_branch_thorough") == {
        "choose_path": "success", "fast_path": "skipped", "thorough_path": "success",
        "join": "success", "cleanup": "success"}
    assert runs.xcom(dag_id, "e2e_branch_thorough", "thorough_path") == "done in 4 rounds"
    skipped = runs.tis.get_task_instance(dag_id, "e2e_branch_thorough", "fast_path")
    assert skipped.try_number == 0, skipped  # never tried


# --- failures: retries, timeouts -----------------------------------------------------------------


def test_a_failing_task_is_retried_then_fails_its_run(runs: Runs):
    dag_id, run_id = "e2e_retries", "e2e_retries_1"
    runs.trigger(dag_id, run_id)
    run = runs.wait_run(dag_id, run_id)
    assert run.state == "failed", runs.describe(dag_id)
    assert run.end_date is not None

    ti = runs.tis.get_task_instance(dag_id, run_id, "always_fails")
    assert (ti.state, ti.try_number) == ("failed", 3), ti
    downstream = runs.tis.get_task_instance(dag_id, run_id, "never_runs")
    assert (downstream.state, downstream.try_number) == ("upstream_failed", 0), downstream

    tries = runs.tis.get_task_instance_tries(dag_id, run_id, "always_fails")
    assert tries.total_entries == 3
    by_number = sorted(tries.task_instances, key=lambda t: t.try_number)
    assert [t.try_number for t in by_number] == [1, 2, 3]
    assert by_number[-1].state == "failed"
    for earlier in by_number[:-1]:
        assert earlier.state in ("up_for_retry", "failed"), earlier
    for before, after in zip(by_number, by_number[1:]):
        # retry_delay is one second
        assert after.start_date >= before.end_date + timedelta(seconds=1), (before, after)
    for number in (1, 2, 3):
        log = runs.log(dag_id, run_id, "always_fails", number)
        assert "this task always fails" in log, log
        assert "RuntimeError" in log, log

    # The scheduler's decisions are in the audit log, by the owner `scheduler`.
    logs = runs.events.get_event_logs(dag_id=dag_id, order_by="event_log_id")
    events = [(e.event, e.task_id) for e in logs.event_logs if e.owner == "scheduler"]
    assert ("scheduler.run_running", None) in events, events
    assert events.count(("scheduler.task_retry", "always_fails")) == 2, events
    assert ("scheduler.task_upstream_failed", "never_runs") in events, events
    assert events[-1] == ("scheduler.run_failed", None), events
    assert {e.run_id for e in logs.event_logs if e.owner == "scheduler"} == {run_id}


def test_a_task_past_its_execution_timeout_is_killed(runs: Runs, tmp_path):
    dag_id, run_id = "e2e_timeout", "e2e_timeout_1"
    python_pid_file, shell_pid_file = tmp_path / "python.pid", tmp_path / "shell.pid"
    runs.trigger(dag_id, run_id, conf={"python_pid_file": str(python_pid_file),
                                       "shell_pid_file": str(shell_pid_file)})
    run = runs.wait_run(dag_id, run_id, timeout=40)
    assert run.state == "failed", runs.describe(dag_id)
    tis = runs.task_instances(dag_id, run_id)
    for task_id in ("python_sleeps", "shell_sleeps"):
        ti = tis[task_id]
        assert (ti.state, ti.try_number) == ("failed", 1), ti
        # execution_timeout is 2 s; it is noticed within a heartbeat, not after the 120 s sleep
        assert ti.duration < 20, ti
        log = runs.log(dag_id, run_id, task_id, 1)
        assert "timed out" in log.lower(), log
    for pid_file in (python_pid_file, shell_pid_file):
        pid = int(pid_file.read_text())
        wait_for(lambda pid=pid: not process_alive(pid), 10,
                 f"the timed-out task's process {pid} to be gone")


# --- pools ---------------------------------------------------------------------------------------


def test_a_pool_of_one_slot_runs_its_tasks_one_after_the_other(runs: Runs):
    pool = runs.pools.post_pool(PoolCreate(name="e2e_one_slot", slots=1,
                                           description="one task at a time"))
    assert (pool.name, pool.slots, pool.open_slots) == ("e2e_one_slot", 1, 1)
    dag_id, run_id = "e2e_pool", "e2e_pool_1"
    runs.trigger(dag_id, run_id)

    most_occupied = 0
    deadline = time.monotonic() + RUN_TIMEOUT
    while runs.runs.get_dag_run(dag_id, run_id).state not in FINISHED:
        pool = runs.pools.get_pool("e2e_one_slot")
        most_occupied = max(most_occupied, pool.occupied_slots)
        assert pool.open_slots >= 0, pool
        assert time.monotonic() < deadline, runs.describe(dag_id)
        time.sleep(0.2)
    assert runs.runs.get_dag_run(dag_id, run_id).state == "success", runs.describe(dag_id)
    assert most_occupied <= 1

    tis = runs.task_instances(dag_id, run_id)
    a, b = tis["hold_a"], tis["hold_b"]
    for ti in (a, b):
        _assert_ran_once(ti)
        assert ti.pool == "e2e_one_slot"
        assert ti.duration >= 2, ti
    first, second = sorted((a, b), key=lambda ti: ti.start_date)
    assert first.end_date <= second.start_date, (
        f"{first.task_id} ran {first.start_date}..{first.end_date} and {second.task_id} "
        f"{second.start_date}..{second.end_date}: they overlap in a pool of one slot")
    assert runs.pools.get_pool("e2e_one_slot").occupied_slots == 0


# --- changing runs from the API while they run ---------------------------------------------------


def test_clearing_a_failed_task_runs_it_again_with_the_next_try(runs: Runs, tmp_path):
    dag_id, run_id = "e2e_clear", "e2e_clear_1"
    runs.trigger(dag_id, run_id, conf={"marker": str(tmp_path / "tried")})
    assert runs.wait_run(dag_id, run_id).state == "failed", runs.describe(dag_id)
    assert runs.states(dag_id, run_id) == {"fails_once": "failed",
                                           "downstream": "upstream_failed"}
    assert "the first try fails" in runs.log(dag_id, run_id, "fails_once", 1)

    cleared = runs.dags.post_clear_task_instances(dag_id, ClearTaskInstancesForm(
        dry_run=False, dag_run_id=run_id))
    assert sorted(ref.task_id for ref in cleared.task_instances) == ["downstream", "fails_once"]

    run = runs.wait_run(dag_id, run_id)
    assert run.state == "success", runs.describe(dag_id)
    tis = runs.task_instances(dag_id, run_id)
    assert (tis["fails_once"].state, tis["fails_once"].try_number) == ("success", 2)
    _assert_ran_once(tis["downstream"])

    tries = runs.tis.get_task_instance_tries(dag_id, run_id, "fails_once")
    assert sorted((t.try_number, t.state) for t in tries.task_instances) == [
        (1, "failed"), (2, "success")]
    first, second = (runs.log(dag_id, run_id, "fails_once", n) for n in (1, 2))
    assert "the first try fails" in first
    assert "the first try fails" not in second

    value = runs.xcom(dag_id, run_id, "fails_once")
    assert value == {"try": "second", "ok": True}
    assert runs.xcom(dag_id, run_id, "downstream") == value
    # (the task printed the dict it received from the XCom, in the order fails_once built it)
    assert ("downstream received {'try': 'second', 'ok': True}"
            in runs.log(dag_id, run_id, "downstream", 1))


def test_a_mapped_task_runs_once_per_item_and_clearing_one_instance_reruns_only_it(runs: Runs):
    dag_id, run_id = "e2e_mapped", "e2e_mapped_1"
    runs.trigger(dag_id, run_id)
    assert runs.wait_run(dag_id, run_id).state == "success", runs.describe(dag_id)

    def loads():
        page = runs.tis.get_mapped_task_instances(dag_id, run_id, "load")
        return [(ti.map_index, ti.state, ti.try_number) for ti in page.task_instances]

    assert loads() == [(0, "success", 1), (1, "success", 1), (2, "success", 1)]
    instances = runs.tis.get_mapped_task_instances(dag_id, run_id, "load").task_instances
    spans = sorted((ti.start_date, ti.end_date) for ti in instances)
    assert spans[2][0] >= min(spans[0][1], spans[1][1])  # max_active_tis_per_dag=2
    assert runs.xcom(dag_id, run_id, "total") == ["orders:a.csv", "orders:b.csv", "orders:c.csv"]
    log = runs.tis.get_log(dag_id, run_id, "load", 1, map_index=1, full_content=True).content
    assert "loading b.csv into orders" in log

    cleared = runs.dags.post_clear_task_instances(dag_id, ClearTaskInstancesForm(
        dry_run=False, dag_run_id=run_id, only_failed=False,
        task_ids=[ClearTaskId(["load", 1])]))
    assert [(ref.task_id, ref.map_index) for ref in cleared.task_instances] == [("load", 1)]
    assert runs.wait_run(dag_id, run_id).state == "success", runs.describe(dag_id)
    wait_for(lambda: loads() == [(0, "success", 1), (1, "success", 2), (2, "success", 1)], 30,
             "load[1] to run again", lambda: runs.describe(dag_id))
    assert runs.tis.get_task_instance(dag_id, run_id, "files").try_number == 1


def _start_long_task(runs: Runs, run_id: str, pid_file: Path) -> tuple[int, int]:
    """Trigger e2e_mark_failed; once its task runs, the runner's and the task's process ids."""
    dag_id = "e2e_mark_failed"
    runs.trigger(dag_id, run_id, conf={"pid_file": str(pid_file)})
    ti = runs.wait_ti(dag_id, run_id, "sleeps", ("running",))
    wait_for(lambda: pid_file.exists() and pid_file.read_text().strip(), 30,
             "the task to write its process id", lambda: runs.describe(dag_id))
    task_pid = int(pid_file.read_text())
    assert ti.pid, ti
    assert process_alive(ti.pid), f"the runner {ti.pid} is not running: {runs.describe(dag_id)}"
    assert process_alive(task_pid)
    return ti.pid, task_pid


def _wait_stopped(runs: Runs, dag_id: str, run_id: str, task_pid: int) -> None:
    """Wait until the task's process is gone and its runner (a warm worker, which lives on) has
    noted that it stopped the try."""
    # noticed at the runner's next heartbeat (1 s), then SIGTERM and a grace period
    wait_for(lambda: not process_alive(task_pid), 30, f"process {task_pid} to be gone",
             runs.describe)
    wait_for(lambda: "Stopped: the task instance was changed meanwhile" in runs.tis.get_log(
        dag_id, run_id, "sleeps", 1, full_content=True).content, 30,
        "the runner to note that it stopped the try", runs.describe)


def test_marking_a_running_run_failed_stops_its_task(runs: Runs, tmp_path):
    dag_id, run_id = "e2e_mark_failed", "e2e_mark_failed_1"
    _, task_pid = _start_long_task(runs, run_id, tmp_path / "task.pid")

    marked = runs.runs.update_dag_run_state(dag_id, run_id, UpdateDagRunState(state="failed"))
    assert marked.state == "failed"
    _wait_stopped(runs, dag_id, run_id, task_pid)

    # The run stays as it was marked: nothing runs the task again or finishes it otherwise.
    time.sleep(3)
    assert runs.runs.get_dag_run(dag_id, run_id).state == "failed", runs.describe(dag_id)
    tis = runs.task_instances(dag_id, run_id)
    assert (tis["sleeps"].state, tis["sleeps"].try_number) == ("failed", 1), tis["sleeps"]
    assert (tis["after"].state, tis["after"].try_number) == ("skipped", 0), tis["after"]


def test_deleting_a_running_run_stops_its_task(runs: Runs, tmp_path):
    dag_id, run_id = "e2e_mark_failed", "e2e_deleted_1"
    _, task_pid = _start_long_task(runs, run_id, tmp_path / "task.pid")
    runs.runs.delete_dag_run(dag_id, run_id)
    wait_for(lambda: not process_alive(task_pid), 30, f"process {task_pid} to be gone",
             runs.describe)
    assert runs.runs.get_dag_runs(dag_id).total_entries == 0
    runs.scheduler.assert_alive()
