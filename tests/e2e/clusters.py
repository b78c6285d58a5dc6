"""Whole deployments for the executor tests (tests/e2e/test_celery.py, test_executor_faults.py),
each with real parts only: a real `windsock scheduler`, a real `windsock api-server`, and

- with the LocalExecutor, nothing more (the scheduler forks its warm workers);
- with the CeleryExecutor, a real broker (tests/support/brokers) and two real `windsock celery
  worker` processes as two machines (hostnames and log servers on 127.0.0.2 and 127.0.0.3, one
  port, separate log folders; the first takes the queues `default` and `a`, the second
  `default` and `b`). The API server's own log folder holds no task log, so every log it serves
  of a Celery task is read from the worker that wrote it.

Each cluster has a log folder of its own (the scheduler's and the API server's), so that no
log of another module's tries is found there.

The DAGs are those of tests/e2e/executor_dags and the examples; `cluster_runs` parses them for
a test and gives it the Python SDK helpers of the run tests.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import urllib3
import windsock_client

from tests.conftest import ADMIN
from tests.e2e.conftest import EXAMPLE_DAG_IDS, reserialize_with_examples, scheduler_env, settle
from tests.e2e.test_runs_python_sdk import Runs
from tests.support.brokers import Broker
from tests.support.celery import CeleryWorker
from tests.support.ports import free_port
from tests.support.scheduler import SchedulerProcess, wait_for
from tests.support.server import api_server

EXECUTOR_DAGS = Path(__file__).resolve().parent / "executor_dags"
WORKERS = (("127.0.0.2", "default,a"), ("127.0.0.3", "default,b"))  # hostname, queues
CONTROL_TIMEOUT = 60


@dataclass
class Cluster:
    """What a module runs; `executor` is `local` or `celery`."""

    executor: str
    env: dict[str, str]
    folder: Path
    scheduler: SchedulerProcess
    base_url: str = ""
    broker: Broker | None = None
    workers: list[CeleryWorker] = field(default_factory=list)

    def describe(self) -> str:
        return "\n".join([self.scheduler.describe(), *(w.output(20) for w in self.workers)])

    def worker(self, hostname: str) -> CeleryWorker:
        return next(w for w in self.workers if w.hostname == hostname)

    def other_worker(self, worker: CeleryWorker) -> CeleryWorker:
        return next(w for w in self.workers if w is not worker)

    def new_scheduler(self) -> SchedulerProcess:
        """Start a scheduler in place of the module's, which has exited."""
        assert not self.scheduler.alive(), self.scheduler.describe()
        number = len(list(self.folder.glob("scheduler*.log"))) + 1
        self.scheduler = SchedulerProcess(self.env, self.folder / f"scheduler-{number}.log")
        self.scheduler.wait_started()
        return self.scheduler

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


@contextmanager
def running_cluster(env: dict[str, str], folder: Path, broker: Broker | None = None,
                    **settings: str) -> Iterator[Cluster]:
    """A cluster on the test database (`env`) with the executor DAGs, the CeleryExecutor when a
    `broker` is given (else the LocalExecutor), and `settings` (WINDSOCK__... variables), until
    the block ends; then its scheduler must exit 0 on SIGTERM."""
    shutil.copytree(EXECUTOR_DAGS, folder / "dags")
    settings["WINDSOCK__LOGGING__BASE_LOG_FOLDER"] = str(folder / "logs")
    if broker is not None:
        settings.update(WINDSOCK__CORE__EXECUTOR="CeleryExecutor",
                        WINDSOCK__CELERY__BROKER_URL=broker.url,
                        WINDSOCK__LOGGING__WORKER_LOG_SERVER_PORT=str(free_port()))
    env = scheduler_env(env, folder / "dags", **settings)
    workers = []
    scheduler = None
    try:
        for n, (hostname, queues) in enumerate(WORKERS if broker else ()):
            workers.append(CeleryWorker(env, hostname, queues, folder / f"worker{n}"))
        for worker in workers:
            worker.wait_ready()
        scheduler = SchedulerProcess(env, folder / "scheduler.log")
        scheduler.wait_started()
        cluster = Cluster("celery" if broker else "local", env, folder, scheduler, broker=broker,
                          workers=workers)
        with api_server(env, output_path=folder / "api.log") as cluster.base_url:
            yield cluster
        scheduler = cluster.scheduler
        assert scheduler.alive(), f"the scheduler died before the end: {scheduler.describe()}"
        code = scheduler.stop()
        assert code == 0, f"the scheduler exited with {code} after SIGTERM:\n{scheduler.output()}"
    finally:
        if scheduler is not None:
            scheduler.stop()
        for worker in workers:
            worker.stop()


@contextmanager
def cluster_runs(cluster: Cluster, env: dict[str, str]) -> Iterator[Runs]:
    """The Runs helper of the Python SDK tests on the cluster's API server, with the executor
    DAGs and the examples parsed; after the block, the runs it started have finished."""
    folder = Path(cluster.env["WINDSOCK__CORE__DAGS_FOLDER"])
    summary = reserialize_with_examples(env, folder)
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


def ran_on(cluster: Cluster, ti) -> CeleryWorker:
    """The worker that ran the task instance (by its recorded hostname) in one try, after
    checking that the try's log file is in that worker's log folder and nowhere else."""
    assert ti.state == "success" and ti.executor == "CeleryExecutor" and ti.try_number == 1, ti
    worker = next((w for w in cluster.workers if w.hostname == ti.hostname), None)
    assert worker is not None, ti
    relative = Path(f"dag_id={ti.dag_id}", f"run_id={ti.dag_run_id}", f"task_id={ti.task_id}",
                    f"attempt={ti.try_number}.log")
    assert (worker.log_folder / relative).is_file(), (worker.log_folder / relative)
    others = [w.log_folder for w in cluster.workers if w is not worker]
    api_folder = Path(cluster.env["WINDSOCK__LOGGING__BASE_LOG_FOLDER"])
    for folder in (*others, api_folder):
        assert not (folder / relative).exists(), folder / relative
    return worker
