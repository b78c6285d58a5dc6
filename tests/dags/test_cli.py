"""`windsock dags reserialize` and `windsock dag-processor` as real processes."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import select

from tests.dags.conftest import shell_dags, write
from windsock.dags.processor import request_parse
from windsock.dags.store import file_token
from windsock.db.engine import session
from windsock.db.models import SerializedDag


def windsock(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "windsock.cli", *args], text=True,
                          capture_output=True, timeout=120, env=env or dict(os.environ))


def task_ids(dag_id: str) -> list[str]:
    with session() as sess:
        data = sess.scalar(select(SerializedDag.data).where(SerializedDag.dag_id == dag_id))
    return [] if data is None else [t["task_id"] for t in json.loads(data)["tasks"]]


def wait_for(condition, seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.2)


def test_reserialize_parses_every_file_and_prints_a_summary(dags_folder):
    write(dags_folder, "two.py", shell_dags(alpha=["a"], beta=["b"]))
    write(dags_folder, "one.py", shell_dags(gamma=["c"]))
    write(dags_folder, "bad.py", "raise RuntimeError('nope')\n")

    result = windsock("dags", "reserialize")

    assert result.returncode == 0, result.stderr
    assert re.fullmatch(r"Parsed 3 files in \d+\.\d s: 3 DAGs, 1 import error\n", result.stdout)
    assert task_ids("alpha") == ["a"] and task_ids("gamma") == ["c"]


@pytest.mark.parametrize("command", [["dags", "reserialize"], ["dag-processor", "--once"]])
def test_an_unmigrated_database_is_refused(command, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("WINDSOCK")}
    env["WINDSOCK_HOME"] = str(tmp_path / "home")
    result = windsock(*command, env=env)
    assert result.returncode != 0
    assert "windsock db migrate" in result.stderr and "Traceback" not in result.stderr


def test_the_processor_honours_parse_requests_and_stops_on_sigterm(dags_folder):
    path = write(dags_folder, "asked.py", shell_dags(asked=["one"]))
    env = {**os.environ, "WINDSOCK__DAG_PROCESSOR__REFRESH_INTERVAL": "3600"}
    proc = subprocess.Popen([sys.executable, "-m", "windsock.cli", "dag-processor"], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        wait_for(lambda: task_ids("asked") == ["one"])
        Path(path).write_text(shell_dags(asked=["one", "two"]))
        time.sleep(1.5)
        assert task_ids("asked") == ["one"]  # the next full pass is an hour away

        with session() as sess:
            assert request_parse(sess, file_token(path))
        wait_for(lambda: task_ids("asked") == ["one", "two"], seconds=10)
    finally:
        proc.send_signal(signal.SIGTERM)
        output = proc.communicate(timeout=15)[0]
    assert proc.returncode == 0, output
    assert "Traceback" not in output
