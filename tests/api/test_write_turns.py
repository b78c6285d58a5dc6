"""On SQLite write transactions take turns, across threads and processes, before they ask for
SQLite's write lock; a request whose turn does not come within `[database] wait_timeout` is
answered 503."""

from __future__ import annotations

import pytest

from tests.api.helpers import API, assert_problem
from tests.support.seed import add_dag, sample_dag
from windsock.db import turns

VARIABLES = f"{API}/variables"


@pytest.fixture
def sqlite(database_url):
    if not database_url.startswith("sqlite"):
        pytest.skip("the turns are SQLite's")


def test_a_write_whose_turn_does_not_come_in_time_is_503(client, sqlite, monkeypatch):
    assert client.post(VARIABLES, json={"key": "turns", "value": "1"}).status_code == 201
    monkeypatch.setenv("WINDSOCK__DATABASE__WAIT_TIMEOUT", "0.2")
    with turns._process_turn:  # another request of this process is writing
        response = client.patch(f"{VARIABLES}/turns", json={"key": "turns", "value": "2"})
    assert_problem(response, 503, "busy")
    assert response.headers["Retry-After"]
    assert client.get(f"{VARIABLES}/turns").json()["value"] == "1"
    assert client.patch(f"{VARIABLES}/turns", json={"key": "turns", "value": "3"}).status_code == 200


@pytest.mark.parametrize(("dag_id", "conf", "status"), [
    ("nope", {}, 404),
    ("sample", {"batch_size": 0}, 422),
])
def test_a_trigger_refused_for_what_it_reads_does_not_wait_for_the_turn(
        client, sqlite, monkeypatch, dag_id, conf, status):
    """A write request reads what it can before its transaction takes the write lock, so one
    refused for what it read answers at once, however busy the database is."""
    add_dag(sample_dag())
    monkeypatch.setenv("WINDSOCK__DATABASE__WAIT_TIMEOUT", "0.2")
    with turns._process_turn:
        assert_problem(client.post(f"{API}/dags/{dag_id}/dagRuns", json={"conf": conf}), status)
        assert_problem(client.post(f"{API}/dags/sample/dagRuns", json={}), 503, "busy")
    assert client.post(f"{API}/dags/sample/dagRuns", json={}).status_code == 201
