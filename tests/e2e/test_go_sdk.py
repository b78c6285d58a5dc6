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
from pathlib import Path

import pytest

from tests.conftest import ADMIN
from tests.e2e.conftest import DagsFolder, reserialize_with_examples, settle
from tests.support.go import report, run_go

GO_SDK = Path(__file__).resolve().parents[2] / "clients" / "go"


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


@pytest.mark.parametrize("command", [["vet", "./..."], ["build", "./..."]])
def test_go_vet_and_build(go_env, command):
    """The module, generated code and hand-written helpers together, vets and builds."""
    proc = run_go(command, GO_SDK, go_env)
    assert proc.returncode == 0, report(proc)


def test_go_sdk_e2e(go_env, migrated, parsed_dags: DagsFolder, scheduler):
    # parsed_dags: the DAGs and the import error are in the database while `go test` runs; the
    # examples too (TestRunExampleXComChain triggers one), which the scheduler runs.
    summary = reserialize_with_examples(migrated, parsed_dags.path)
    assert summary.endswith(", 1 import error"), summary
    scheduler.assert_alive()
    try:
        proc = run_go(["test", "-count=1", "-v", "./..."], GO_SDK, go_env)
    finally:
        settle(scheduler)  # the runs the Go tests started end before clean_database
    assert proc.returncode == 0, report(proc) + "\n" + scheduler.describe()
    # The end-to-end tests ran rather than skipped.
    for name in ("TestVariables", "TestConnections", "TestPools", "TestUnauthorized",
                 "TestHealthAndVersion", "TestDags", "TestTriggerAndClearDryRun",
                 "TestImportErrors", "TestRunExampleXComChain", "TestBasicAuth",
                 "TestAccessToken", "TestPersonalToken", "TestForbiddenForViewer",
                 "TestPagesAndAll", "TestWaitForDagRun",
                 "TestCursorPagesAndIdempotentTriggers"):
        assert f"--- PASS: {name}" in proc.stdout, report(proc)
    assert "--- SKIP" not in proc.stdout, report(proc)
