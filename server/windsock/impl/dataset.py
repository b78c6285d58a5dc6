"""Dataset operations: the datasets DAGs name, their update events (with the runs that consumed
them), updates reported from outside, and the updates queued for each DAG scheduled on a dataset.

Datasets themselves belong to no DAG. Events made by a task belong to its DAG: a caller who may
not read that DAG does not see them, nor the runs of DAGs they may not read. Queued updates
belong to the DAG they are queued for, and are filtered the same way.
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from sqlalchemy import Select, delete, or_, select
from sqlalchemy.orm import Session, selectinload

from windsock.api import filters, paging, resources
from windsock.api.problems import NotFound
from windsock.api.representations import iso
from windsock.db.engine import session
from windsock.db.models import (DagRun, DagScheduleDataset, Dataset, DatasetDagRunQueue,
                                DatasetEvent, TaskOutletDataset, dagrun_dataset_event, utcnow)
from windsock.runs import datasets
from windsock.security.authorization import dag_filter

DATASET_ORDER = {"id": Dataset.id, "uri": Dataset.uri, "created_at": Dataset.created_at,
                 "updated_at": Dataset.updated_at}
EVENT_ORDER = {"timestamp": DatasetEvent.timestamp, "source_dag_id": DatasetEvent.source_dag_id,
               "source_task_id": DatasetEvent.source_task_id,
               "source_run_id": DatasetEvent.source_run_id,
               "source_map_index": DatasetEvent.source_map_index}


# Datasets


def _dataset(row: Dataset) -> dict[str, Any]:
    return {
        "id": row.id, "uri": row.uri, "extra": json.loads(row.extra),
        "created_at": iso(row.created_at), "updated_at": iso(row.updated_at),
        "consuming_dags": [{"dag_id": ref.dag_id, "created_at": iso(ref.created_at),
                            "updated_at": iso(ref.updated_at)}
                           for ref in sorted(row.consuming_dags, key=lambda r: r.dag_id)],
        "producing_tasks": [{"dag_id": ref.dag_id, "task_id": ref.task_id,
                             "created_at": iso(ref.created_at), "updated_at": iso(ref.updated_at)}
                            for ref in sorted(row.producing_tasks,
                                              key=lambda r: (r.dag_id, r.task_id))],
    }


def _datasets() -> Select:
    return select(Dataset).options(selectinload(Dataset.consuming_dags),
                                   selectinload(Dataset.producing_tasks))


def get_datasets(limit: int, offset: int, order_by: str, uri_pattern: str | None = None,
                 dag_ids: str | None = None):
    stmt = _datasets()
    if uri_pattern:
        stmt = stmt.where(Dataset.uri.icontains(uri_pattern, autoescape=True))
    if dag_ids:
        wanted = [dag_id for dag_id in dag_ids.split(",") if dag_id]
        stmt = stmt.where(or_(
            Dataset.id.in_(select(DagScheduleDataset.dataset_id)
                           .where(DagScheduleDataset.dag_id.in_(wanted))),
            Dataset.id.in_(select(TaskOutletDataset.dataset_id)
                           .where(TaskOutletDataset.dag_id.in_(wanted)))))
    with session() as sess:
        return paging.collection(sess, stmt, key="datasets", serialize=_dataset,
                                 order_by=order_by, columns=DATASET_ORDER,
                                 primary_key=Dataset.id, limit=limit, offset=offset)


def _find(sess: Session, uri: str) -> Dataset:
    row = sess.scalar(_datasets().where(Dataset.uri == uri))
    if row is None:
        raise NotFound(f"No dataset has the URI {uri!r}.")
    return row


def get_dataset(uri: str):
    with session() as sess:
        return resources.single(_dataset(_find(sess, uri)))


# Events


def _runs_by_event(sess: Session, event_ids: Iterable[int]) -> dict[int, list[dict[str, Any]]]:
    """The runs (of DAGs the caller may read) that consumed each event: one query."""
    rows = sess.execute(
        select(dagrun_dataset_event.c.event_id, DagRun)
        .join(DagRun, DagRun.id == dagrun_dataset_event.c.dag_run_id)
        .where(dagrun_dataset_event.c.event_id.in_(list(event_ids)), dag_filter(DagRun.dag_id))
        .order_by(DagRun.id))
    runs: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for event_id, run in rows:
        runs[event_id].append({
            "run_id": run.run_id, "dag_id": run.dag_id, "logical_date": iso(run.logical_date),
            "start_date": iso(run.start_date), "end_date": iso(run.end_date),
            "data_interval_start": iso(run.data_interval_start),
            "data_interval_end": iso(run.data_interval_end), "state": run.state})
    return runs


def _events_answer(sess: Session, rows: list[tuple[DatasetEvent, str]]) -> list[dict[str, Any]]:
    runs = _runs_by_event(sess, [event.id for event, _ in rows])
    return [{"dataset_id": event.dataset_id, "dataset_uri": uri,
             "extra": json.loads(event.extra), "source_dag_id": event.source_dag_id,
             "source_task_id": event.source_task_id, "source_run_id": event.source_run_id,
             "source_map_index": event.source_map_index, "created_dagruns": runs[event.id],
             "timestamp": iso(event.timestamp)} for event, uri in rows]


def _visible_events() -> Select:
    return (select(DatasetEvent, Dataset.uri).join(Dataset, Dataset.id == DatasetEvent.dataset_id)
            .where(or_(DatasetEvent.source_dag_id.is_(None),
                       dag_filter(DatasetEvent.source_dag_id))))


def get_dataset_events(limit: int, offset: int, order_by: str, dataset_id: int | None = None,
                       source_dag_id: str | None = None, source_task_id: str | None = None,
                       source_run_id: str | None = None, source_map_index: int | None = None):
    stmt = _visible_events()
    for column, value in ((DatasetEvent.dataset_id, dataset_id),
                          (DatasetEvent.source_dag_id, source_dag_id),
                          (DatasetEvent.source_task_id, source_task_id),
                          (DatasetEvent.source_run_id, source_run_id),
                          (DatasetEvent.source_map_index, source_map_index)):
        if value is not None:
            stmt = stmt.where(column == value)
    with session() as sess:
        body, status, headers = paging.collection(
            sess, stmt, key="dataset_events", serialize=tuple, order_by=order_by,
            columns=EVENT_ORDER, primary_key=DatasetEvent.id, limit=limit, offset=offset)
        body["dataset_events"] = _events_answer(sess, body["dataset_events"])
        return body, status, headers


def create_dataset_event(body: dict[str, Any]):
    with session() as sess:
        dataset = sess.scalar(select(Dataset).where(Dataset.uri == body["dataset_uri"]))
        if dataset is None:
            raise NotFound(f"No dataset has the URI {body['dataset_uri']!r}; only datasets that "
                           "a DAG names can be updated.")
        extra = {**(body.get("extra") or {}), "from_rest_api": True}
        event = datasets.record_event(sess, dataset, utcnow(), extra=extra)
        [answer] = _events_answer(sess, [(event, dataset.uri)])
        return resources.ok(answer)


def get_upstream_dataset_events(dag_id: str, dag_run_id: str):
    with session() as sess:
        run = sess.scalar(select(DagRun).where(DagRun.dag_id == dag_id,
                                               DagRun.run_id == dag_run_id))
        if run is None:
            raise NotFound(f"DAG {dag_id!r} has no run {dag_run_id!r}.")
        rows = sess.execute(
            select(DatasetEvent, Dataset.uri).join(Dataset, Dataset.id == DatasetEvent.dataset_id)
            .join(dagrun_dataset_event, dagrun_dataset_event.c.event_id == DatasetEvent.id)
            .where(dagrun_dataset_event.c.dag_run_id == run.id)
            .order_by(DatasetEvent.timestamp, DatasetEvent.id)).all()
        events = _events_answer(sess, [tuple(row) for row in rows])
        return resources.ok({"dataset_events": events, "total_entries": len(events)})


# Queued updates


def _queued(*, dag_id: str | None = None, uri: str | None = None,
            before: str | None = None) -> list:
    where = [dag_filter(DatasetDagRunQueue.target_dag_id)]
    if dag_id is not None:
        where.append(DatasetDagRunQueue.target_dag_id == dag_id)
    if uri is not None:
        where.append(Dataset.uri == uri)
    until = filters.parse_datetime("before", before)
    if until is not None:
        where.append(DatasetDagRunQueue.created_at < until)
    return where


def _queued_rows(sess: Session, where: list) -> list[dict[str, Any]]:
    rows = sess.execute(
        select(DatasetDagRunQueue, Dataset.uri)
        .join(Dataset, Dataset.id == DatasetDagRunQueue.dataset_id).where(*where)
        .order_by(DatasetDagRunQueue.target_dag_id, Dataset.uri)).all()
    return [{"uri": uri, "dag_id": queued.target_dag_id, "created_at": iso(queued.created_at)}
            for queued, uri in rows]


def _collection(sess: Session, where: list, missing: str):
    queued = _queued_rows(sess, where)
    if not queued:
        raise NotFound(missing)
    return resources.ok({"datasets": queued, "total_entries": len(queued)})


def _delete(sess: Session, where: list, missing: str):
    ids = select(DatasetDagRunQueue.dataset_id, DatasetDagRunQueue.target_dag_id).join(
        Dataset, Dataset.id == DatasetDagRunQueue.dataset_id).where(*where)
    pairs = sess.execute(ids).all()
    if not pairs:
        raise NotFound(missing)
    for dataset_id, dag_id in pairs:
        sess.execute(delete(DatasetDagRunQueue).where(
            DatasetDagRunQueue.dataset_id == dataset_id,
            DatasetDagRunQueue.target_dag_id == dag_id))
    return resources.deleted()


def get_dataset_queued_events(uri: str, before: str | None = None):
    with session() as sess:
        return _collection(sess, _queued(uri=uri, before=before),
                           f"No update of the dataset {uri!r} is queued.")


def delete_dataset_queued_events(uri: str, before: str | None = None):
    with session() as sess:
        return _delete(sess, _queued(uri=uri, before=before),
                       f"No update of the dataset {uri!r} is queued.")


def get_dag_dataset_queued_events(dag_id: str, before: str | None = None):
    with session() as sess:
        return _collection(sess, _queued(dag_id=dag_id, before=before),
                           f"No dataset update is queued for the DAG {dag_id!r}.")


def delete_dag_dataset_queued_events(dag_id: str, before: str | None = None):
    with session() as sess:
        return _delete(sess, _queued(dag_id=dag_id, before=before),
                       f"No dataset update is queued for the DAG {dag_id!r}.")


def get_dag_dataset_queued_event(dag_id: str, uri: str, before: str | None = None):
    with session() as sess:
        queued = _queued_rows(sess, _queued(dag_id=dag_id, uri=uri, before=before))
        if not queued:
            raise NotFound(f"No update of the dataset {uri!r} is queued for the DAG {dag_id!r}.")
        return resources.single(queued[0])


def delete_dag_dataset_queued_event(dag_id: str, uri: str, before: str | None = None):
    with session() as sess:
        return _delete(sess, _queued(dag_id=dag_id, uri=uri, before=before),
                       f"No update of the dataset {uri!r} is queued for the DAG {dag_id!r}.")
