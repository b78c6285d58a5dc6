"""Fixtures of the contract tests: the server configuration they run with, and a database reset."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from tests.conftest import ADMIN

SPEC = Path(__file__).resolve().parents[2] / "spec" / "dist" / "openapi.yaml"

# Options switched on for the whole contract run, so that every operation is exercised beyond 403.
# Configuration is read from the environment on every call, so setting it here is enough.
CONTRACT_ENV = {
    # GET /config and GET /config/section/{section}/option/{option} answer 403 unless exposed.
    "WINDSOCK__API__EXPOSE_CONFIG": "True",
    # POST /connections/test answers 403 unless enabled. The test module rewrites every
    # generated host to the loopback address, so no request ever leaves the machine.
    "WINDSOCK__API__ENABLE_CONNECTION_TEST": "True",
    # Limits the contract documents but cannot state, because they are configured: a `limit`
    # above [api] maximum_page_limit is 400 and a body above [api] max_request_body_size is 413
    # (both covered in tests/api). Here they are raised to the contract's own bounds (`limit` up
    # to 2^31-1; the largest schema-valid body, a 1,000,000-character variable value written
    # with 12-byte escapes, is under 13 MB), so schemathesis' valid/invalid split is exactly the
    # one the server enforces and positive_data_acceptance / negative_data_rejection stay strict.
    "WINDSOCK__API__MAXIMUM_PAGE_LIMIT": "2147483647",
    "WINDSOCK__API__MAX_REQUEST_BODY_SIZE": str(32 * 1024 * 1024),
    # Checks such as ignored_auth send wrong credentials for the admin on purpose; with the
    # default [api] auth_failure_limit a few in a row would lock the admin out (429) for the
    # rest of the run. The throttle itself is tested in tests/api/test_auth_backends.py.
    "WINDSOCK__API__AUTH_FAILURE_LIMIT": str(2**31 - 1),
}


@pytest.fixture(scope="module", autouse=True)
def contract_env() -> Iterator[None]:
    with pytest.MonkeyPatch.context() as patch:
        for name, value in CONTRACT_ENV.items():
            patch.setenv(name, value)
        yield


def reset_database() -> None:
    """Back to the seeded state: the example objects only (see `seed_examples`)."""
    from tests.conftest import delete_created_rows

    delete_created_rows()
    seed_examples()


def parameter_examples() -> dict[str, Any]:
    """{parameter name: example} of the contract's shared parameters."""
    spec = yaml.safe_load(SPEC.read_text())
    return {p["name"]: p["example"] for p in spec["components"]["parameters"].values()
            if "example" in p}


def seed_examples() -> None:
    """The objects the contract's examples name, so the examples phase reaches real ones: DAG
    `nightly_export` (with its file token), its run `scheduled__2024-05-01T00:00:00+00:00`
    whose task `extract` succeeded on try 1 and returned an XCom, event log 4711 and import
    error 12."""
    from datetime import datetime, timezone

    from windsock.db.engine import session
    from windsock.db.models import EventLog, ImportError

    from tests.support.seed import add_dag, add_run, add_xcom, sample_dag

    examples = parameter_examples()
    dag = sample_dag(examples["dag_id"])
    add_dag(dag, token=examples["file_token"])
    run = examples["dag_run_id"]
    add_run(dag, run, state="running", logical_date=datetime(2024, 5, 1, tzinfo=timezone.utc),
            run_type="scheduled", states={"extract": "success", "transform": "running"})
    add_xcom(dag.dag_id, run, examples["task_id"], examples["xcom_key"], [1, 2, 3])
    with session() as sess:
        sess.add(EventLog(id=examples["event_log_id"], event="post_dag_run",
                          dag_id=dag.dag_id, owner=ADMIN[0]))
        sess.add(ImportError(id=examples["import_error_id"], filename="/dags/broken.py",
                             stack_trace="SyntaxError: invalid syntax"))


@pytest.fixture(autouse=True)
def examples_seeded(migrated) -> None:
    """Every contract test starts from the seeded example objects."""
    reset_database()
