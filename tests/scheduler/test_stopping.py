"""A running task's process tree is stopped on its execution timeout, when the runner gets
SIGTERM, and when someone else changes the task instance's state."""

from __future__ import annotations

import re
import signal
import time

import pytest

from tests.scheduler.conftest import (log_text, new_run, process_gone, set_state, start_task,
                                      ti, wait_for)

API = "/api/v1"
SLOW = """
from datetime import timedelta
from windsock import DAG, ShellTask

with DAG("slow") as dag:
    ShellTask("sleeper", 'sleep 300 & echo "child $!"; wait', retries=1)
    ShellTask("timed", 'sleep 300 & echo "child $!"; wait',
              execution_timeout=timedelta(seconds=1))
"""


def started(run_id: str, task_id: str) -> int:
    """Wait until the task is running and its shell started its child; the child's pid."""
    found = wait_for(lambda: re.search(r"child (\d+)", log_text("slow", run_id, task_id)),
                     what="the task's output in its log")
    assert ti("slow", run_id, task_id).state == "running"
    return int(found.group(1))


def test_the_execution_timeout_kills_the_process_tree_and_fails(add_dags):
    add_dags(SLOW)
    run_id = new_run("slow", queued=("timed",))
    began = time.monotonic()
    runner = start_task("slow", "timed", run_id)
    child = started(run_id, "timed")

    assert runner.wait(timeout=30) == 1
    assert time.monotonic() - began < 20
    assert process_gone(child)
    assert ti("slow", run_id, "timed").state == "failed"
    assert "timed out after 1 s" in log_text("slow", run_id, "timed")


def test_sigterm_to_the_runner_stops_the_task_as_a_failure(add_dags):
    add_dags(SLOW)
    run_id = new_run("slow", queued=("sleeper",))
    runner = start_task("slow", "sleeper", run_id)
    child = started(run_id, "sleeper")

    runner.send_signal(signal.SIGTERM)

    assert runner.wait(timeout=30) == 1
    assert process_gone(child)
    assert ti("slow", run_id, "sleeper").state == "up_for_retry"
    assert "asked to stop" in log_text("slow", run_id, "sleeper")


def test_the_log_is_readable_through_the_api_while_the_task_runs(add_dags, client):
    add_dags(SLOW)
    run_id = new_run("slow", queued=("sleeper",))
    runner = start_task("slow", "sleeper", run_id)
    started(run_id, "sleeper")

    response = client.get(f"{API}/dags/slow/dagRuns/{run_id}/taskInstances/sleeper/logs/1",
                          headers={"Accept": "text/plain"})

    assert response.status_code == 200 and "child" in response.text
    runner.terminate()
    runner.wait(timeout=30)


@pytest.mark.parametrize("new_state", ["failed", "success"])
def test_a_state_set_through_the_api_stops_the_task_and_stays(add_dags, client, new_state):
    add_dags(SLOW)
    run_id = new_run("slow", queued=("sleeper",))
    runner = start_task("slow", "sleeper", run_id)
    child = started(run_id, "sleeper")

    response = client.patch(f"{API}/dags/slow/dagRuns/{run_id}/taskInstances/sleeper",
                            json={"new_state": new_state})
    assert response.status_code == 200, response.text
    marked = time.monotonic()

    assert runner.wait(timeout=30) == 1
    assert time.monotonic() - marked < 5
    assert process_gone(child)
    stopped = ti("slow", run_id, "sleeper")
    assert (stopped.state, stopped.try_number) == (new_state, 1)
    assert f"its state is {new_state}" in log_text("slow", run_id, "sleeper")


def test_a_task_instance_cleared_while_running_is_stopped_and_set_to_no_state(add_dags,
                                                                             client):
    add_dags(SLOW)
    run_id = new_run("slow", queued=("sleeper",))
    runner = start_task("slow", "sleeper", run_id)
    child = started(run_id, "sleeper")

    response = client.post(f"{API}/dags/slow/clearTaskInstances", json={
        "dry_run": False, "dag_run_id": run_id, "task_ids": ["sleeper"],
        "only_failed": False})
    assert response.status_code == 200, response.text

    assert runner.wait(timeout=30) == 1
    assert process_gone(child)
    cleared = ti("slow", run_id, "sleeper")
    assert (cleared.state, cleared.try_number) == (None, 1)


def test_a_direct_database_change_is_noticed_too(add_dags):
    add_dags(SLOW)
    run_id = new_run("slow", queued=("sleeper",))
    runner = start_task("slow", "sleeper", run_id)
    child = started(run_id, "sleeper")

    set_state("slow", run_id, "sleeper", "skipped")

    assert runner.wait(timeout=30) == 1
    assert process_gone(child)
    assert ti("slow", run_id, "sleeper").state == "skipped"
