"""Fixtures for the SDK end-to-end tests: one real `windsock api-server` for the session, and a
DAGs folder parsed into its database by the real `windsock dags reserialize`.

The server process uses the same database as the test process (`windsock_env`), so the autouse
`clean_database` fixture of tests/conftest.py removes, after each test, what the SDKs created
through the server -- and the parsed DAGs and import errors with it. That is why `parsed_dags`
is function-scoped: it parses the (session-wide) DAGs folder again for each test that asks.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.support.server import api_server


@pytest.fixture(scope="session")
def live_server(migrated) -> Iterator[str]:
    """Base URL (e.g. http://127.0.0.1:PORT) of a running api-server on the migrated database."""
    with api_server(migrated) as base:
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
