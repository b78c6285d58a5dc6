"""Dataset updates, whoever reports them (a task that succeeded, or an external system through
the API): each update is recorded as a dataset event and queued for every active DAG scheduled
on the dataset, for the scheduler to check that DAG's condition against."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from windsock.dags.store import dataset_ids
from windsock.db.engine import insert_unless_taken
from windsock.db.models import (Dag, DagScheduleDataset, Dataset, DatasetDagRunQueue,
                                DatasetEvent)


def record_event(sess: Session, dataset: Dataset, now: datetime, *,
                 extra: dict[str, Any] | None = None, source_dag_id: str | None = None,
                 source_task_id: str | None = None, source_run_id: str | None = None,
                 source_map_index: int | None = None) -> DatasetEvent:
    """Record one update of `dataset` and queue it for the DAGs scheduled on it."""
    event = DatasetEvent(dataset_id=dataset.id, extra=json.dumps(extra or {}),
                         source_dag_id=source_dag_id, source_task_id=source_task_id,
                         source_run_id=source_run_id, source_map_index=source_map_index,
                         timestamp=now)
    sess.add(event)
    sess.flush()
    queue_for_consumers(sess, [dataset.id], now)
    return event


def record_task_outlets(sess: Session, uris: Iterable[str], now: datetime, *, dag_id: str,
                        task_id: str, run_id: str, map_index: int) -> list[DatasetEvent]:
    """One event per outlet of a task instance that succeeded (the outlets the DAG processor
    stored; a URI without a dataset row, which a DAG file newer than the database could name,
    gets one)."""
    uris = list(dict.fromkeys(uris))
    if not uris:
        return []
    ids = dataset_ids(sess, set(uris), now)
    rows = {row.id: row for row in sess.scalars(select(Dataset).where(
        Dataset.id.in_(ids.values())))}
    return [record_event(sess, rows[ids[uri]], now, source_dag_id=dag_id,
                         source_task_id=task_id, source_run_id=run_id,
                         source_map_index=map_index) for uri in uris]


def queue_for_consumers(sess: Session, dataset_ids: Iterable[int], now: datetime) -> None:
    """Queue the datasets for each active DAG scheduled on them; a dataset already queued for a
    DAG stays queued from its first update (concurrent writers do not conflict)."""
    targets = sess.execute(
        select(DagScheduleDataset.dataset_id, DagScheduleDataset.dag_id)
        .join(Dag, Dag.dag_id == DagScheduleDataset.dag_id)
        .where(DagScheduleDataset.dataset_id.in_(list(dataset_ids)), Dag.is_active)).all()
    if not targets:
        return
    sess.execute(insert_unless_taken(sess, DatasetDagRunQueue.__table__), [
        {"dataset_id": dataset_id, "target_dag_id": dag_id, "created_at": now}
        for dataset_id, dag_id in targets])
