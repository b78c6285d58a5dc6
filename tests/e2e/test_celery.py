"""The Celery executor end to end, on the Celery clusters of tests/e2e/clusters.py (a real
scheduler with the CeleryExecutor, two real Celery workers as two machines, a real API server),
once with each broker: Redis and RabbitMQ.

Runs are triggered and read through the Python SDK and the Go SDK: each queue goes to its
workers, the example DAGs run, logs are read from the worker that wrote them (a 503 when it
cannot be reached), and two schedulers at once run each task instance once. The faults that
both executors survive, and the broker's, are in test_executor_faults.py.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import windsock_client
from sqlalchemy import select

from tests.conftest import ADMIN
from tests.e2e.clusters import Cluster, cluster_runs, ran_on, running_cluster
from tests.e2e.test_runs_python_sdk import Runs
from tests.support.go import report, run_go
from tests.support.scheduler import scheduler_process, wait_for
from windsock.db.engine import session
from windsock.db.models import Job

GO_SDK = Path(__file__).resolve().parents[2] / "clients" / "go"


@pytest.fixture(scope="module", params=["redis", "rabbitmq"])
def cluster(request, migrated, tmp_path_factory) -> Iterator[Cluster]:
    broker = request.getfixturevalue(f"{request.param}_broker")
    with running_cluster(migrated, tmp_path_factory.mktemp(f"celery-{request.param}"),
                         broker) as running:
        yield running


@pytest.fixture
def runs(cluster: Cluster, migrated) -> Iterator[Runs]:
    with cluster_runs(cluster, migrated) as helper:
        yield helper


# --- runs through the SDKs -----------------------------------------------------------------------


def test_each_queue_goes_to_its_workers_and_logs_are_read_from_them(cluster: Cluster,
                                                                    runs: Runs):
    dag_id, run_id = "celery_queues", "celery_queues_1"
    runs.trigger(dag_id, run_id)
    assert runs.wait_run(dag_id, run_id).state == "success", cluster.describe()
    tis = runs.task_instances(dag_id, run_id)
    assert ran_on(cluster, tis["on_a"]).hostname == "127.0.0.2"
    assert ran_on(cluster, tis["on_b"]).hostname == "127.0.0.3"
    assert tis["on_a"].queue == "a" and tis["on_b"].queue == "b"
    ran_on(cluster, tis["report"])
    # Each log is on one worker only; the API server reads it from there, whole and in pieces.
    assert "ran on queue a" in runs.log(dag_id, run_id, "on_a", 1)
    log_b = runs.log(dag_id, run_id, "on_b", 1)
    assert "ran on queue b" in log_b and "on 127.0.0.3" in log_b, log_b
    first = runs.tis.get_log(dag_id, run_id, "on_b", 1)
    assert log_b.startswith(first.content)
    assert runs.xcom(dag_id, run_id, "report") == "reported"


def test_the_example_dags_run_on_the_workers(cluster: Cluster, runs: Runs):
    runs.trigger("example_xcom_chain", "celery_xcom")
    runs.trigger("example_shell", "celery_shell", conf={"greeting": "Hej"})
    runs.trigger("example_branch", "celery_branch", conf={"mode": "thorough", "rounds": 2})
    for dag_id, run_id in (("example_xcom_chain", "celery_xcom"),
                           ("example_shell", "celery_shell"),
                           ("example_branch", "celery_branch")):
        assert runs.wait_run(dag_id, run_id).state == "success", cluster.describe()
    tis = runs.task_instances("example_xcom_chain", "celery_xcom")
    for ti in tis.values():
        ran_on(cluster, ti)
    summary = runs.xcom("example_xcom_chain", "celery_xcom", "transform")
    assert f"{summary['count']} orders" in runs.log("example_xcom_chain", "celery_xcom",
                                                    "load", 1)
    assert "Hej from Windsock" in runs.log("example_shell", "celery_shell", "greet", 1)
    branch = runs.states("example_branch", "celery_branch")
    assert "skipped" in branch.values() and "success" in branch.values(), branch


def test_the_go_sdk_runs_an_example_through_celery(cluster: Cluster, runs: Runs):
    proc = run_go(["test", "-count=1", "-v", "-run", "^TestRunExampleXComChain$", "./..."],
                  GO_SDK, {**os.environ, "WINDSOCK_TEST_URL": cluster.base_url,
                           "WINDSOCK_TEST_USERNAME": ADMIN[0],
                           "WINDSOCK_TEST_PASSWORD": ADMIN[1], "WINDSOCK_TEST_SCHEDULER": "1",
                           "CI": "1"})
    assert proc.returncode == 0, report(proc) + "\n" + cluster.describe()
    assert "--- PASS: TestRunExampleXComChain" in proc.stdout, report(proc)


def test_a_worker_that_cannot_be_reached_is_a_503_for_its_logs(cluster: Cluster, runs: Runs):
    dag_id, run_id = "celery_queues", "celery_unreachable"
    runs.trigger(dag_id, run_id)
    assert runs.wait_run(dag_id, run_id).state == "success", cluster.describe()
    worker = ran_on(cluster, runs.tis.get_task_instance(dag_id, run_id, "on_a"))
    os.kill(worker.log_server_pid(), signal.SIGSTOP)  # a worker that does not answer
    try:
        with pytest.raises(windsock_client.ApiException) as caught:
            runs.tis.get_log(dag_id, run_id, "on_a", 1)
    finally:
        os.kill(worker.log_server_pid(), signal.SIGCONT)
    problem = windsock_client.Error.from_json(caught.value.body)
    assert caught.value.status == 503 and problem.status == 503, caught.value
    assert "127.0.0.2" in problem.detail and "cannot be read" in problem.detail, problem
    assert "ran on queue a" in runs.log(dag_id, run_id, "on_a", 1)  # back again


def test_two_schedulers_at_once_run_each_task_instance_once(cluster: Cluster, runs: Runs,
                                                           tmp_path):
    """A second scheduler beside the module's: both run rounds over the same runs (which of them
    queues what is up to timing), and every task instance still runs exactly once."""
    run_ids = [f"celery_wide_{n}" for n in range(3)]
    with scheduler_process(cluster.env, tmp_path / "second_scheduler.log") as second:
        wait_for(lambda: len(_live_schedulers()) == 2, 60, "the second scheduler's job",
                 second.describe)
        for run_id in run_ids:
            runs.trigger("celery_wide", run_id)
        for run_id in run_ids:
            assert runs.wait_run("celery_wide", run_id).state == "success", (
                f"{cluster.describe()}\n{second.describe()}")
        second.assert_alive()
        assert len(_live_schedulers()) == 2
    for run_id in run_ids:
        for ti in runs.task_instances("celery_wide", run_id).values():
            ran_on(cluster, ti)  # one try, one log file, on one worker


def _live_schedulers() -> list[int]:
    """The scheduler jobs that are running and heartbeated in the last few seconds."""
    with session() as sess:
        return list(sess.scalars(select(Job.id).where(
            Job.job_type == "scheduler", Job.state == "running",
            Job.latest_heartbeat > datetime.now(timezone.utc) - timedelta(seconds=10))))
