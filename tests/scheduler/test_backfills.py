"""Backfills in the scheduler: driven one round at a time in-process (the tests finish task
instances as task runners would), and run end to end by a real `windsock scheduler` process with
the local executor, created and followed by `windsock dags backfill --wait`."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import datetime, time, timedelta, timezone

import pytest
from sqlalchemy import select, update

from tests.scheduler.rounds import add_scheduled_dag, finish, new_job, now, one_round
from tests.support.scheduler import FAST_SETTINGS, scheduler_process
from tests.support.seed import add_run
from windsock import DAG, ShellTask
from windsock.db.engine import session
from windsock.db.models import Backfill, Dag, DagRun, TaskInstance, TaskInstanceTry
from windsock.runs import backfills
from windsock.scheduler.runs import serialized

DAG_ID = "backfilled"


@pytest.fixture
def job(migrated) -> int:
    return new_job()


def midnight(days_ago: int) -> datetime:
    return datetime.combine(now().date(), time(), tzinfo=timezone.utc) - timedelta(days=days_ago)


def daily(max_active_runs: int = 16) -> DAG:
    """A daily DAG started 30 days ago without catchup: its regular schedule runs yesterday."""
    with DAG(DAG_ID, schedule="@daily", start_date=midnight(30), catchup=False,
             max_active_runs=max_active_runs) as dag:
        ShellTask("only", "true")
    dag.fileloc = f"/dags/{DAG_ID}.py"
    return dag


def start_backfill(first: int, last: int, **fields) -> int:
    """A backfill of the days `first` to `last` days ago; its id."""
    request = backfills.Request(DAG_ID, midnight(first), midnight(last), **fields)
    with session() as sess:
        dag = sess.get(Dag, DAG_ID)
        return backfills.create(sess, dag, serialized(sess, [DAG_ID])[DAG_ID], request,
                                now()).id


def runs() -> list[DagRun]:
    with session() as sess:
        return list(sess.scalars(select(DagRun).where(DagRun.dag_id == DAG_ID)
                                 .order_by(DagRun.id)))


def backfill_row(backfill_id: int) -> Backfill:
    with session() as sess:
        return sess.get(Backfill, backfill_id)


def drive(job: int, backfill_id: int, rounds: int = 40) -> list[int]:
    """Rounds until the backfill completes, finishing each running run's task instance as a
    runner would; the number of the backfill's active runs and of the DAG's after each round."""
    active_counts = []
    for _ in range(rounds):
        one_round(job)
        active = [run for run in runs() if run.state in ("queued", "running")]
        active_counts.append((sum(run.backfill_id == backfill_id for run in active),
                              len(active)))
        for run in active:
            if run.state == "running":
                finish(DAG_ID, run.run_id, only="success")
        if backfill_row(backfill_id).completed_at is not None:
            return active_counts
    raise AssertionError(f"not completed after {rounds} rounds: {active_counts}")


def test_a_backfill_runs_every_date_within_its_max_active_runs_next_to_the_schedule(job):
    add_scheduled_dag(daily())
    backfill_id = start_backfill(10, 6, max_active_runs=2, dag_run_conf={"k": "v"})

    active = drive(job, backfill_id)

    assert max(mine for mine, _ in active) == 2
    backfilled = [run for run in runs() if run.backfill_id == backfill_id]
    assert sorted(run.logical_date for run in backfilled) == [midnight(d) for d in
                                                              range(10, 5, -1)]
    assert {(run.run_type, run.state, run.conf, run.external_trigger)
            for run in backfilled} == {("backfill", "success", '{"k": "v"}', False)}
    assert [run.data_interval_end - run.data_interval_start
            for run in backfilled] == [timedelta(days=1)] * 5
    assert [run.run_type for run in runs() if run.backfill_id is None] == ["scheduled"]
    done = backfill_row(backfill_id)
    assert done.completed_at is not None and done.next_logical_date is None


def test_the_dags_max_active_runs_bounds_a_backfill_too(job):
    add_scheduled_dag(daily(max_active_runs=1))
    backfill_id = start_backfill(5, 3, max_active_runs=5)

    active = drive(job, backfill_id)

    assert max(total for _, total in active) == 1
    assert len([run for run in runs() if run.backfill_id == backfill_id]) == 3


def test_run_backwards_creates_the_latest_date_first(job):
    add_scheduled_dag(daily())
    backfill_id = start_backfill(8, 5, max_active_runs=1, run_backwards=True)

    drive(job, backfill_id)

    assert [run.logical_date for run in runs() if run.backfill_id == backfill_id] == [
        midnight(d) for d in (5, 6, 7, 8)]


def test_reprocess_failed_reruns_the_failed_run_and_leaves_the_others(job):
    dag = daily()
    add_scheduled_dag(dag)
    add_run(dag, "old_failed", state="failed", logical_date=midnight(4), run_type="scheduled",
            states={"only": "failed"})
    add_run(dag, "old_success", state="success", logical_date=midnight(3),
            run_type="scheduled", states={"only": "success"})
    backfill_id = start_backfill(4, 2, reprocess_behavior="failed")

    drive(job, backfill_id)

    by_id = {run.run_id: run for run in runs()}
    assert (by_id["old_failed"].state, by_id["old_failed"].backfill_id,
            by_id["old_failed"].run_type) == ("success", backfill_id, "scheduled")
    assert (by_id["old_success"].state, by_id["old_success"].backfill_id) == ("success", None)
    with session() as sess:
        tried = sess.scalars(select(TaskInstanceTry.state).where(
            TaskInstanceTry.run_id == "old_failed")).all()
    assert tried == ["failed"]  # the failed try is kept in the history
    assert [run.logical_date for run in runs() if run.backfill_id == backfill_id] == [
        midnight(4), midnight(2)]


def test_a_paused_backfill_creates_and_starts_nothing_and_a_cancelled_one_ends(job):
    add_scheduled_dag(daily())
    backfill_id = start_backfill(9, 4, max_active_runs=2)
    one_round(job)
    with session() as sess:
        backfills.set_paused(sess.get(Backfill, backfill_id), True)
        # a run of the backfill that was queued when it was paused stays queued
        queued = sess.scalar(select(DagRun).where(DagRun.backfill_id == backfill_id)
                             .order_by(DagRun.logical_date.desc()))
        queued.state = "queued"
        sess.execute(update(TaskInstance).where(TaskInstance.run_id == queued.run_id)
                     .values(state=None))
    for run in runs():
        if run.state == "running":
            finish(DAG_ID, run.run_id, only="success")
    for _ in range(3):
        one_round(job)
    mine = [run for run in runs() if run.backfill_id == backfill_id]
    assert sorted(run.state for run in mine) == ["queued", "success"]

    with session() as sess:
        backfills.cancel(sess, sess.get(Backfill, backfill_id), now())
    one_round(job)

    assert sorted(run.state for run in runs() if run.backfill_id == backfill_id) == [
        "failed", "success"]
    with session() as sess:
        never_started = sess.scalar(select(TaskInstance.state).where(
            TaskInstance.run_id == queued.run_id))
    assert never_started == "skipped"
    assert backfill_row(backfill_id).completed_at is not None


# --- a real scheduler, and the command line ---------------------------------------------------

# Its end date keeps its regular schedule from running (the tests above run both), so that no
# task is left running when the scheduler stops.
DAG_FILE = f'''
from datetime import datetime, timezone

from windsock import DAG, ShellTask

with DAG("{DAG_ID}", schedule="@daily", catchup=False,
         start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
         end_date=datetime(2026, 6, 1, tzinfo=timezone.utc)) as dag:
    ShellTask("only", "true")
'''


def windsock(*args: str, timeout: float = 180) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "windsock.cli", *args], capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **FAST_SETTINGS})


def backfill_count() -> int:
    with session() as sess:
        return len(sess.scalars(select(Backfill.id)).all())


def test_the_command_line_backfills_with_a_real_scheduler(add_dags, tmp_path):
    add_dags(DAG_FILE)
    with session() as sess:
        sess.get(Dag, DAG_ID).is_paused = False
    dates = ["--from", "2026-02-01", "--to", "2026-02-04"]
    wait = ["--wait", "--poll-interval", "0.5"]

    dry = windsock("dags", "backfill", DAG_ID, *dates, "--dry-run", "--run-backwards")
    assert dry.returncode == 0, dry.stderr
    assert dry.stdout.splitlines() == [
        "2026-02-04T00:00:00+00:00", "2026-02-03T00:00:00+00:00", "2026-02-02T00:00:00+00:00",
        "2026-02-01T00:00:00+00:00", "4 logical dates to run."]
    assert backfill_count() == 0
    refused = windsock("dags", "backfill", "missing", *dates)
    assert refused.returncode == 1 and "'missing' does not exist" in refused.stderr

    with scheduler_process(FAST_SETTINGS, tmp_path / "scheduler.log") as scheduler:
        done = windsock("dags", "backfill", DAG_ID, *dates, "--max-active-runs", "2", *wait)
        # Every date has a run now, which reprocess behavior `none` keeps: a backfill with
        # nothing to run completes on the scheduler's next round.
        again = windsock("dags", "backfill", DAG_ID, *dates, *wait)
        scheduler.assert_alive()
    assert done.returncode == 0, f"{done.stdout}\n{done.stderr}\n{scheduler.output()}"
    lines = done.stdout.splitlines()
    assert lines[0].startswith("Backfill ") and "4 runs to go, at most 2 at once" in lines[0]
    assert sum(" success in " in line for line in lines) == 4
    assert "(4 of 4 done)" in lines[-2]
    assert lines[-1].endswith("4 runs succeeded, 0 failed.")
    backfilled = runs()
    assert sorted(run.logical_date.day for run in backfilled) == [1, 2, 3, 4]
    assert {(run.run_type, run.state) for run in backfilled} == {("backfill", "success")}
    assert again.returncode == 0, f"{again.stdout}\n{again.stderr}"
    assert "0 runs to go" in again.stdout and "0 runs succeeded, 0 failed." in again.stdout
    assert backfill_count() == 2
