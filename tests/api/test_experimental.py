"""The experimental API (Airflow 2's, deprecated): 404 until switched on; then Airflow 2's paths
and shapes on top of the stable operations, their permissions and their problems, with
`Deprecation`, `Sunset` and a successor `Link` on every answer, and its use counted."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import quote

import pytest
from sqlalchemy import select

from tests.api.helpers import API, assert_problem
from tests.support.seed import EPOCH, add_dag, add_run, add_xcom, sample_dag
from windsock.db.engine import session
from windsock.db.models import EventLog

BASE = "/api/experimental"
DATE = quote(EPOCH.isoformat(), safe="")  # 2026-01-01T00:00:00+00:00


@pytest.fixture
def on(enable) -> None:
    enable("enable_experimental_api")


@pytest.fixture
def dag(migrated):
    dag = sample_dag()
    add_dag(dag)
    return dag


@pytest.fixture
def run(dag):
    add_run(dag, "r1", state="running", logical_date=EPOCH, start=EPOCH + timedelta(hours=1))
    return "r1"


def test_switched_off_every_path_is_404_before_credentials(client):
    client.auth = None
    for path in ("/test", "/pools", "/dags/sample/paused/true", "/nowhere"):
        body = assert_problem(client.get(BASE + path), 404, "enable_experimental_api")
        assert body["instance"] == BASE + path
    assert client.get(f"{API}/health").json()["experimental_api"]["enabled"] is False


def test_every_answer_is_deprecated_with_sunset_and_successor(client, on, monkeypatch):
    monkeypatch.setenv("WINDSOCK__API__EXPERIMENTAL_API_SUNSET", "2027-01-31")
    response = client.get(f"{BASE}/test")
    assert response.status_code == 200
    assert response.json() == {"status": "OK"}
    assert response.headers["Deprecation"] == "@1608163200"
    assert response.headers["Sunset"] == "Sun, 31 Jan 2027 00:00:00 GMT"
    assert response.headers["Link"] == ('</api/v1/docs#operation/get_health>; '
                                        'rel="successor-version"')
    missing = client.get(f"{BASE}/pools/nope")
    assert_problem(missing, 404, "nope")
    assert missing.headers["Link"] == '</api/v1/docs#operation/get_pool>; rel="successor-version"'


def test_calls_are_counted_in_health(client, on):
    before = client.get(f"{API}/health").json()["experimental_api"]
    client.get(f"{BASE}/test")
    client.get(f"{BASE}/pools")
    after = client.get(f"{API}/health").json()["experimental_api"]
    assert after["enabled"] is True
    assert after["calls"] == before["calls"] + 2
    assert after["latest_call"] is not None


def test_credentials_and_permissions_are_the_stable_ones(client, on, dag):
    client.auth = None
    assert_problem(client.get(f"{BASE}/test"), 401)
    client.auth = ("viewer", "viewer-password")
    from windsock.security.users import create_user
    create_user("viewer", "viewer-password", role="Viewer", email="viewer@example.org")
    assert client.get(f"{BASE}/dags/sample/paused").status_code == 200
    assert_problem(client.get(f"{BASE}/dags/sample/paused/true"), 403, "can_edit on DAGs")
    assert_problem(client.post(f"{BASE}/pools", json={"name": "p", "slots": 1}), 403,
                   "can_create on Pools")


def test_dag_runs_listed_and_triggered_in_airflow_shapes(client, on, run):
    listed = client.get(f"{BASE}/dags/sample/dag_runs").json()
    assert listed == [{"id": listed[0]["id"], "run_id": "r1", "state": "running",
                       "dag_id": "sample", "execution_date": EPOCH.isoformat(),
                       "start_date": (EPOCH + timedelta(hours=1)).isoformat(),
                       "dag_run_url": "/api/v1/dags/sample/dagRuns/r1"}]
    assert client.get(f"{BASE}/dags/sample/dag_runs?state=SUCCESS").json() == []
    response = client.post(f"{BASE}/dags/sample/dag_runs",
                           json={"run_id": "exp1", "conf": {"k": 1},
                                 "execution_date": "2026-02-01T10:00:00.123456",
                                 "replace_microseconds": "true"})
    assert response.status_code == 200, response.text
    assert response.json()["run_id"] == "exp1"
    assert response.json()["execution_date"] == "2026-02-01T10:00:00+00:00"
    assert response.json()["message"].startswith("Created <DagRun sample @ 2026-02-01")
    assert client.get(f"{API}/dags/sample/dagRuns/exp1").json()["conf"]["k"] == 1
    state = client.get(f"{BASE}/dags/sample/dag_runs/{quote('2026-02-01T10:00:00', safe='')}")
    assert state.json() == {"state": "queued"}
    with session() as sess:
        assert sess.scalar(select(EventLog.event).where(EventLog.run_id.is_(None),
                                                        EventLog.dag_id == "sample"))


@pytest.mark.parametrize("body, words", [
    ({"execution_date": "yesterday"}, ["execution_date"]),
    ({"replace_microseconds": "perhaps"}, ["replace_microseconds"]),
    ({"conf": []}, ["conf"]),
])
def test_bad_trigger_bodies_are_400(client, on, dag, body, words):
    assert_problem(client.post(f"{BASE}/dags/sample/dag_runs", json=body), 400, *words)


def test_run_state_and_task_instance_of_unknown_date_are_404(client, on, run):
    assert_problem(client.get(f"{BASE}/dags/sample/dag_runs/{quote('2030-01-01T00:00:00Z')}"),
                   404, "2030-01-01T00:00:00+00:00")
    assert_problem(client.get(f"{BASE}/dags/sample/dag_runs/not-a-date"), 400, "execution_date")
    assert_problem(client.get(f"{BASE}/dags/missing/dag_runs/{DATE}"), 404, "missing")


def test_task_and_task_instance_fields_as_text(client, on, run):
    task = client.get(f"{BASE}/dags/sample/tasks/extract").json()
    assert task["task_id"] == "extract"
    assert all(isinstance(value, str) for value in task.values())
    ti = client.get(f"{BASE}/dags/sample/dag_runs/{DATE}/tasks/extract")
    assert ti.status_code == 200, ti.text
    assert ti.json()["dag_run_id"] == "r1"
    assert all(isinstance(value, str) for value in ti.json().values())


def test_pause_by_get_is_audited(client, on, dag):
    assert client.get(f"{BASE}/dags/sample/paused").json() == {"is_paused": False}
    assert client.get(f"{BASE}/dags/sample/paused/true").json() == {"response": "ok"}
    assert client.get(f"{API}/dags/sample").json()["is_paused"] is True
    client.get(f"{BASE}/dags/sample/paused/false")
    assert client.get(f"{BASE}/dags/sample/paused").json() == {"is_paused": False}
    with session() as sess:
        events = sess.scalars(select(EventLog.event).where(EventLog.dag_id == "sample")).all()
    assert events == ["experimental_set_dag_paused"] * 2


def test_code_is_the_dag_file_text(client, on, dag):
    response = client.get(f"{BASE}/dags/sample/code")
    assert response.status_code == 200
    assert response.headers["Content-Type"].startswith("text/plain")
    assert response.text == "# DAG source\n"  # what tests.support.seed stores


def test_latest_runs_one_per_dag(client, on, run, dag):
    add_run(dag, "r2", state="success", logical_date=EPOCH + timedelta(days=1))
    items = client.get(f"{BASE}/latest_runs").json()["items"]
    assert [(i["dag_id"], i["dag_run_url"]) for i in items] == [
        ("sample", "/api/v1/dags/sample/dagRuns/r2")]
    assert items[0]["start_date"] == ""


def test_pools_in_airflow_shapes(client, on):
    created = client.post(f"{BASE}/pools", json={"name": "etl", "slots": "4",
                                                 "description": "ETL"})
    assert created.status_code == 200, created.text
    pool = created.json()
    assert pool == {"id": pool["id"], "pool": "etl", "slots": 4, "description": "ETL",
                    "include_deferred": False}
    assert client.get(f"{BASE}/pools/etl").json() == pool
    assert [p["pool"] for p in client.get(f"{BASE}/pools").json()] == ["default_pool", "etl"]
    assert_problem(client.post(f"{BASE}/pools", json={"name": "etl", "slots": 1}), 409, "etl")
    assert_problem(client.post(f"{BASE}/pools", json={"name": "x", "slots": "many"}), 400,
                   "slots")
    assert client.delete(f"{BASE}/pools/etl").json() == pool
    assert_problem(client.get(f"{BASE}/pools/etl"), 404)
    assert_problem(client.delete(f"{BASE}/pools/default_pool"), 409, "default_pool")


def test_delete_dag(client, on, run):
    response = client.delete(f"{BASE}/dags/sample")
    assert response.json() == {"message": "Removed 1 record(s)", "count": 1}
    assert_problem(client.get(f"{API}/dags/sample"), 404)


def test_lineage_from_pipeline_xcoms(client, on, run):
    add_xcom("sample", "r1", "extract", "pipeline_inlets", ["s3://in"])
    add_xcom("sample", "r1", "extract", "pipeline_outlets", ["s3://out"])
    add_xcom("sample", "r1", "load", "return_value", 1)
    assert client.get(f"{BASE}/lineage/sample/{DATE}").json() == {
        "task_ids": {"extract": {"inlets": ["s3://in"], "outlets": ["s3://out"]}}}


def test_conditional_headers_do_not_apply(client, on, dag):
    response = client.get(f"{BASE}/dags/sample/paused", headers={"If-None-Match": "*"})
    assert response.json() == {"is_paused": False}
