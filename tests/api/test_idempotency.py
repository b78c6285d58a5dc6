"""Idempotent creates: the Idempotency-Key header on the create operations."""

from __future__ import annotations

import threading
import uuid
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from sqlalchemy import func, select

from tests.api.accounts import PASSWORD, create_user, fresh_name, user_body
from tests.api.helpers import API, assert_problem
from tests.api.test_datasets import store
from tests.conftest import ADMIN
from tests.support.seed import add_dag, add_run, sample_dag
from tests.support.server import api_server
from windsock import DAG, Dataset, ShellTask
from windsock.db.engine import session
from windsock.db.models import (Backfill, Connection, DagRun, DatasetEvent, EventLog, Pool, Role,
                                User, Variable, XCom)

ORDERS = "s3://warehouse/orders"
CREATES = [  # (operation, path, body, the model it creates)
    ("post_dag_run", "/dags/sample/dagRuns", {"note": "retried"}, DagRun),
    ("post_variables", "/variables", {"key": "region", "value": "eu"}, Variable),
    ("post_connection", "/connections", {"connection_id": "db", "conn_type": "postgres"},
     Connection),
    ("post_pool", "/pools", {"name": "etl", "slots": 3}, Pool),
    ("post_user", "/users", user_body("retrier"), User),
    ("post_role", "/roles", {"name": "Retriers", "actions": []}, Role),
    ("create_dataset_event", "/datasets/events", {"dataset_uri": ORDERS}, DatasetEvent),
    ("create_backfill", "/backfills", {"dag_id": "daily", "from_date": "2026-02-01T00:00:00Z",
                                       "to_date": "2026-02-03T00:00:00Z"}, Backfill),
    ("post_xcom_entry", "/dags/daily/dagRuns/r1/taskInstances/extract/xcomEntries",
     {"key": "reviewed", "value": {"by": "retrier"}}, XCom),
]


@pytest.fixture
def dags(migrated):
    """`sample`, `daily` (to backfill) with its run r1, and `produce`, which updates ORDERS."""
    add_dag(sample_dag())
    daily = sample_dag("daily", schedule="@daily")
    add_dag(daily)
    add_run(daily, "r1")
    with DAG("produce") as produce:
        ShellTask("write", "true", outlets=[Dataset(ORDERS)])
    store(produce)


def count(model, **where) -> int:
    with session() as sess:
        return sess.scalar(select(func.count()).select_from(model).filter_by(**where))


def keyed(key: str) -> dict[str, str]:
    return {"Idempotency-Key": key}


@pytest.mark.parametrize(("operation", "path", "body", "model"), CREATES,
                         ids=[c[0] for c in CREATES])
def test_a_retry_gets_the_first_answer_and_creates_nothing(client, dags, operation, path, body,
                                                           model):
    before = count(model)
    first = client.post(API + path, json=body, headers=keyed("k-1"))
    assert first.status_code in (200, 201), first.text  # a dataset event is 200, as in Airflow
    again = client.post(API + path, json=body, headers=keyed('"k-1"'))  # quoted: the same key
    assert (again.status_code, again.json()) == (first.status_code, first.json())
    for header in ("Location", "ETag", "Content-Type"):
        assert again.headers.get(header) == first.headers.get(header)
    assert count(model) == before + 1
    assert count(EventLog, event=operation) == 1  # the retry changed nothing


@pytest.mark.parametrize(("operation", "path", "body", "model"), CREATES,
                         ids=[c[0] for c in CREATES])
def test_the_key_with_another_request_is_422(client, dags, operation, path, body, model):
    assert client.post(API + path, json=body, headers=keyed("k-2")).status_code in (200, 201)
    field = next(iter(body))
    other = {**body, field: f"{body[field]}-other"}
    before = count(model)
    assert_problem(client.post(API + path, json=other, headers=keyed("k-2")), 422,
                   "Idempotency-Key", "'k-2'", "different request")
    assert count(model) == before


def test_the_key_on_another_operation_is_422(client, dags):
    assert client.post(f"{API}/pools", json={"name": "a", "slots": 1},
                       headers=keyed("k-3")).status_code == 201
    assert_problem(client.post(f"{API}/variables", json={"key": "a", "value": "b"},
                               headers=keyed("k-3")), 422, "different request")


def test_without_a_key_each_request_creates(client, dags):
    for _ in range(2):
        assert client.post(f"{API}/dags/sample/dagRuns", json={}).status_code == 201
    assert count(DagRun, dag_id="sample") == 2


def test_another_users_key_is_their_own(client, dags):
    name = fresh_name("op")
    create_user(client, name, "Op")
    mine = client.post(f"{API}/dags/sample/dagRuns", json={}, headers=keyed("shared"))
    theirs = client.post(f"{API}/dags/sample/dagRuns", json={}, headers=keyed("shared"),
                         auth=(name, PASSWORD))
    assert mine.status_code == theirs.status_code == 201
    assert theirs.json()["dag_run_id"] != mine.json()["dag_run_id"]
    assert count(DagRun, dag_id="sample") == 2
    # ... and a user refused the operation gets no stored answer either
    viewer = fresh_name("viewer")
    create_user(client, viewer, "Viewer")
    refused = client.post(f"{API}/dags/sample/dagRuns", json={}, headers=keyed("shared"),
                          auth=(viewer, PASSWORD))
    assert_problem(refused, 403)


def test_a_refused_request_keeps_no_answer(client, dags):
    assert client.post(f"{API}/pools", json={"name": "etl", "slots": 1}).status_code == 201
    assert_problem(client.post(f"{API}/pools", json={"name": "etl", "slots": 1},
                               headers=keyed("k-4")), 409)
    assert client.delete(f"{API}/pools/etl").status_code == 204
    retried = client.post(f"{API}/pools", json={"name": "etl", "slots": 1}, headers=keyed("k-4"))
    assert retried.status_code == 201, retried.text


def test_an_expired_key_is_a_new_request(client, dags, monkeypatch):
    monkeypatch.setenv("WINDSOCK__API__IDEMPOTENCY_KEY_TTL", "0")
    runs = [client.post(f"{API}/dags/sample/dagRuns", json={}, headers=keyed("k-5")).json()
            for _ in range(2)]
    assert runs[0]["dag_run_id"] != runs[1]["dag_run_id"] and count(DagRun, dag_id="sample") == 2


@pytest.mark.parametrize("key", ["", "x" * 256, "two words", '"unclosed', 'a"b', "back\\slash",
                                 "tab\there", '""'])
def test_a_malformed_key_is_400(client, dags, key):
    assert_problem(client.post(f"{API}/pools", json={"name": "etl", "slots": 1},
                               headers=keyed(key)), 400, "Idempotency-Key")
    assert count(Pool, pool="etl") == 0


def test_longest_key(client, dags):
    key = "~" * 255
    for quoted in (key, f'"{key}"'):
        response = client.post(f"{API}/pools", json={"name": "etl", "slots": 1},
                               headers=keyed(quoted))
        assert response.status_code == 201, response.text
    assert count(Pool, pool="etl") == 1


@pytest.fixture(scope="module")
def live_server(migrated):
    """Real server processes (two workers): the in-process client cannot send concurrent
    requests."""
    with api_server({**migrated, "WINDSOCK__API__WORKERS": "2"}) as base:
        yield base


def test_concurrent_requests_with_one_key_create_one_run(live_server, dags):
    key, start = str(uuid.uuid4()), threading.Barrier(16)

    def trigger(_):
        with httpx.Client(base_url=live_server, auth=ADMIN, timeout=60) as http:
            start.wait()
            response = http.post(f"{API}/dags/sample/dagRuns", json={"conf": {}},
                                 headers=keyed(key))
            return response.status_code, response.json()

    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(trigger, range(16)))
    assert {status for status, _ in answers} == {201}
    assert len({body["dag_run_id"] for _, body in answers}) == 1
    assert count(DagRun, dag_id="sample") == 1 and count(EventLog, event="post_dag_run") == 1
