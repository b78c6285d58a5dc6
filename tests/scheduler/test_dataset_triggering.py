"""Data-aware scheduling end to end: DAG files parsed by the real processor, the real scheduler
with the LocalExecutor, tasks run by real `windsock tasks run` processes. A producer's success
triggers its consumers, whose runs hold the producer's events as their upstream events; an `|`
consumer runs on either dataset, an `&` one only once both were updated."""

from __future__ import annotations

import json
import time

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from tests.dags.conftest import write
from tests.scheduler.rounds import now
from windsock.dags.processor import DagProcessor
from windsock.db.engine import session
from windsock.db.models import Dag, DagRun, SerializedDag
from windsock.runs.trigger import create_run
from windsock.scheduler.executors import LocalExecutor
from windsock.scheduler.loop import Scheduler

TIMEOUT = 90
DAGS = """
from windsock import DAG, Dataset, ShellTask, task

orders, prices = Dataset("s3://w/orders"), Dataset("s3://w/prices")

with DAG("produce_orders") as produce_orders:
    ShellTask("write", "echo orders", outlets=[orders])

with DAG("produce_prices") as produce_prices:
    @task(outlets=[prices])
    def write():
        return "prices"
    write()

with DAG("either", schedule=orders | prices) as either:
    ShellTask("read", "echo either")

with DAG("both", schedule=orders & prices) as both:
    ShellTask("read", "echo both")
"""


def trigger(dag_id: str) -> str:
    run_id = f"manual__{dag_id}"
    with session() as sess:
        data = json.loads(sess.scalar(select(SerializedDag.data)
                                      .where(SerializedDag.dag_id == dag_id)))
        create_run(sess, data, run_id=run_id, logical_date=now(), conf={}, run_type="manual")
    return run_id


def dataset_runs(dag_id: str) -> list[tuple[str, list[tuple[str, str, str, str]]]]:
    """State and upstream events (uri-less source: dag, task, run) of each dataset run."""
    with session() as sess:
        runs = sess.scalars(select(DagRun).where(DagRun.dag_id == dag_id,
                                                 DagRun.run_type == "dataset_triggered")
                            .options(selectinload(DagRun.consumed_dataset_events))
                            .order_by(DagRun.id)).all()
        return [(run.state, [(e.source_dag_id, e.source_task_id, e.source_run_id)
                             for e in run.consumed_dataset_events]) for run in runs]


def run_until(scheduler: Scheduler, condition, what: str) -> None:
    deadline = time.monotonic() + TIMEOUT
    while not condition():
        assert time.monotonic() < deadline, what
        scheduler.run_once()
        time.sleep(0.2)


def test_producers_trigger_their_consumers_through_the_scheduler(dags_folder, monkeypatch):
    monkeypatch.setenv("WINDSOCK__CORE__DAGS_ARE_PAUSED_AT_CREATION", "False")
    write(dags_folder, "datasets.py", DAGS)
    assert DagProcessor().run_pass(force=True).import_errors == 0
    with session() as sess:
        assert sess.get(Dag, "either").is_paused is False
    scheduler = Scheduler(LocalExecutor())
    scheduler.start()
    try:
        orders_run = trigger("produce_orders")
        run_until(scheduler, lambda: [s for s, _ in dataset_runs("either")] == ["success"],
                  "either ran after orders")
        assert dataset_runs("either")[0][1] == [("produce_orders", "write", orders_run)]
        assert dataset_runs("both") == []  # prices not yet updated

        prices_run = trigger("produce_prices")
        run_until(scheduler, lambda: [s for s, _ in dataset_runs("both")] == ["success"]
                  and [s for s, _ in dataset_runs("either")] == ["success", "success"],
                  "both ran once both datasets were updated, either ran again")
    finally:
        scheduler.stop()
        scheduler.end()
    assert dataset_runs("both")[0][1] == [("produce_orders", "write", orders_run),
                                          ("produce_prices", "write", prices_run)]
    assert dataset_runs("either")[1][1] == [("produce_prices", "write", prices_run)]
