"""The published Airflow Go client (github.com/apache/airflow-client-go, client 2.5.0, pinned in
tests/e2e/airflow_client_go/go.mod) against a live Windsock, unchanged.

This test prepares what the Go test module in tests/e2e/airflow_client_go needs: an api-server
with the configuration and connection-test endpoints on (the client has operations for both), a
DAGs folder parsed with the example DAGs (plus a DAG naming a pool that does not exist, for a DAG
warning, and a file that does not import, for an import error), and a run of example_xcom_chain
executed by the real scheduler, so that logs, XComs, tries and event logs exist. `go test` then
calls the client's operations and writes down every request it sent; the test checks that each
operation both contracts have (the client's, which its module carries, and Windsock's bundled
one, matched by operationId) was answered with success, and so decoded by the client.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pytest
import windsock_client
import yaml
from windsock_client import CreateDatasetEvent, DAGPatch
from windsock.app import HTTP_METHODS, SPEC_PATH

from tests.conftest import ADMIN
from tests.e2e.conftest import BROKEN_DAG_SOURCE, RUN_DAGS, reserialize_with_examples, settle
from tests.e2e.test_runs_python_sdk import RUN_TIMEOUT, Runs
from tests.support.scheduler import wait_for
from tests.support.go import report, run_go

GO_MODULE = Path(__file__).resolve().parent / "airflow_client_go"
CLIENT_PACKAGE = "github.com/apache/airflow-client-go/airflow"
DAG_ID, RUN_ID = "example_xcom_chain", "airflow_go_client_run"
SPARE_DAG_ID = "e2e_pool"  # names a pool that does not exist; the Go test deletes it
CONSUMER, ORDERS = "e2e_orders_consumer", "s3://e2e/orders"  # tests/e2e/run_dags/e2e_datasets.py
MAPPED, MAPPED_RUN = "e2e_mapped", "airflow_go_client_mapped"  # tests/e2e/run_dags/e2e_mapped.py


def operations(document: dict) -> dict[str, tuple[str, str]]:
    """operationId -> (METHOD, full path template) of every operation of an OpenAPI document."""
    base = document["servers"][0]["url"].rstrip("/")
    return {operation["operationId"]: (method.upper(), base + template)
            for template, item in document["paths"].items()
            for method, operation in item.items() if method in HTTP_METHODS}


def shared_operations(env: dict[str, str]) -> dict[str, tuple[str, str]]:
    """The operations the client has and Windsock implements, by operationId; each must have
    the same method and path in both contracts."""
    proc = run_go(["list", "-m", "-f", "{{.Dir}}", CLIENT_PACKAGE], GO_MODULE, env)
    assert proc.returncode == 0, report(proc)
    client_spec = Path(proc.stdout.strip()) / "api" / "openapi.yaml"
    client = operations(yaml.safe_load(client_spec.read_text()))
    windsock = operations(yaml.safe_load(SPEC_PATH.read_text()))
    shared = {op: windsock[op] for op in client.keys() & windsock.keys()}
    assert {op: client[op] for op in shared} == shared
    return shared


def answered(trace: list[str], known: dict[str, tuple[str, str]]) -> set[str]:
    """The operations of `known` that a traced request ("METHOD path status") was sent to and
    answered with success; every request must be one of them."""
    patterns = {op: (method, re.compile("[^/]+".join(
        re.escape(part) for part in re.split(r"\{[^/}]+\}", template))))
        for op, (method, template) in known.items()}
    found = set()
    for line in trace:
        method, path, status = line.split(" ")
        matches = [op for op, (op_method, pattern) in patterns.items()
                   if op_method == method and pattern.fullmatch(path)]
        # A literal segment wins over a template (/datasets/events is not /datasets/{uri}).
        fewest = min((known[op][1].count("{") for op in matches), default=0)
        matches = [op for op in matches if known[op][1].count("{") == fewest]
        assert len(matches) == 1, f"{line} is sent to {matches or 'no shared operation'}"
        if int(status) < 300:
            found.add(matches[0])
    return found


def test_airflow_go_client(airflow_client_server, migrated, scheduler, tmp_path):
    folder = tmp_path / "dags"
    folder.mkdir()
    for name in (SPARE_DAG_ID, "e2e_datasets", MAPPED):
        shutil.copy(RUN_DAGS / f"{name}.py", folder)
    (folder / "broken.py").write_text(BROKEN_DAG_SOURCE)
    summary = reserialize_with_examples(migrated, folder)
    assert summary.endswith(" 6 DAGs, 1 import error"), summary
    trace = tmp_path / "trace"
    env = {
        **os.environ,
        "AIRFLOW_CLIENT_TEST_URL": airflow_client_server,
        "AIRFLOW_CLIENT_TEST_USERNAME": ADMIN[0],
        "AIRFLOW_CLIENT_TEST_PASSWORD": ADMIN[1],
        "AIRFLOW_CLIENT_TEST_DAG_ID": DAG_ID,
        "AIRFLOW_CLIENT_TEST_RUN_ID": RUN_ID,
        "AIRFLOW_CLIENT_TEST_SPARE_DAG_ID": SPARE_DAG_ID,
        "AIRFLOW_CLIENT_TEST_DATASET_URI": ORDERS,
        "AIRFLOW_CLIENT_TEST_MAPPED_DAG_ID": MAPPED,
        "AIRFLOW_CLIENT_TEST_MAPPED_RUN_ID": MAPPED_RUN,
        "AIRFLOW_CLIENT_TEST_TRACE": str(trace),
        "CI": "1",  # the Go test fails rather than skips without its environment
    }
    config = windsock_client.Configuration(host=f"{airflow_client_server}/api/v1",
                                           username=ADMIN[0], password=ADMIN[1])
    try:
        with windsock_client.ApiClient(config) as client:
            runs = Runs(client, scheduler)
            for dag_id, run_id in ((DAG_ID, RUN_ID), (MAPPED, MAPPED_RUN)):
                runs.trigger(dag_id, run_id)
                assert runs.wait_run(dag_id, run_id).state == "success", runs.describe(dag_id)
            # An update reported through Windsock's SDK triggers the consumer, whose run the Go
            # test reads the upstream events of.
            runs.dags.patch_dag(CONSUMER, DAGPatch(is_paused=False), update_mask=["is_paused"])
            windsock_client.DatasetApi(client).create_dataset_event(
                CreateDatasetEvent(dataset_uri=ORDERS))
            wait_for(lambda: runs.runs.get_dag_runs(CONSUMER, state=["success"]).dag_runs,
                     RUN_TIMEOUT, f"a dataset-triggered run of {CONSUMER}",
                     lambda: runs.describe(CONSUMER))
        proc = run_go(["test", "-count=1", "-v", "./..."], GO_MODULE, env)
    finally:
        settle(scheduler)  # every run is over before clean_database
    assert proc.returncode == 0, report(proc) + "\n" + scheduler.describe()
    assert "--- SKIP" not in proc.stdout, report(proc)

    shared = shared_operations(env)
    missing = shared.keys() - answered(trace.read_text().splitlines(), shared)
    assert not missing, f"shared operations the Go client did not call successfully: {missing}"
