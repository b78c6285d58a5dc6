"""Fixtures for the SDK end-to-end tests: one real `windsock api-server` for the session, and a
DAGs folder parsed into its database by the real `windsock dags reserialize`.

The server process uses the same database as the test process (`windsock_env`), so the autouse
`clean_database` fixture of tests/conftest.py removes, after each test, what the SDKs created
through the server -- and the parsed DAGs and import errors with it. That is why `parsed_dags`
is function-scoped: it parses the (session-wide) DAGs folder again for each test that asks.

The run tests add a real `windsock scheduler` (module-scoped `scheduler`: started for the tests
of one module that ask for it, stopped with SIGTERM after them, when it must exit 0) and the
DAG files of tests/e2e/run_dags, parsed with the example DAGs for each test (`run_dags`).
`live_scheduler` waits, after each test, until the runs it started are over, so that
`clean_database` does not delete rows from under running tasks.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import windsock_client

from tests.conftest import ADMIN
from tests.support.brokers import Broker, RabbitMQServer, RedisServer
from tests.support.scheduler import (
    FAST_SETTINGS,
    SchedulerProcess,
    active_work,
    database_state,
    scheduler_process,
    wait_for,
)
from tests.support.server import api_server


@pytest.fixture(scope="session")
def live_server(migrated) -> Iterator[str]:
    """Base URL (e.g. http://127.0.0.1:PORT) of a running api-server on the migrated database."""
    with api_server(migrated) as base:
        yield base


@pytest.fixture
def api_client(live_server) -> Iterator[windsock_client.ApiClient]:
    """The generated Python SDK's client of the live server, as the admin (basic auth)."""
    config = windsock_client.Configuration(host=f"{live_server}/api/v1", username=ADMIN[0],
                                           password=ADMIN[1])
    with windsock_client.ApiClient(config) as client:
        yield client


@pytest.fixture(scope="module")
def airflow_client_server(migrated) -> Iterator[str]:
    """Base URL of an api-server for one module with the configuration and connection-test
    endpoints on (both off by default), for the suites of the published Airflow clients, which
    call every operation."""
    env = {**migrated, "WINDSOCK__API__EXPOSE_CONFIG": "True",
           "WINDSOCK__API__ENABLE_CONNECTION_TEST": "True"}
    with api_server(env) as base:
        yield base


# --- a DAGs folder -------------------------------------------------------------------------------

GOOD_DAG_SOURCE = '''\
"""An end-to-end test pipeline: three Python tasks chained, then a shell task."""

from datetime import datetime, timezone

from windsock import DAG, Param, ShellTask, task

with DAG(
    "e2e_pipeline",
    schedule=None,
    start_date=datetime(2026, 1, 1, tzinfo=timezone.utc),
    tags=["e2e", "sdk"],
    owner="data-team",
    description="The end-to-end test pipeline.",
    params={
        "batch_size": Param(10, description="Rows per batch.", type="integer", minimum=1),
    },
) as dag:

    @task
    def extract():
        return [1, 2, 3]

    @task
    def transform(rows, params=None):
        return [row * params["batch_size"] for row in rows]

    @task(retries=2)
    def load(rows):
        return len(rows)

    load(transform(extract())) >> ShellTask("report", "echo done")
'''

BROKEN_DAG_SOURCE = '''\
"""A DAG file that does not even compile."""

from windsock import DAG

with DAG("e2e_broken" as dag:
    pass
'''


@dataclass(frozen=True)
class DagsFolder:
    """What the DAGs folder holds, for the assertions of the tests that use it."""

    path: Path
    good_file: Path
    broken_file: Path
    dag_id: str = "e2e_pipeline"
    tags: tuple[str, ...] = ("e2e", "sdk")
    owner: str = "data-team"
    task_ids: tuple[str, ...] = ("extract", "transform", "load", "report")  # in dependency order
    param: str = "batch_size"
    param_default: int = 10
    param_minimum: int = 1

    @property
    def good_source(self) -> str:
        return self.good_file.read_text()


@pytest.fixture(scope="session")
def dags_folder(tmp_path_factory) -> DagsFolder:
    """A DAGs folder with one good DAG file and one with a syntax error."""
    path = tmp_path_factory.mktemp("dags")
    good, broken = path / "e2e_pipeline.py", path / "e2e_broken.py"
    good.write_text(GOOD_DAG_SOURCE)
    broken.write_text(BROKEN_DAG_SOURCE)
    return DagsFolder(path=path.resolve(), good_file=good.resolve(), broken_file=broken.resolve())


def reserialize(env: dict[str, str], folder: DagsFolder) -> str:
    """Run the real `windsock dags reserialize` on `folder`; its one-line summary."""
    proc = subprocess.run(
        [sys.executable, "-m", "windsock.cli", "dags", "reserialize"],
        env={**os.environ, **env, "WINDSOCK__CORE__DAGS_FOLDER": str(folder.path),
             "WINDSOCK__CORE__LOAD_EXAMPLES": "False"},
        capture_output=True, text=True, timeout=120)
    report = textwrap.indent(f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}", "  ")
    assert proc.returncode == 0, f"windsock dags reserialize exited with {proc.returncode}\n{report}"
    summary = proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""
    assert re.fullmatch(r"Parsed 2 files in \d+\.\d s: 1 DAG, 1 import error", summary), report
    return summary


@pytest.fixture
def parsed_dags(migrated, dags_folder) -> DagsFolder:
    """The DAGs folder, parsed into the database by `windsock dags reserialize` (a process).

    Function-scoped because `clean_database` deletes the DAGs and import errors after each test.
    """
    reserialize(migrated, dags_folder)
    return dags_folder


# --- running DAGs: a real scheduler -------------------------------------------------------------

RUN_DAGS = Path(__file__).resolve().parent / "run_dags"
EXAMPLE_DAG_IDS = ("example_branch", "example_shell", "example_xcom_chain")
SETTLE_TIMEOUT = 60  # seconds the runs a test started may take to finish after it


@dataclass(frozen=True)
class RunDags:
    """The DAGs the run tests trigger: the files of tests/e2e/run_dags and the examples."""

    path: Path
    dag_ids: tuple[str, ...]


@pytest.fixture(scope="session")
def run_dags_folder(tmp_path_factory) -> Path:
    """A copy of tests/e2e/run_dags (the DAG files the run tests trigger)."""
    path = tmp_path_factory.mktemp("run_dags")
    for source in sorted(RUN_DAGS.glob("*.py")):
        shutil.copy(source, path / source.name)
    return path.resolve()


def reserialize_with_examples(env: dict[str, str], folder: Path) -> str:
    """Run `windsock dags reserialize` on `folder` and the example DAGs; its summary line."""
    proc = subprocess.run(
        [sys.executable, "-m", "windsock.cli", "dags", "reserialize"],
        env={**os.environ, **env, "WINDSOCK__CORE__DAGS_FOLDER": str(folder),
             "WINDSOCK__CORE__LOAD_EXAMPLES": "True"},
        capture_output=True, text=True, timeout=120)
    report = textwrap.indent(f"stdout:\n{proc.stdout}\nstderr:\n{proc.stderr}", "  ")
    assert proc.returncode == 0, (f"windsock dags reserialize exited with {proc.returncode}\n"
                                  f"{report}")
    return proc.stdout.strip().splitlines()[-1] if proc.stdout.strip() else ""


@pytest.fixture
def run_dags(migrated, run_dags_folder) -> RunDags:
    """tests/e2e/run_dags and the example DAGs, parsed into the database (for each test, since
    `clean_database` deletes them after each)."""
    files = sorted(run_dags_folder.glob("*.py"))
    summary = reserialize_with_examples(migrated, run_dags_folder)
    expected = len(files) + len(EXAMPLE_DAG_IDS)
    assert re.fullmatch(rf"Parsed {expected} files in \d+\.\d s: {expected} DAGs, "
                        r"0 import errors", summary), summary
    return RunDags(path=run_dags_folder,
                   dag_ids=tuple(sorted([f.stem for f in files] + list(EXAMPLE_DAG_IDS))))


def scheduler_env(env: dict[str, str], dags_folder: Path, **settings: str) -> dict[str, str]:
    """The environment of a test scheduler: the test home and database, fast settings."""
    return {**env, **FAST_SETTINGS, "WINDSOCK__CORE__DAGS_FOLDER": str(dags_folder),
            "WINDSOCK__CORE__LOAD_EXAMPLES": "True", **settings}


@pytest.fixture(scope="module")
def scheduler(migrated, run_dags_folder, tmp_path_factory) -> Iterator[SchedulerProcess]:
    """A real `windsock scheduler` on the test database, for the tests of one module; stopped
    with SIGTERM at the end, when it must exit 0."""
    log_file = tmp_path_factory.mktemp("scheduler") / "scheduler.log"
    with scheduler_process(scheduler_env(migrated, run_dags_folder), log_file) as proc:
        yield proc


def settle(scheduler: SchedulerProcess, timeout: float = SETTLE_TIMEOUT) -> None:
    """Wait until no run is queued or running and no task instance is queued, running or
    restarting, so that `clean_database` does not pull rows from under running tasks; and
    check that the scheduler is still alive."""
    wait_for(lambda: not active_work(), timeout, "the runs of the test to finish",
             lambda: f"{active_work()}\n{database_state()}\n{scheduler.describe()}")
    scheduler.assert_alive()


@pytest.fixture
def live_scheduler(scheduler, run_dags) -> Iterator[SchedulerProcess]:
    """The module's scheduler, alive, with the run DAGs parsed; after the test, the runs it
    started have finished (and the scheduler is still alive)."""
    scheduler.assert_alive()
    yield scheduler
    settle(scheduler)


# --- Celery brokers ------------------------------------------------------------------------------


def _for_the_session(broker: Broker) -> Iterator[Broker]:
    try:
        yield broker
    finally:
        broker.close()


@pytest.fixture(scope="session")
def redis_broker() -> Iterator[RedisServer]:
    """A real redis-server on a free port, for the Celery tests of the session."""
    yield from _for_the_session(RedisServer())


@pytest.fixture(scope="session")
def rabbitmq_broker() -> Iterator[RabbitMQServer]:
    """A real RabbitMQ node on free ports, for the Celery tests of the session."""
    yield from _for_the_session(RabbitMQServer())
