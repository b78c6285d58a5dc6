"""Real DAG files parsed into the real database, runs created in it, and `windsock tasks run`
started as a real process."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select, update

from tests.dags.conftest import dags_folder, write  # noqa: F401 - the fixture is used here
from windsock import logs
from windsock.dags.processor import DagProcessor
from windsock.db.engine import session
from windsock.db.models import SerializedDag, TaskInstance, TaskInstanceTry, XCom
from windsock.runs.trigger import create_run, new_run_id

HEARTBEAT_SECONDS = 0.2


@pytest.fixture(autouse=True)
def task_settings(tmp_path, monkeypatch) -> None:
    """Fast heartbeats, and the task logs in this test's folder."""
    monkeypatch.setenv("WINDSOCK__SCHEDULER__TASK_HEARTBEAT_INTERVAL", str(HEARTBEAT_SECONDS))
    monkeypatch.setenv("WINDSOCK__LOGGING__BASE_LOG_FOLDER", str(tmp_path / "logs"))


@pytest.fixture
def add_dags(dags_folder) -> Callable[[str], None]:  # noqa: F811 - the imported fixture
    """Write a DAG file (source dedented) and parse the DAGs folder."""
    def add(source: str) -> None:
        write(dags_folder, "dags.py", source)
        summary = DagProcessor().run_pass(force=True)
        assert summary.import_errors == 0, summary

    return add


def new_run(dag_id: str, conf: dict[str, Any] | None = None, queued: tuple[str, ...] = ()
            ) -> str:
    """A running run of `dag_id` whose `queued` task instances are queued; its run id."""
    now = datetime.now(timezone.utc)
    run_id = new_run_id("manual", now)
    with session() as sess:
        data = json.loads(sess.scalar(select(SerializedDag.data)
                                      .where(SerializedDag.dag_id == dag_id)))
        run = create_run(sess, data, run_id=run_id, logical_date=now, conf=conf or {},
                         run_type="manual")
        run.state, run.start_date = "running", now
    for task_id in queued:
        set_state(dag_id, run_id, task_id, "queued")
    return run_id


def set_state(dag_id: str, run_id: str, task_id: str, state: str | None) -> None:
    with session() as sess:
        sess.execute(update(TaskInstance).where(
            TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id,
            TaskInstance.task_id == task_id).values(state=state))


def ti(dag_id: str, run_id: str, task_id: str) -> TaskInstance:
    with session() as sess:
        return sess.get(TaskInstance, (dag_id, run_id, task_id, -1))


def xcom(dag_id: str, run_id: str, task_id: str) -> Any:
    """The task instance's return value, or KeyError when it stored none."""
    with session() as sess:
        row = sess.get(XCom, (dag_id, run_id, task_id, -1, "return_value"))
    if row is None:
        raise KeyError(task_id)
    return json.loads(row.value)


def history(dag_id: str, run_id: str, task_id: str) -> list[TaskInstanceTry]:
    with session() as sess:
        return list(sess.scalars(select(TaskInstanceTry).where(
            TaskInstanceTry.dag_id == dag_id, TaskInstanceTry.run_id == run_id,
            TaskInstanceTry.task_id == task_id).order_by(TaskInstanceTry.try_number)))


def log_text(dag_id: str, run_id: str, task_id: str, try_number: int = 1) -> str:
    path = logs.log_path(dag_id, run_id, task_id, try_number)
    return path.read_text() if path.exists() else ""


def command(dag_id: str, task_id: str, run_id: str) -> list[str]:
    return [sys.executable, "-m", "windsock.cli", "tasks", "run", dag_id, task_id, run_id]


def run_task(dag_id: str, task_id: str, run_id: str) -> subprocess.CompletedProcess:
    return subprocess.run(command(dag_id, task_id, run_id), capture_output=True, text=True,
                          timeout=90)


def start_task(dag_id: str, task_id: str, run_id: str) -> subprocess.Popen:
    return subprocess.Popen(command(dag_id, task_id, run_id), stdout=subprocess.DEVNULL,
                            stderr=subprocess.PIPE, text=True)


def wait_for(condition: Callable[[], Any], timeout: float = 30, what: str = "") -> Any:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        result = condition()
        if result:
            return result
        time.sleep(0.05)
    raise AssertionError(f"not true within {timeout} s: {what or condition}")


def process_gone(pid: int) -> bool:
    """Whether the process `pid` is gone (or only a zombie left to reap)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z"
    except FileNotFoundError:
        return True
