"""`windsock tasks run`: claiming a queued task instance, running it, recording the outcome."""

from __future__ import annotations

import socket

import pytest

from tests.scheduler.conftest import (history, log_text, new_run, run_task, set_state,
                                      start_task, ti, xcom)

CHAIN = """
from windsock import DAG, task

with DAG("chain") as dag:
    @task
    def extract():
        print("extracting")
        return [1, 2, 3]

    @task
    def total(rows, factor=10):
        return sum(rows) * factor

    total(extract())
"""

PARAMS = """
from windsock import DAG, Param, ShellTask, task

with DAG("params", params={"greeting": Param("Hello", type="string"), "count": 2}) as dag:
    @task
    def greet(params):
        return f"{params['greeting']} x{params['count']}"

    greet()
    ShellTask("shout", 'echo "$WINDSOCK_PARAM_GREETING x$WINDSOCK_PARAM_COUNT from $PLACE"',
              env={"PLACE": "the shell"})
"""

FAILING = """
from windsock import DAG, ShellTask, task

with DAG("failing") as dag:
    ShellTask("exit3", "echo trying; exit 3")
    ShellTask("flaky", "echo trying; exit 1", retries=1)

    @task
    def not_json():
        return {1, 2}

    @task
    def raises():
        raise RuntimeError("boom")

    not_json()
    raises()
"""

BRANCH = """
from windsock import DAG, ShellTask, task

with DAG("branch", params={"path": "left"}) as dag:
    @task.branch
    def choose(params):
        return params["path"]

    choose() >> [ShellTask("left", "echo left"), ShellTask("right", "echo right")]
"""


def test_a_python_task_stores_its_return_value_for_the_next_task(add_dags):
    add_dags(CHAIN)
    run_id = new_run("chain", queued=("extract",))

    done = run_task("chain", "extract", run_id)

    assert done.returncode == 0, done.stderr
    extract = ti("chain", run_id, "extract")
    assert (extract.state, extract.try_number, extract.executor) == ("success", 1, "LocalExecutor")
    assert extract.hostname == socket.getfqdn() and extract.pid and extract.duration > 0
    assert extract.end_date > extract.start_date and extract.last_heartbeat_at is not None
    assert xcom("chain", run_id, "extract") == [1, 2, 3]
    log = log_text("chain", run_id, "extract")
    assert "Try 1 of 1" in log and "extracting" in log and "state: success" in log

    set_state("chain", run_id, "total", "queued")
    assert run_task("chain", "total", run_id).returncode == 0
    assert xcom("chain", run_id, "total") == 60
    assert history("chain", run_id, "extract") == []


def test_params_reach_python_and_shell_tasks(add_dags):
    add_dags(PARAMS)
    run_id = new_run("params", conf={"greeting": "Bonjour"}, queued=("greet", "shout"))

    assert run_task("params", "greet", run_id).returncode == 0
    assert run_task("params", "shout", run_id).returncode == 0

    assert xcom("params", run_id, "greet") == "Bonjour x2"
    assert "Bonjour x2 from the shell" in log_text("params", run_id, "shout")
    with pytest.raises(KeyError):
        xcom("params", run_id, "shout")  # a shell task returns nothing


@pytest.mark.parametrize(("task_id", "logged"), [
    ("exit3", "exited with code 3"),
    ("not_json", "cannot be stored as an XCom"),
    ("raises", "RuntimeError: boom"),
])
def test_a_failure_without_tries_left_fails(add_dags, task_id, logged):
    add_dags(FAILING)
    run_id = new_run("failing", queued=(task_id,))

    done = run_task("failing", task_id, run_id)

    assert done.returncode == 1
    failed = ti("failing", run_id, task_id)
    assert (failed.state, failed.try_number) == ("failed", 1)
    assert failed.end_date is not None and failed.duration is not None
    assert logged in log_text("failing", run_id, task_id)
    assert "state: failed" in log_text("failing", run_id, task_id)


def test_a_failure_with_tries_left_is_retried_and_each_try_is_kept(add_dags):
    add_dags(FAILING)
    run_id = new_run("failing", queued=("flaky",))

    assert run_task("failing", "flaky", run_id).returncode == 1
    first = ti("failing", run_id, "flaky")
    assert (first.state, first.try_number, first.max_tries) == ("up_for_retry", 1, 1)
    assert [(t.try_number, t.state) for t in history("failing", run_id, "flaky")] == [
        (1, "up_for_retry")]

    set_state("failing", run_id, "flaky", "queued")  # as the scheduler does after retry_delay
    assert run_task("failing", "flaky", run_id).returncode == 1

    second = ti("failing", run_id, "flaky")
    assert (second.state, second.try_number) == ("failed", 2)
    kept = history("failing", run_id, "flaky")
    assert [(t.try_number, t.state) for t in kept] == [(1, "up_for_retry")]
    assert kept[0].end_date < second.start_date
    for try_number in (1, 2):
        log = log_text("failing", run_id, "flaky", try_number)
        assert log.count("trying") == 1 and f"Try {try_number} of 2" in log


def test_a_branch_skips_the_tasks_it_does_not_follow(add_dags):
    add_dags(BRANCH)
    run_id = new_run("branch", conf={"path": "right"}, queued=("choose",))

    assert run_task("branch", "choose", run_id).returncode == 0

    assert xcom("branch", run_id, "choose") == "right"
    assert ti("branch", run_id, "left").state == "skipped"
    assert ti("branch", run_id, "right").state is None


def test_a_branch_naming_an_unknown_task_fails(add_dags):
    add_dags(BRANCH)
    run_id = new_run("branch", conf={"path": "nowhere"}, queued=("choose",))

    assert run_task("branch", "choose", run_id).returncode == 1

    assert ti("branch", run_id, "choose").state == "failed"
    assert "not in the DAG: nowhere" in log_text("branch", run_id, "choose")
    assert ti("branch", run_id, "left").state is None
    with pytest.raises(KeyError):
        xcom("branch", run_id, "choose")


@pytest.mark.parametrize("state", [None, "scheduled", "running", "success"])
def test_a_task_instance_that_is_not_queued_is_not_run(add_dags, state):
    add_dags(CHAIN)
    run_id = new_run("chain")
    set_state("chain", run_id, "extract", state)
    before = ti("chain", run_id, "extract")

    done = run_task("chain", "extract", run_id)

    assert done.returncode == 0, done.stderr
    after = ti("chain", run_id, "extract")
    assert (after.state, after.try_number, after.updated_at) == (
        state, 0, before.updated_at)
    assert log_text("chain", run_id, "extract") == ""


def test_of_two_runners_started_at_once_only_one_runs_the_task(add_dags):
    add_dags(CHAIN)
    run_id = new_run("chain", queued=("extract",))

    runners = [start_task("chain", "extract", run_id) for _ in range(2)]
    codes = [runner.wait(timeout=60) for runner in runners]

    assert codes == [0, 0], [runner.stderr.read() for runner in runners]
    assert ti("chain", run_id, "extract").try_number == 1
    assert log_text("chain", run_id, "extract").count("extracting") == 1
    assert sum("not queued" in runner.stderr.read() for runner in runners) == 1
