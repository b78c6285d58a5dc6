"""Datasets in DAG files: outlets on tasks, schedules on datasets (all / any, nested), as the
DAG processor stores them and as the API shows them."""

from __future__ import annotations

import json

import pytest

from tests.api.helpers import API
from tests.dags.conftest import write
from windsock import DAG, Dataset, ShellTask, task
from windsock.db.engine import session
from windsock.db.models import Dag, SerializedDag

PRODUCER_AND_CONSUMERS = """
from datetime import datetime
from windsock import DAG, Dataset, ShellTask, task

orders = Dataset("s3://warehouse/orders")
prices = Dataset("s3://warehouse/prices")
fx = Dataset("s3://warehouse/fx")

with DAG("produce", schedule="@daily", start_date=datetime(2026, 1, 1)) as produce:
    @task(outlets=[orders, prices])
    def write():
        return 1
    write()
    ShellTask("publish_fx", "echo fx", outlets=[fx])

with DAG("consume_all", schedule=[orders, prices], start_date=datetime(2026, 1, 1)) as all_:
    ShellTask("read", "echo read")

with DAG("consume_any", schedule=orders | prices) as any_:
    ShellTask("read", "echo read")

with DAG("consume_nested", schedule=(orders & prices) | fx) as nested:
    ShellTask("read", "echo read")

with DAG("consume_one", schedule=orders) as one:
    ShellTask("read", "echo read")
"""


def stored(dag_id: str) -> tuple[Dag, dict]:
    with session() as sess:
        return sess.get(Dag, dag_id), json.loads(sess.get(SerializedDag, dag_id).data)


def test_the_processor_stores_outlets_and_dataset_conditions(dags_folder, processor):
    write(dags_folder, "datasets.py", PRODUCER_AND_CONSUMERS)
    summary = processor.run_pass()
    assert summary.import_errors == 0 and summary.dags_written == 5

    producer, data = stored("produce")
    tasks = {t["task_id"]: t for t in data["tasks"]}
    assert tasks["write"]["outlets"] == ["s3://warehouse/orders", "s3://warehouse/prices"]
    assert tasks["publish_fx"]["outlets"] == ["s3://warehouse/fx"]
    assert data["dataset_expression"] is None

    expected = {
        "consume_all": {"all": ["s3://warehouse/orders", "s3://warehouse/prices"]},
        "consume_any": {"any": ["s3://warehouse/orders", "s3://warehouse/prices"]},
        "consume_nested": {"any": [{"all": ["s3://warehouse/orders", "s3://warehouse/prices"]},
                                   "s3://warehouse/fx"]},
        "consume_one": {"all": ["s3://warehouse/orders"]},  # always an object
    }
    for dag_id, expression in expected.items():
        row, data = stored(dag_id)
        assert data["dataset_expression"] == expression
        assert data["schedule"] is None  # no time-based runs
        assert json.loads(row.schedule) == {"__type": "CronExpression", "value": "Dataset"}
        assert row.timetable_description == "Triggered by datasets"
        assert row.next_dagrun is None and row.next_dagrun_create_after is None


def test_the_api_shows_the_dataset_expression_and_schedule(dags_folder, processor, client):
    write(dags_folder, "datasets.py", PRODUCER_AND_CONSUMERS)
    processor.run_pass()
    details = client.get(f"{API}/dags/consume_nested/details").json()
    assert details["dataset_expression"] == {
        "any": [{"all": ["s3://warehouse/orders", "s3://warehouse/prices"]}, "s3://warehouse/fx"]}
    assert details["schedule_interval"] == {"__type": "CronExpression", "value": "Dataset"}
    assert details["timetable_description"] == "Triggered by datasets"
    dag = client.get(f"{API}/dags/consume_nested").json()
    assert dag["timetable_description"] == "Triggered by datasets"
    assert "dataset_expression" not in dag  # as in Airflow, only the details carry it
    produce = client.get(f"{API}/dags/produce/details").json()
    assert produce["dataset_expression"] is None


def test_conditions_nest_and_flatten_like_airflow():
    a, b, c = Dataset("a://1"), Dataset("b://2"), Dataset("c://3")
    assert (a | b | c).expression() == {"any": ["a://1", "b://2", "c://3"]}
    assert (a & b & c).expression() == {"all": ["a://1", "b://2", "c://3"]}
    assert ((a | b) & c).expression() == {"all": [{"any": ["a://1", "b://2"]}, "c://3"]}
    assert ((a | b) & c).uris() == ["a://1", "b://2", "c://3"]


@pytest.mark.parametrize("schedule, message", [
    ([], "at least one Dataset"),
    ([Dataset("a://1"), "@daily"], "Datasets only"),
])
def test_bad_dataset_schedules_are_refused(schedule, message):
    with pytest.raises((TypeError, ValueError), match=message):
        DAG("bad", schedule=schedule)


@pytest.mark.parametrize("uri", ["", "  ", "airflow://x", "é://x", "x" * 1501])
def test_bad_uris_are_refused(uri):
    with pytest.raises(ValueError):
        Dataset(uri)


def test_outlets_must_be_datasets():
    with DAG("outlets"):
        with pytest.raises(TypeError, match="outlets must be Datasets"):
            ShellTask("bad", "echo", outlets=["s3://not-a-dataset"])

        @task(outlets=[Dataset("a://1"), Dataset("a://1")])
        def twice():
            return None

        assert [d.uri for d in twice().task.outlets] == ["a://1"]
