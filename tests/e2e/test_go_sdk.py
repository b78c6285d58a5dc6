"""The generated Go SDK's own end-to-end tests (clients/go/*_e2e_test.go) against a live server.

`go test` runs in clients/go with WINDSOCK_TEST_URL and the admin credentials pointing at the
api-server this session started, and WINDSOCK_TEST_DAG_* naming the DAGs folder that
`windsock dags reserialize` parsed into its database just before (with the example DAGs), and
WINDSOCK_TEST_SCHEDULER saying a real `windsock scheduler` runs against that database, so that
runs triggered from Go are executed; CI is set so that a missing URL, DAGs folder or scheduler
fails instead of skipping.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.conftest import ADMIN
from tests.e2e.conftest import DagsFolder, reserialize_with_examples, settle

GO_SDK = Path(__file__).resolve().parents[2] / "clients" / "go"


def _go() -> str:
    go = shutil.which("go") or ("/usr/local/go/bin/go" if os.path.exists("/usr/local/go/bin/go")
                                else None)
    if go is None:
        if os.environ.get("CI"):
            pytest.fail("the go toolchain is not installed")
        pytest.skip("the go toolchain is not installed")
    return go


def _run(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=GO_SDK, env=env, capture_output=True, text=True, timeout=600)


def _report(proc: subprocess.CompletedProcess[str]) -> str:
    return f"{' '.join(proc.args)} exited with {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"


@pytest.fixture(scope="module")
def go_env(live_server, dags_folder: DagsFolder) -> dict[str, str]:
    return {
        **os.environ,
        "WINDSOCK_TEST_URL": live_server,
        "WINDSOCK_TEST_USERNAME": ADMIN[0],
        "WINDSOCK_TEST_PASSWORD": ADMIN[1],
        "WINDSOCK_TEST_DAG_ID": dags_folder.dag_id,
        "WINDSOCK_TEST_DAG_TAG": dags_folder.tags[0],
        "WINDSOCK_TEST_DAG_PARAM": dags_folder.param,
        "WINDSOCK_TEST_DAG_FILE": str(dags_folder.good_file),
        "WINDSOCK_TEST_BROKEN_DAG_FILE": str(dags_folder.broken_file),
        "WINDSOCK_TEST_SCHEDULER": "1",
        "CI": "1",
    }


def test_go_vet(go_env):
    proc = _run([_go(), "vet", "./..."], go_env)
    assert proc.returncode == 0, _report(proc)


def test_go_sdk_e2e(go_env, migrated, parsed_dags: DagsFolder, scheduler):
    # parsed_dags: the DAGs and the import error are in the database while `go test` runs; the
    # examples too (TestRunExampleXComChain triggers one), which the scheduler runs.
    summary = reserialize_with_examples(migrated, parsed_dags.path)
    assert summary.endswith(", 1 import error"), summary
    scheduler.assert_alive()
    try:
        proc = _run([_go(), "test", "-count=1", "-v", "./..."], go_env)
    finally:
        settle(scheduler)  # the runs the Go tests started end before clean_database
    assert proc.returncode == 0, _report(proc) + "\n" + scheduler.describe()
    # The end-to-end tests ran rather than skipped.
    for name in ("TestVariables", "TestConnections", "TestPools", "TestUnauthorized",
                 "TestHealthAndVersion", "TestDags", "TestTriggerAndClearDryRun",
                 "TestImportErrors", "TestRunExampleXComChain", "TestBasicAuth",
                 "TestAccessToken", "TestPersonalToken", "TestForbiddenForViewer"):
        assert f"--- PASS: {name}" in proc.stdout, _report(proc)
    assert "--- SKIP" not in proc.stdout, _report(proc)
