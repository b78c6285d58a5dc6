"""Retries and recovery from dead processes, driven one scheduler round at a time: retry delays,
task instances whose runner stopped heartbeating, task instances queued by a scheduler that
died."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.scheduler.rounds import get_ti, new_job, now, one_round, scheduler_events, set_ti
from tests.support.seed import add_dag, add_run
from windsock import DAG, ShellTask
from windsock.scheduler.executors import TaskKey
from windsock.scheduler.recovery import QUEUED_GRACE

HEARTBEAT_TIMEOUT = 30  # [scheduler] task_heartbeat_timeout's default
THRESHOLD = 30  # [scheduler] health_check_threshold's default


@pytest.fixture
def job(migrated) -> int:
    return new_job()


@pytest.fixture
def dag(migrated) -> DAG:
    """One task retried once, a minute after a failure."""
    with DAG("flaky") as flaky:
        ShellTask("t", "true", retries=1, retry_delay=timedelta(minutes=1))
    flaky.fileloc = "/dags/flaky.py"
    add_dag(flaky)
    return flaky


def seed(dag: DAG, state: str, **values) -> None:
    add_run(dag, "r1", state="running", start=now(), states={"t": state})
    set_ti("flaky", "r1", "t", **values)


def state() -> str | None:
    return get_ti("flaky", "r1", "t").state


KEY = [TaskKey("flaky", "r1", "t")]


def test_up_for_retry_waits_for_the_retry_delay_then_is_queued(job, dag):
    seed(dag, "up_for_retry", end_date=now() - timedelta(seconds=50))
    assert one_round(job) == [] and state() == "up_for_retry"

    set_ti("flaky", "r1", "t", end_date=now() - timedelta(seconds=61))

    assert one_round(job) == KEY
    assert [e[0] for e in scheduler_events("flaky")] == ["scheduler.task_retry"]


@pytest.mark.parametrize(("try_number", "max_tries", "outcome"), [
    (1, 1, "up_for_retry"), (2, 1, "failed")])
def test_a_running_task_without_heartbeat_is_failed_or_retried(job, dag, try_number,
                                                               max_tries, outcome):
    stale = now() - timedelta(seconds=HEARTBEAT_TIMEOUT + 5)
    seed(dag, "running", try_number=try_number, max_tries=max_tries, last_heartbeat_at=stale,
         start_date=stale - timedelta(seconds=10), end_date=None)

    one_round(job)

    ti = get_ti("flaky", "r1", "t")
    assert (ti.state, ti.try_number) == (outcome, try_number)
    assert ti.end_date is not None and ti.duration >= 10
    assert scheduler_events("flaky")[0] == (f"scheduler.task_{outcome}", "r1", "t")


def test_a_running_task_with_a_recent_heartbeat_is_left_alone(job, dag):
    seed(dag, "running", last_heartbeat_at=now() - timedelta(seconds=HEARTBEAT_TIMEOUT - 5),
         end_date=None)
    one_round(job)
    assert state() == "running"


def test_the_heartbeat_timeout_is_configurable(job, dag, monkeypatch):
    monkeypatch.setenv("WINDSOCK__SCHEDULER__TASK_HEARTBEAT_TIMEOUT", "5")
    seed(dag, "running", last_heartbeat_at=now() - timedelta(seconds=10), end_date=None)
    one_round(job)
    assert state() == "up_for_retry"


def test_a_restarting_task_without_heartbeat_runs_again(job, dag):
    seed(dag, "restarting", last_heartbeat_at=now() - timedelta(seconds=HEARTBEAT_TIMEOUT + 5),
         end_date=None)

    assert one_round(job) == KEY  # reset to no state, then scheduled and queued again

    assert [e[0] for e in scheduler_events("flaky")] == ["scheduler.task_reset"]


def queued_by(job_id: int, seconds_ago: float) -> dict:
    return {"queued_by_job_id": job_id, "queued_dttm": now() - timedelta(seconds=seconds_ago)}


def test_task_instances_queued_by_a_dead_scheduler_are_queued_again(job, dag):
    dead = new_job(heartbeat_seconds_ago=THRESHOLD + 5)
    seed(dag, "queued", **queued_by(dead, seconds_ago=60))

    assert one_round(job) == KEY

    assert get_ti("flaky", "r1", "t").queued_by_job_id == job
    assert [e[0] for e in scheduler_events("flaky")] == ["scheduler.task_requeued"]


def test_task_instances_queued_by_a_live_scheduler_are_left_alone(job, dag):
    other = new_job()
    seed(dag, "queued", **queued_by(other, seconds_ago=60))

    assert one_round(job) == []
    assert get_ti("flaky", "r1", "t").queued_by_job_id == other


def test_task_instances_queued_too_long_by_a_live_scheduler_are_queued_again(job, dag,
                                                                            monkeypatch):
    monkeypatch.setenv("WINDSOCK__SCHEDULER__TASK_QUEUED_TIMEOUT", "30")
    other = new_job()
    seed(dag, "queued", **queued_by(other, seconds_ago=60))

    assert one_round(job) == KEY  # its runner never started: queued again, by this scheduler
    assert get_ti("flaky", "r1", "t").queued_by_job_id == job


def test_task_instances_queued_moments_ago_are_left_alone(job, dag):
    dead = new_job(heartbeat_seconds_ago=THRESHOLD + 5)
    seed(dag, "queued", **queued_by(dead, seconds_ago=QUEUED_GRACE.total_seconds() / 2))

    assert one_round(job) == []
    assert get_ti("flaky", "r1", "t").queued_by_job_id == dead
