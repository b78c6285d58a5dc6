"""Data-aware scheduling against the real database: the processor records the datasets DAGs
name, a task that succeeds (a real `windsock tasks run`) records one event per outlet and queues
it for the DAGs scheduled on the dataset, and scheduler rounds create `dataset_triggered` runs
when a DAG's condition is met, consuming the queued events, also with two schedulers at once."""

from __future__ import annotations

import json
import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from sqlalchemy import select, update

from tests.scheduler.conftest import new_run, run_task
from tests.scheduler.rounds import new_job, now, one_round
from windsock.db.engine import session
from windsock.db.models import (Dag, DagRun, DagScheduleDataset, Dataset, DatasetDagRunQueue,
                                DatasetEvent, TaskOutletDataset)
from windsock.runs.datasets import record_event
from windsock.scheduler.loop import run_round

DAGS = """
from datetime import datetime
from windsock import DAG, Dataset, ShellTask, task

orders, prices, fx = (Dataset("s3://w/orders"), Dataset("s3://w/prices"), Dataset("s3://w/fx"))

with DAG("produce") as produce:
    @task(outlets=[orders, prices])
    def write():
        return 1
    write()
    ShellTask("fail", "exit 3", outlets=[fx])

with DAG("all_of", schedule=[orders, prices]) as all_of:
    ShellTask("read", "true")

with DAG("any_of", schedule=orders | prices) as any_of:
    ShellTask("read", "true")

with DAG("nested", schedule=(orders & prices) | fx) as nested:
    ShellTask("read", "true")
"""


@pytest.fixture
def dags(add_dags, monkeypatch):
    monkeypatch.setenv("WINDSOCK__CORE__DAGS_ARE_PAUSED_AT_CREATION", "False")
    add_dags(DAGS)


def update_dataset(uri: str, **source) -> int:
    with session() as sess:
        dataset = sess.scalar(select(Dataset).where(Dataset.uri == uri))
        return record_event(sess, dataset, now(), **source).id


def queued() -> dict[str, set[str]]:
    with session() as sess:
        rows = sess.execute(select(DatasetDagRunQueue.target_dag_id, Dataset.uri)
                            .join(Dataset, Dataset.id == DatasetDagRunQueue.dataset_id))
        result: dict[str, set[str]] = {}
        for dag_id, uri in rows:
            result.setdefault(dag_id, set()).add(uri)
        return result


def dataset_runs(dag_id: str) -> list[tuple[DagRun, list[int]]]:
    """The dag's dataset-triggered runs, oldest first, with the ids of the events each consumed."""
    with session() as sess:
        runs = sess.scalars(select(DagRun).where(DagRun.dag_id == dag_id,
                                                 DagRun.run_type == "dataset_triggered")
                            .order_by(DagRun.id)).all()
        from sqlalchemy.orm import selectinload
        runs = sess.scalars(select(DagRun).where(DagRun.id.in_([r.id for r in runs]))
                            .options(selectinload(DagRun.consumed_dataset_events))
                            .order_by(DagRun.id)).all()
        return [(run, [event.id for event in run.consumed_dataset_events]) for run in runs]


def test_the_processor_records_datasets_and_who_uses_them(dags, add_dags):
    with session() as sess:
        uris = dict(sess.execute(select(Dataset.id, Dataset.uri)).all())
        schedules = {(dag_id, uris[i]) for i, dag_id in sess.execute(
            select(DagScheduleDataset.dataset_id, DagScheduleDataset.dag_id))}
        outlets = {(dag_id, task_id, uris[i]) for i, dag_id, task_id in sess.execute(
            select(TaskOutletDataset.dataset_id, TaskOutletDataset.dag_id,
                   TaskOutletDataset.task_id))}
    assert sorted(uris.values()) == ["s3://w/fx", "s3://w/orders", "s3://w/prices"]
    assert schedules == {("all_of", "s3://w/orders"), ("all_of", "s3://w/prices"),
                         ("any_of", "s3://w/orders"), ("any_of", "s3://w/prices"),
                         ("nested", "s3://w/orders"), ("nested", "s3://w/prices"),
                         ("nested", "s3://w/fx")}
    assert outlets == {("produce", "write", "s3://w/orders"), ("produce", "write", "s3://w/prices"),
                       ("produce", "fail", "s3://w/fx")}

    update_dataset("s3://w/prices")
    assert queued()["all_of"] == {"s3://w/prices"}
    # all_of now waits for orders alone: its references and its queued prices update go.
    add_dags(DAGS.replace("schedule=[orders, prices]", "schedule=[orders]"))
    with session() as sess:
        assert {uri for uri, in sess.execute(
            select(Dataset.uri).join(DagScheduleDataset)
            .where(DagScheduleDataset.dag_id == "all_of"))} == {"s3://w/orders"}
    assert "all_of" not in queued() and queued()["any_of"] == {"s3://w/prices"}


def test_a_task_that_succeeds_records_an_event_per_outlet_and_queues_it(dags):
    run_id = new_run("produce", queued=("write", "fail"))
    assert run_task("produce", "write", run_id).returncode == 0
    assert run_task("produce", "fail", run_id).returncode == 1  # failed: no event

    with session() as sess:
        events = sess.execute(select(Dataset.uri, DatasetEvent).join(Dataset)
                              .order_by(Dataset.uri)).all()
    assert [uri for uri, _ in events] == ["s3://w/orders", "s3://w/prices"]
    for _, event in events:
        assert (event.source_dag_id, event.source_task_id, event.source_run_id,
                event.source_map_index) == ("produce", "write", run_id, -1)
        assert json.loads(event.extra) == {}
    assert queued() == {"all_of": {"s3://w/orders", "s3://w/prices"},
                        "any_of": {"s3://w/orders", "s3://w/prices"},
                        "nested": {"s3://w/orders", "s3://w/prices"}}


def test_any_triggers_on_one_update_all_only_on_both(dags):
    job = new_job()
    orders = update_dataset("s3://w/orders", source_dag_id="x", source_task_id="t",
                            source_run_id="r", source_map_index=-1)
    one_round(job)
    [(run, consumed)] = dataset_runs("any_of")
    assert consumed == [orders] and run.state in ("queued", "running")
    assert run.run_id.startswith("dataset_triggered__") and not run.external_trigger
    assert dataset_runs("all_of") == [] and dataset_runs("nested") == []
    assert queued() == {"all_of": {"s3://w/orders"}, "nested": {"s3://w/orders"}}

    prices = update_dataset("s3://w/prices")
    one_round(job)
    [(all_run, all_consumed)] = dataset_runs("all_of")
    assert all_consumed == [orders, prices]
    assert (all_run.data_interval_start, all_run.data_interval_end) == tuple(
        sorted((all_run.data_interval_start, all_run.data_interval_end)))
    [_, (_, nested_consumed)] = [None, *dataset_runs("nested")]
    assert nested_consumed == [orders, prices]
    # any_of's second run consumes only what came after its first.
    assert [c for _, c in dataset_runs("any_of")] == [[orders], [prices]]
    assert queued() == {}

    one_round(job)  # nothing queued: no more runs
    assert len(dataset_runs("any_of")) == 2 and len(dataset_runs("all_of")) == 1


def test_nested_condition_triggers_on_its_other_branch(dags):
    fx = update_dataset("s3://w/fx")
    one_round(new_job())
    assert [c for _, c in dataset_runs("nested")] == [[fx]]
    assert dataset_runs("all_of") == [] and dataset_runs("any_of") == []


def test_a_paused_dag_keeps_its_queue_until_unpaused(dags):
    with session() as sess:
        sess.execute(update(Dag).where(Dag.dag_id == "any_of").values(is_paused=True))
    update_dataset("s3://w/orders")
    job = new_job()
    one_round(job)
    assert dataset_runs("any_of") == [] and queued()["any_of"] == {"s3://w/orders"}
    with session() as sess:
        sess.execute(update(Dag).where(Dag.dag_id == "any_of").values(is_paused=False))
    one_round(job)
    assert len(dataset_runs("any_of")) == 1


def test_two_schedulers_make_one_run_of_one_queue(dags):
    jobs = (new_job(), new_job())
    for repeat in range(5):
        update_dataset("s3://w/orders")
        update_dataset("s3://w/prices")
        barrier = threading.Barrier(2)

        def round_of(job_id: int) -> None:
            barrier.wait()
            run_round(job_id, open_slots=0)

        with ThreadPoolExecutor(2) as pool:
            list(pool.map(round_of, jobs))
        for dag_id in ("all_of", "any_of", "nested"):
            runs = dataset_runs(dag_id)
            assert len(runs) == repeat + 1, dag_id
            consumed = [event for _, events in runs for event in events]
            assert len(consumed) == len(set(consumed)) == 2 * (repeat + 1)
        assert queued() == {}
