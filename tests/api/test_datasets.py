"""Dataset operations: datasets with their consumers and producers, events (filters, paging,
ordering, the runs that consumed them), updates reported through the API, queued updates per
dataset and per DAG, and a run's upstream events; per-DAG filtering of what belongs to DAGs."""

from __future__ import annotations

from urllib.parse import quote

import pytest
from sqlalchemy import select

from tests.api.helpers import API, assert_problem
from tests.scheduler.rounds import new_job, one_round
from tests.support.seed import EPOCH, add_dag
from windsock import DAG, Dataset, ShellTask
from windsock.db.engine import session
from windsock.db.models import Dag
from windsock.dags.serialization import serialize
from windsock.dags.store import _store_dataset_references
from windsock.db.models import utcnow

ORDERS, PRICES = "s3://w/orders", "s3://w/prices"


def store(dag: DAG) -> None:
    dag.fileloc = f"/dags/{dag.dag_id}.py"
    add_dag(dag)
    with session() as sess:
        _store_dataset_references(sess, serialize(dag), utcnow())


@pytest.fixture
def dags(migrated):
    with DAG("produce", schedule="@daily", start_date=EPOCH) as produce:
        ShellTask("write", "true", outlets=[Dataset(ORDERS), Dataset(PRICES)])
    with DAG("consume", schedule=[Dataset(ORDERS), Dataset(PRICES)]) as consume:
        ShellTask("read", "true")
    with DAG("either", schedule=Dataset(ORDERS) | Dataset(PRICES)) as either:
        ShellTask("read", "true")
    for dag in (produce, consume, either):
        store(dag)


def q(uri: str) -> str:
    return quote(uri, safe="")


def post_event(client, uri: str, **extra) -> dict:
    response = client.post(f"{API}/datasets/events", json={"dataset_uri": uri, "extra": extra})
    assert response.status_code == 200, response.text
    return response.json()


def test_datasets_list_and_one(client, dags):
    body = client.get(f"{API}/datasets", params={"order_by": "-uri"}).json()
    assert body["total_entries"] == 2 and [d["uri"] for d in body["datasets"]] == [PRICES, ORDERS]
    orders = client.get(f"{API}/datasets/{q(ORDERS)}").json()
    assert [d["dag_id"] for d in orders["consuming_dags"]] == ["consume", "either"]
    assert [(t["dag_id"], t["task_id"]) for t in orders["producing_tasks"]] == [
        ("produce", "write")]
    assert orders["extra"] == {} and orders["created_at"].endswith("+00:00")
    assert client.get(f"{API}/datasets/{ORDERS}").json()["uri"] == ORDERS  # raw slashes
    assert client.get(f"{API}/datasets", params={"uri_pattern": "PRICE"}).json()[
        "total_entries"] == 1
    assert client.get(f"{API}/datasets", params={"uri_pattern": "%"}).json()[
        "total_entries"] == 0
    assert client.get(f"{API}/datasets", params={"dag_ids": "either"}).json()[
        "total_entries"] == 2
    assert client.get(f"{API}/datasets", params={"dag_ids": "nobody"}).json()[
        "total_entries"] == 0
    page = client.get(f"{API}/datasets", params={"limit": 1, "offset": 1})
    assert [d["uri"] for d in page.json()["datasets"]] == [PRICES]
    assert "prev" in page.headers["link"]
    assert_problem(client.get(f"{API}/datasets/{q('s3://nothing')}"), 404, "s3://nothing")


def test_an_external_update_is_queued_and_triggers_consumers(client, dags):
    event = post_event(client, ORDERS, rows=5)
    assert event["extra"] == {"rows": 5, "from_rest_api": True}
    assert (event["dataset_uri"], event["source_dag_id"], event["created_dagruns"]) == (
        ORDERS, None, [])
    queued = client.get(f"{API}/datasets/queuedEvent/{q(ORDERS)}").json()
    assert [e["dag_id"] for e in queued["datasets"]] == ["consume", "either"]
    assert queued["total_entries"] == 2
    assert client.get(f"{API}/dags/consume/datasets/queuedEvent/{q(ORDERS)}").json()[
        "dag_id"] == "consume"
    assert client.get(f"{API}/dags/either/datasets/queuedEvent").json()["total_entries"] == 1

    with session() as sess:
        for dag_id in ("consume", "either"):
            sess.get(Dag, dag_id).is_paused = False
    one_round(new_job())
    runs = client.get(f"{API}/dags/either/dagRuns").json()["dag_runs"]
    assert [r["run_type"] for r in runs] == ["dataset_triggered"]
    upstream = client.get(f"{API}/dags/either/dagRuns/{runs[0]['dag_run_id']}"
                          "/upstreamDatasetEvents").json()
    assert [e["dataset_uri"] for e in upstream["dataset_events"]] == [ORDERS]
    assert upstream["dataset_events"][0]["created_dagruns"][0]["run_id"] == runs[0]["dag_run_id"]
    assert client.get(f"{API}/dags/consume/dagRuns").json()["total_entries"] == 0
    assert_problem(client.get(f"{API}/dags/either/datasets/queuedEvent"), 404, "either")

    events = client.get(f"{API}/datasets/events").json()
    assert events["total_entries"] == 1
    assert [r["dag_id"] for r in events["dataset_events"][0]["created_dagruns"]] == ["either"]
    assert_problem(client.post(f"{API}/datasets/events", json={"dataset_uri": "s3://x"}), 404,
                   "s3://x")


def test_event_filters_and_order(client, dags):
    first = post_event(client, ORDERS)
    second = post_event(client, PRICES)
    with session() as sess:
        from windsock.db.models import Dataset as Row
        from windsock.runs.datasets import record_event
        record_event(sess, sess.scalar(select(Row).where(Row.uri == ORDERS)), utcnow(),
                     source_dag_id="produce", source_task_id="write", source_run_id="r1",
                     source_map_index=-1)
    all_ = client.get(f"{API}/datasets/events").json()
    assert [e["timestamp"] for e in all_["dataset_events"]] == sorted(
        e["timestamp"] for e in all_["dataset_events"])
    assert all_["dataset_events"][0] == first and all_["dataset_events"][1] == second
    by = lambda **p: [e["source_run_id"] for e in client.get(  # noqa: E731
        f"{API}/datasets/events", params=p).json()["dataset_events"]]
    assert by(source_dag_id="produce") == ["r1"] and by(source_task_id="write") == ["r1"]
    assert by(source_run_id="r1") == ["r1"]
    assert by(source_map_index=-1) == [None, None, "r1"]  # -1 also for API updates, as Airflow
    assert by(dataset_id=second["dataset_id"]) == [None]
    assert by(order_by="-timestamp", limit=1) == ["r1"]


def test_deleting_queued_updates(client, dags):
    post_event(client, ORDERS)
    post_event(client, PRICES)
    assert client.get(f"{API}/datasets/queuedEvent/{q(ORDERS)}",
                      params={"before": "2000-01-01T00:00:00+00:00"}).status_code == 404
    assert client.delete(f"{API}/dags/consume/datasets/queuedEvent/{q(ORDERS)}").status_code == 204
    assert_problem(client.get(f"{API}/dags/consume/datasets/queuedEvent/{q(ORDERS)}"), 404)
    assert client.delete(f"{API}/datasets/queuedEvent/{q(PRICES)}").status_code == 204
    assert [e["uri"] for e in client.get(f"{API}/dags/either/datasets/queuedEvent").json()[
        "datasets"]] == [ORDERS]
    assert client.delete(f"{API}/dags/either/datasets/queuedEvent").status_code == 204
    assert_problem(client.delete(f"{API}/dags/either/datasets/queuedEvent"), 404)
    assert_problem(client.delete(f"{API}/datasets/queuedEvent/{q(ORDERS)}"), 404)


def test_upstream_events_of_an_unknown_run_are_404(client, dags):
    assert_problem(client.get(f"{API}/dags/either/dagRuns/nope/upstreamDatasetEvents"), 404)
