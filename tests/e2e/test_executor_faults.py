"""Faults that the LocalExecutor and the CeleryExecutor both survive, end to end, each test on
the clusters of tests/e2e/clusters.py it applies to (module-scoped, one per kind):

- `local`: a scheduler with the LocalExecutor (its warm workers are its children);
- `celery-redis` and `celery-rabbitmq`: a scheduler with the CeleryExecutor and two Celery
  workers on 127.0.0.2 and 127.0.0.3, over a Redis or a RabbitMQ broker.

What runs the tasks is killed with SIGKILL mid-task, or stopped with SIGTERM, on both
executors: a try is retried after the heartbeat timeout, never beside itself, or finishes, and
nothing is lost or run twice. The broker's faults are Celery's alone: a broker restart (with
each broker) and a lost message.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from datetime import datetime, timedelta, timezone

import pytest
import windsock_client

from tests.e2e.clusters import Cluster, cluster_runs, ran_on, running_cluster
from tests.e2e.test_runs_python_sdk import Runs
from tests.support.scheduler import process_alive, wait_for

QUEUED_TIMEOUT = 8  # [scheduler] task_queued_timeout, seconds
HEARTBEAT_TIMEOUT = 6  # [scheduler] task_heartbeat_timeout, seconds
EVERY_EXECUTOR = pytest.mark.parametrize("cluster", ["local", "celery-redis"], indirect=True)
EVERY_BROKER = pytest.mark.parametrize("cluster", ["celery-redis", "celery-rabbitmq"],
                                       indirect=True)


@pytest.fixture(scope="module")
def cluster(request, migrated, tmp_path_factory) -> Iterator[Cluster]:
    kind = request.param
    broker = None
    if kind != "local":
        broker = request.getfixturevalue(f"{kind.removeprefix('celery-')}_broker")
    with running_cluster(migrated, tmp_path_factory.mktemp(kind), broker,
                         WINDSOCK__SCHEDULER__TASK_QUEUED_TIMEOUT=str(QUEUED_TIMEOUT),
                         WINDSOCK__SCHEDULER__TASK_HEARTBEAT_TIMEOUT=str(HEARTBEAT_TIMEOUT)
                         ) as running:
        yield running


@pytest.fixture
def runs(cluster: Cluster, migrated) -> Iterator[Runs]:
    with cluster_runs(cluster, migrated) as helper:
        yield helper


def _start_work(runs: Runs, run_id: str, marker, seconds: int = 300):
    """Trigger `mid_task` and wait until the first try of `work` runs; its task instance and
    the pids of its process and its grandchild."""
    runs.trigger("mid_task", run_id, conf={"marker": str(marker), "seconds": seconds})
    pids = wait_for(lambda: marker.exists() and len(found := marker.read_text().split()) == 2
                    and [int(pid) for pid in found], 60, "the first try to start",
                    lambda: runs.describe("mid_task"))
    ti = runs.tis.get_task_instance("mid_task", run_id, "work")
    assert ti.state == "running" and ti.try_number == 1, ti
    return ti, pids


def _tries(runs: Runs, run_id: str) -> dict:
    return {t.try_number: t for t in runs.tis.get_task_instance_tries(
        "mid_task", run_id, "work").task_instances}


@EVERY_EXECUTOR
def test_killed_mid_task_the_try_is_retried_after_the_heartbeat_timeout_never_beside_it(
        cluster: Cluster, runs: Runs, tmp_path):
    """SIGKILL to the runner's process: the LocalExecutor's warm worker (the scheduler forks
    another for the retry), or a whole Celery worker, pool and log server included (a machine
    that dies: the retry runs on the other worker). The try's processes die with it, the
    grandchild that ignores SIGTERM included."""
    run_id = "killed_mid_task"
    first, pids = _start_work(runs, run_id, tmp_path / "pids")
    victim = None
    if cluster.executor == "local":
        os.kill(first.pid, signal.SIGKILL)
    else:
        victim = cluster.worker(first.hostname)
        victim.kill()
    for pid in pids:
        wait_for(lambda: not process_alive(pid), 15, f"process {pid} of the first try to end")
    gone = datetime.now(timezone.utc)

    run = runs.wait_run("mid_task", run_id, timeout=HEARTBEAT_TIMEOUT + 60)
    assert run.state == "success", cluster.describe()
    tries = _tries(runs, run_id)
    assert sorted(tries) == [1, 2] and tries[2].state == "success", tries
    assert tries[1].state == "up_for_retry", tries
    # never two tries at once: the first one's processes were gone before the second began
    assert tries[1].end_date <= tries[2].start_date and gone < tries[2].start_date, tries
    failed = runs.events.get_event_logs(dag_id="mid_task", run_id=run_id,
                                        event="scheduler.task_up_for_retry").event_logs
    assert len(failed) == 1 and "no heartbeat" in failed[0].extra, failed
    assert "a later try: done" in runs.log("mid_task", run_id, "work", 2)
    assert runs.tis.get_task_instance("mid_task", run_id, "after").try_number == 1
    if victim is not None:
        assert tries[1].hostname == victim.hostname
        assert tries[2].hostname == cluster.other_worker(victim).hostname, tries
        # The first try's log is on the dead worker only: its read is a 503 problem.
        with pytest.raises(windsock_client.ApiException) as caught:
            runs.tis.get_log("mid_task", run_id, "work", 1)
        assert caught.value.status == 503, caught.value
        victim.start()
        victim.wait_ready()
        assert "first try: working" in runs.log("mid_task", run_id, "work", 1)


@EVERY_EXECUTOR
def test_sigterm_lets_the_running_try_finish_and_loses_nothing(cluster: Cluster, runs: Runs,
                                                               tmp_path):
    """SIGTERM to what runs the task: the LocalExecutor's scheduler stops at once and its warm
    worker finishes the try on its own (a new scheduler then goes on with the run); a Celery
    worker (a warm shutdown) takes nothing more, finishes the try, then exits 0 (the run goes
    on on the other worker). Every task instance runs once."""
    run_id = "stopped_mid_task"
    first, _ = _start_work(runs, run_id, tmp_path / "pids", seconds=5)
    if cluster.executor == "local":
        stopped = cluster.scheduler
        assert stopped.stop() == 0  # at once: the try still runs
        assert runs.states("mid_task", run_id) == {"work": "running", "after": None}
        wait_for(lambda: runs.states("mid_task", run_id)["work"] == "success", 30,
                 "the try to finish without a scheduler", stopped.describe)
        assert "A task worker failed" not in stopped.output(tail=100_000), stopped.output()
        assert runs.states("mid_task", run_id)["after"] is None  # no scheduler meanwhile
        runs.scheduler = cluster.new_scheduler()
    else:
        worker = cluster.worker(first.hostname)
        worker.proc.terminate()
        runs.wait_ti("mid_task", run_id, "work", ("success",))
        assert worker.stop() == 0, worker.output()
    assert runs.wait_run("mid_task", run_id).state == "success", cluster.describe()
    tis = runs.task_instances("mid_task", run_id)
    assert {ti.try_number for ti in tis.values()} == {1}, tis
    if cluster.executor == "celery":
        assert ran_on(cluster, tis["after"]) is cluster.other_worker(worker)
        worker.start()  # (which serves the log of `work` again)
        worker.wait_ready()
    assert "first try: done" in runs.log("mid_task", run_id, "work", 1)


@EVERY_BROKER
def test_a_broker_restart_loses_no_task_instance(cluster: Cluster, runs: Runs):
    # Down while task instances are sent: they wait, queued, and the scheduler goes on.
    cluster.broker.stop()
    try:
        runs.trigger("example_shell", "broker_down")
        runs.wait_ti("example_shell", "broker_down", "show_date", ("queued",))
        time.sleep(2)  # a few scheduler rounds that cannot send
        assert runs.states("example_shell", "broker_down")["show_date"] == "queued"
        # ... and its rounds go on meanwhile: its heartbeat is fresh.
        beat = runs.monitoring.get_health().scheduler.latest_scheduler_heartbeat
        assert datetime.now(timezone.utc) - beat < timedelta(seconds=3), beat
    finally:
        cluster.broker.start()
    assert runs.wait_run("example_shell", "broker_down").state == "success", cluster.describe()
    assert "Cannot send task instances to the Celery broker" in cluster.scheduler.output(400)

    # Restarted while a message waits in a queue: the message is still there after it.
    runs.trigger("celery_held", "held_restart")
    runs.wait_ti("celery_held", "held_restart", "held", ("queued",))
    wait_for(lambda: cluster.broker.waiting("held") == 1, 10, "the message in the broker")
    cluster.broker.restart()
    assert cluster.broker.waiting("held") == 1
    cluster.control("add_consumer", "held", cluster.workers[1])
    try:
        assert runs.wait_run("celery_held", "held_restart").state == "success", (
            cluster.describe())
    finally:
        cluster.control("cancel_consumer", "held", cluster.workers[1])
    ti = runs.tis.get_task_instance("celery_held", "held_restart", "held")
    assert ran_on(cluster, ti) is cluster.workers[1]
    # What the scheduler and the workers said of the broker, its failures included, never
    # shows its password.
    for output in (cluster.scheduler.output(tail=100_000),
                   *(worker.output(tail=100_000) for worker in cluster.workers)):
        assert cluster.broker.password not in output


@pytest.mark.parametrize("cluster", ["celery-redis"], indirect=True)
def test_a_lost_message_is_queued_again_after_the_queued_timeout(cluster: Cluster, runs: Runs):
    dag_id, run_id = "celery_held", "held_lost"
    runs.trigger(dag_id, run_id)
    runs.wait_ti(dag_id, run_id, "held", ("queued",))
    wait_for(lambda: cluster.broker.waiting("held") == 1, 10, "the message in the broker")
    assert cluster.broker.lose("held") == 1
    requeued = wait_for(
        lambda: runs.events.get_event_logs(dag_id=dag_id, run_id=run_id,
                                           event="scheduler.task_requeued").event_logs,
        QUEUED_TIMEOUT + 20, "the scheduler to queue the task instance again",
        lambda: runs.describe(dag_id))
    assert len(requeued) == 1, requeued
    wait_for(lambda: cluster.broker.waiting("held") == 1, 10, "the message sent again")
    cluster.control("add_consumer", "held", cluster.workers[0])
    try:
        assert runs.wait_run(dag_id, run_id).state == "success", cluster.describe()
    finally:
        cluster.control("cancel_consumer", "held", cluster.workers[0])
    ti = runs.tis.get_task_instance(dag_id, run_id, "held")
    assert ran_on(cluster, ti) is cluster.workers[0]
