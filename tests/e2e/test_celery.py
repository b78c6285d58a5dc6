"""The Celery executor end to end, with real parts only: a real `redis-server` as the broker
(session-wide, `redis_broker`), a real `windsock scheduler` with [core] executor =
CeleryExecutor, two real `windsock celery worker` processes as two machines (hostnames and log
servers on 127.0.0.2 and 127.0.0.3, one port, separate log folders; the first takes the queues
`default` and `a`, the second `default` and `b`), and a real `windsock api-server` whose own
log folder holds no log, so every log it serves is read from the worker that wrote it.

Runs are triggered and read through the Python SDK and the Go SDK. The fault tests come last
and share the workers and the broker: a broker that restarts (or is down while task instances
are sent) loses no task instance, a lost message is queued again after [scheduler]
task_queued_timeout, and a worker killed with SIGKILL mid-task leads to the task's retry (on
the other worker) after [scheduler] task_heartbeat_timeout, never two tries at once.
"""

from __future__ import annotations

import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import urllib3
import windsock_client
from sqlalchemy import select

from tests.conftest import ADMIN
from tests.e2e.conftest import reserialize_with_examples, scheduler_env, settle
from tests.e2e.test_runs_python_sdk import Runs
from tests.support.go import report, run_go
from tests.support.ports import free_port
from tests.support.redis import RedisServer
from tests.support.scheduler import SchedulerProcess, process_alive, scheduler_process, wait_for
from tests.support.server import api_server
from windsock.db.engine import session
from windsock.db.models import Job

CELERY_DAGS = Path(__file__).resolve().parent / "celery_dags"
GO_SDK = Path(__file__).resolve().parents[2] / "clients" / "go"
EXAMPLE_DAG_IDS = ("example_branch", "example_shell", "example_xcom_chain")
QUEUED_TIMEOUT = 8  # [scheduler] task_queued_timeout, seconds
HEARTBEAT_TIMEOUT = 6  # [scheduler] task_heartbeat_timeout, seconds
READY_TIMEOUT = 60
CONTROL_TIMEOUT = 60


class CeleryWorker:
    """One `windsock celery worker` process (in its own session), as one machine."""

    def __init__(self, env: dict[str, str], hostname: str, queues: str, folder: Path):
        self.hostname = hostname
        self.nodename = f"windsock@{hostname}"
        self.log_folder = folder / "logs"
        self.output_file = folder / "worker.log"
        self.port = int(env["WINDSOCK__LOGGING__WORKER_LOG_SERVER_PORT"])
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "windsock.cli", "celery", "worker", "--queues", queues,
             "--concurrency", "2"],
            env={**os.environ, **env, "WINDSOCK__CORE__HOSTNAME": hostname,
                 "WINDSOCK__LOGGING__WORKER_LOG_SERVER_HOST": hostname,
                 "WINDSOCK__LOGGING__BASE_LOG_FOLDER": str(self.log_folder)},
            stdout=self.output_file.open("ab"), stderr=subprocess.STDOUT,
            start_new_session=True)

    def output(self, tail: int = 60) -> str:
        lines = self.output_file.read_text(errors="replace").splitlines()
        return f"worker {self.hostname} (pid {self.proc.pid}):\n" + "\n".join(lines[-tail:])

    def _serving(self) -> bool:
        try:
            socket.create_connection((self.hostname, self.port), timeout=1).close()
        except OSError:
            return False
        return True

    def wait_ready(self) -> None:
        def ready() -> bool:
            assert self.proc.poll() is None, f"the worker died:\n{self.output()}"
            return " ready." in self.output_file.read_text(errors="replace") and self._serving()

        wait_for(ready, READY_TIMEOUT, f"worker {self.hostname} to be ready", self.output)

    def log_server_pid(self) -> int:
        """The pid of the worker's log server (a child process with its own title)."""
        from windsock.log_server import TITLE

        children = Path(f"/proc/{self.proc.pid}/task/{self.proc.pid}/children").read_text()
        return next(int(pid) for pid in children.split()
                    if Path(f"/proc/{pid}/cmdline").read_bytes().rstrip(b"\0") == TITLE.encode())

    def kill(self) -> None:
        """SIGKILL to the worker's every process (the log server and the pool included)."""
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait()

    def stop(self) -> None:
        """SIGTERM (a warm shutdown); SIGKILL if it hangs."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.kill()
        try:
            os.killpg(self.proc.pid, signal.SIGKILL)  # whatever it left behind
        except ProcessLookupError:
            pass


@dataclass
class Cluster:
    """What the module runs: the broker, the scheduler, the workers and the API server."""

    broker: RedisServer
    scheduler: SchedulerProcess
    workers: list[CeleryWorker]
    base_url: str
    env: dict[str, str]

    def describe(self) -> str:
        return "\n".join([self.scheduler.describe(), *(w.output(20) for w in self.workers)])

    def control(self, command: str, queue: str, worker: CeleryWorker) -> None:
        """Tell a worker to start (`add_consumer`) or stop (`cancel_consumer`) taking `queue`."""
        from celery import Celery

        app = Celery(broker=self.broker.url, set_as_current=False)
        try:  # (a worker that lost the broker a moment ago may take a while to hear again)
            wait_for(lambda: getattr(app.control, command)(
                queue, destination=[worker.nodename], reply=True, timeout=2),
                CONTROL_TIMEOUT, f"{worker.nodename} to answer {command} {queue}", self.describe)
        finally:
            app.close()


@pytest.fixture(scope="module")
def cluster(migrated, redis_broker, tmp_path_factory) -> Iterator[Cluster]:
    folder = tmp_path_factory.mktemp("celery")
    shutil.copytree(CELERY_DAGS, folder / "dags")
    env = scheduler_env(migrated, folder / "dags",
                        WINDSOCK__CORE__EXECUTOR="CeleryExecutor",
                        WINDSOCK__CELERY__BROKER_URL=redis_broker.url,
                        WINDSOCK__LOGGING__WORKER_LOG_SERVER_PORT=str(free_port()),
                        WINDSOCK__SCHEDULER__TASK_QUEUED_TIMEOUT=str(QUEUED_TIMEOUT),
                        WINDSOCK__SCHEDULER__TASK_HEARTBEAT_TIMEOUT=str(HEARTBEAT_TIMEOUT))
    workers = []
    try:
        for n, (hostname, queues) in enumerate((("127.0.0.2", "default,a"),
                                                ("127.0.0.3", "default,b"))):
            (folder / f"worker{n}").mkdir()
            workers.append(CeleryWorker(env, hostname, queues, folder / f"worker{n}"))
        for worker in workers:
            worker.wait_ready()
        with scheduler_process(env, folder / "scheduler.log") as scheduler, \
                api_server(env, output_path=folder / "api.log") as base_url:
            yield Cluster(redis_broker, scheduler, workers, base_url, env)
    finally:
        for worker in workers:
            worker.stop()


@pytest.fixture
def runs(cluster: Cluster, migrated) -> Iterator[Runs]:
    """The Runs helper of the Python SDK tests on the module's API server, with the Celery
    test DAGs and the examples parsed; after the test, its runs have finished."""
    folder = Path(cluster.env["WINDSOCK__CORE__DAGS_FOLDER"])
    summary = reserialize_with_examples(migrated, folder)
    expected = len(list(folder.glob("*.py"))) + len(EXAMPLE_DAG_IDS)
    assert re.fullmatch(rf"Parsed {expected} files in \d+\.\d s: {expected} DAGs, "
                        r"0 import errors", summary), summary
    config = windsock_client.Configuration(host=f"{cluster.base_url}/api/v1",
                                           username=ADMIN[0], password=ADMIN[1])
    # A 503 is an answer under test here, not one to wait out as its Retry-After says.
    config.retries = urllib3.util.Retry(3, respect_retry_after_header=False)
    with windsock_client.ApiClient(config) as client:
        yield Runs(client, cluster.scheduler)
    settle(cluster.scheduler)


def _ran_on(cluster: Cluster, ti, *, once: bool = True) -> CeleryWorker:
    """The worker that ran the task instance (by its recorded hostname), after checking that
    its log file is in that worker's log folder and nowhere else."""
    assert ti.state == "success" and ti.executor == "CeleryExecutor", ti
    if once:
        assert ti.try_number == 1, ti
    worker = next((w for w in cluster.workers if w.hostname == ti.hostname), None)
    assert worker is not None, ti
    relative = Path(f"dag_id={ti.dag_id}", f"run_id={ti.dag_run_id}", f"task_id={ti.task_id}",
                    f"attempt={ti.try_number}.log")
    assert (worker.log_folder / relative).is_file(), (worker.log_folder / relative)
    others = [w.log_folder for w in cluster.workers if w is not worker]
    api_folder = Path(cluster.env["WINDSOCK_HOME"]) / "logs"
    for folder in (*others, api_folder):
        assert not (folder / relative).exists(), folder / relative
    return worker


# --- runs through the SDKs -----------------------------------------------------------------------


def test_each_queue_goes_to_its_workers_and_logs_are_read_from_them(cluster: Cluster,
                                                                    runs: Runs):
    dag_id, run_id = "celery_queues", "celery_queues_1"
    runs.trigger(dag_id, run_id)
    assert runs.wait_run(dag_id, run_id).state == "success", cluster.describe()
    tis = runs.task_instances(dag_id, run_id)
    assert _ran_on(cluster, tis["on_a"]).hostname == "127.0.0.2"
    assert _ran_on(cluster, tis["on_b"]).hostname == "127.0.0.3"
    assert tis["on_a"].queue == "a" and tis["on_b"].queue == "b"
    _ran_on(cluster, tis["report"])
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
        _ran_on(cluster, ti)
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
    worker = _ran_on(cluster, runs.tis.get_task_instance(dag_id, run_id, "on_a"))
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


# --- faults --------------------------------------------------------------------------------------


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
            _ran_on(cluster, ti)  # one try, one log file, on one worker


def _live_schedulers() -> list[int]:
    """The scheduler jobs that are running and heartbeated in the last few seconds."""
    with session() as sess:
        return list(sess.scalars(select(Job.id).where(
            Job.job_type == "scheduler", Job.state == "running",
            Job.latest_heartbeat > datetime.now(timezone.utc) - timedelta(seconds=10))))


def _queued_messages(cluster: Cluster, queue: str) -> int:
    import redis

    with redis.Redis.from_url(cluster.broker.url) as client:
        return client.llen(queue)


def test_a_broker_restart_loses_no_task_instance(cluster: Cluster, runs: Runs):
    # Down while task instances are sent: they wait, queued, and the scheduler goes on.
    cluster.broker.stop()
    try:
        runs.trigger("example_shell", "celery_broker_down")
        runs.wait_ti("example_shell", "celery_broker_down", "show_date", ("queued",))
        time.sleep(2)  # a few scheduler rounds that cannot send
        assert runs.states("example_shell", "celery_broker_down")["show_date"] == "queued"
        # ... and its rounds go on meanwhile: its heartbeat is fresh.
        beat = runs.monitoring.get_health().scheduler.latest_scheduler_heartbeat
        assert datetime.now(timezone.utc) - beat < timedelta(seconds=3), beat
    finally:
        cluster.broker.start()
    assert runs.wait_run("example_shell", "celery_broker_down").state == "success", (
        cluster.describe())
    assert "Cannot send task instances to the Celery broker" in cluster.scheduler.output(400)

    # Restarted while a message waits in a queue: the message is still there after it.
    runs.trigger("celery_held", "celery_held_restart")
    runs.wait_ti("celery_held", "celery_held_restart", "held", ("queued",))
    wait_for(lambda: _queued_messages(cluster, "held") == 1, 10, "the message in the broker")
    cluster.broker.restart()
    assert _queued_messages(cluster, "held") == 1
    cluster.control("add_consumer", "held", cluster.workers[1])
    try:
        assert runs.wait_run("celery_held", "celery_held_restart").state == "success", (
            cluster.describe())
    finally:
        cluster.control("cancel_consumer", "held", cluster.workers[1])
    ti = runs.tis.get_task_instance("celery_held", "celery_held_restart", "held")
    assert _ran_on(cluster, ti).hostname == "127.0.0.3"


def test_a_lost_message_is_queued_again_after_the_queued_timeout(cluster: Cluster, runs: Runs):
    dag_id, run_id = "celery_held", "celery_held_lost"
    runs.trigger(dag_id, run_id)
    runs.wait_ti(dag_id, run_id, "held", ("queued",))
    wait_for(lambda: _queued_messages(cluster, "held") == 1, 10, "the message in the broker")
    import redis

    with redis.Redis.from_url(cluster.broker.url) as client:
        client.delete("held")  # the message is lost
    requeued = wait_for(
        lambda: runs.events.get_event_logs(dag_id=dag_id, run_id=run_id,
                                           event="scheduler.task_requeued").event_logs,
        QUEUED_TIMEOUT + 20, "the scheduler to queue the task instance again",
        lambda: runs.describe(dag_id))
    assert len(requeued) == 1, requeued
    wait_for(lambda: _queued_messages(cluster, "held") == 1, 10, "the message sent again")
    cluster.control("add_consumer", "held", cluster.workers[0])
    try:
        assert runs.wait_run(dag_id, run_id).state == "success", cluster.describe()
    finally:
        cluster.control("cancel_consumer", "held", cluster.workers[0])
    ti = runs.tis.get_task_instance(dag_id, run_id, "held")
    assert ti.try_number == 1 and _ran_on(cluster, ti).hostname == "127.0.0.2"


def test_a_worker_killed_mid_task_leads_to_a_retry_on_the_other(cluster: Cluster, runs: Runs,
                                                                tmp_path):
    # Last in the module: the killed worker stays dead.
    dag_id, run_id = "celery_victim", "celery_victim_1"
    marker = tmp_path / "first_try_pid"
    runs.trigger(dag_id, run_id, conf={"marker": str(marker)})
    wait_for(marker.exists, 30, "the first try to start", lambda: runs.describe(dag_id))
    first = runs.tis.get_task_instance(dag_id, run_id, "victim")
    assert first.state == "running" and first.try_number == 1, first
    victim = next(w for w in cluster.workers if w.hostname == first.hostname)
    survivor = next(w for w in cluster.workers if w is not victim)
    body = int(marker.read_text())
    victim.kill()
    # The task's own process dies with its worker (its guard sees the runner gone).
    wait_for(lambda: not process_alive(body), 15, "the first try's process to end")
    run = runs.wait_run(dag_id, run_id, timeout=HEARTBEAT_TIMEOUT + 60)
    assert run.state == "success", cluster.describe()
    ti = runs.tis.get_task_instance(dag_id, run_id, "victim")
    assert ti.try_number == 2 and ti.hostname == survivor.hostname, ti
    tries = {t.try_number: t for t in
             runs.tis.get_task_instance_tries(dag_id, run_id, "victim").task_instances}
    assert tries[1].state in ("up_for_retry", "failed") and tries[1].hostname == victim.hostname
    assert tries[1].end_date <= tries[2].start_date, tries  # never two tries at once
    assert "second try: done" in runs.log(dag_id, run_id, "victim", 2)
    # The first try's log is on the dead worker only: its read is a 503 problem, not a 500.
    with pytest.raises(windsock_client.ApiException) as caught:
        runs.tis.get_log(dag_id, run_id, "victim", 1)
    assert caught.value.status == 503, caught.value
