"""Writing parsed DAG files to the database: DAGs, tags, serialized form, code, warnings and
import errors. One call per file, inside the caller's transaction."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session

from windsock import config
from windsock.dags import datasets, schedules, serialization
from windsock.db.models import Dag, DagCode, DagRun, DagScheduleDataset, DagTag, DagWarning
from windsock.db.models import Dataset as DatasetRow
from windsock.db.models import (DatasetDagRunQueue, ImportError, Pool, SerializedDag,
                                TaskOutletDataset)

# A DAG's next run is recomputed when it is new, reactivated, or one of these changed.
NEXT_RUN_INPUTS = ("schedule", "start_date", "end_date", "catchup")
MISSING_POOL = "non-existent pool"
DATASET_SCHEDULE = "Dataset"  # the schedule a dataset-scheduled DAG shows, as in Airflow


def file_token(fileloc: str) -> str:
    """The id of a DAG file in the API: the SHA-256 of its absolute path."""
    return hashlib.sha256(fileloc.encode()).hexdigest()


def store_result(sess: Session, fileloc: str, result: dict[str, Any], source: str | None,
                 now: datetime) -> str | None:
    """Store one file's loader result ({"dags": [...]} or {"error": ...}) and its source.

    Returns the import error recorded for the file, or None when its DAGs were stored.
    """
    dags = result.get("dags")
    error = result.get("error") or _claimed_elsewhere(sess, fileloc, dags)
    if error:
        _store_import_error(sess, fileloc, error, now)
        return error
    token = file_token(fileloc)
    for data in dags:
        _store_dag(sess, token, data, now)
    _store_warnings(sess, dags, now)
    sess.execute(update(Dag)
                 .where(Dag.file_token == token, Dag.is_active,
                        Dag.dag_id.not_in([data["dag_id"] for data in dags]))
                 .values(is_active=False))
    _store_code(sess, token, fileloc, source if dags else None, now)
    sess.execute(delete(ImportError).where(ImportError.filename == fileloc))
    return None


def forget_missing_files(sess: Session, filelocs: set[str]) -> None:
    """Deactivate the DAGs of files no longer found; drop those files' code and import errors."""
    active = set(sess.scalars(select(Dag.fileloc).where(Dag.is_active).distinct()))
    sess.execute(update(Dag).where(Dag.fileloc.in_(active - filelocs)).values(is_active=False))
    coded = set(sess.scalars(select(DagCode.fileloc)))
    sess.execute(delete(DagCode).where(DagCode.fileloc.in_(coded - filelocs)))
    failed = set(sess.scalars(select(ImportError.filename)))
    sess.execute(delete(ImportError).where(ImportError.filename.in_(failed - filelocs)))


def next_interval(sess: Session, data: dict[str, Any], now: datetime,
                  after: datetime | None = None) -> schedules.Interval | None:
    """The data interval of a serialized DAG's next scheduled run, after its latest one (or
    after the logical date `after`); None for an unscheduled or finished DAG."""
    start_date = _datetime(data["start_date"])
    schedule = schedules.from_wire(data["schedule"], start_date)
    if schedule is None:
        return None
    last = after or sess.scalar(
        select(func.max(DagRun.logical_date))
        .where(DagRun.dag_id == data["dag_id"], DagRun.run_type == "scheduled"))
    return schedule.next_interval(last_start=last, start_date=start_date,
                                  end_date=_datetime(data["end_date"]), catchup=data["catchup"],
                                  now=now)


def set_next_run(dag: Dag, interval: schedules.Interval | None) -> None:
    """Record on the DAG row when its next scheduled run is due (all None when never)."""
    start, end = (interval.start, interval.end) if interval else (None, None)
    dag.next_dagrun = dag.next_dagrun_data_interval_start = start
    dag.next_dagrun_data_interval_end = dag.next_dagrun_create_after = end


def schedule_wire(data: dict[str, Any]) -> str | None:
    """The schedule as the API shows it; a dataset-scheduled DAG shows Airflow's `Dataset`."""
    if data.get("dataset_expression") is not None:
        return json.dumps({"__type": "CronExpression", "value": DATASET_SCHEDULE})
    return None if data["schedule"] is None else json.dumps(data["schedule"])


def _datetime(text: str | None) -> datetime | None:
    return None if text is None else datetime.fromisoformat(text)


def _claimed_elsewhere(sess: Session, fileloc: str, dags: list[dict[str, Any]]) -> str | None:
    owners = sess.execute(select(Dag.dag_id, Dag.fileloc).where(
        Dag.dag_id.in_([data["dag_id"] for data in dags]), Dag.is_active,
        Dag.fileloc != fileloc)).all()
    return "\n".join(f"Duplicate DAG id {dag_id!r}: it is already defined in {other}."
                     for dag_id, other in sorted(owners)) or None


def _store_dag(sess: Session, token: str, data: dict[str, Any], now: datetime) -> None:
    dag = sess.get(Dag, data["dag_id"])
    was_active = dag is not None and dag.is_active
    if dag is None:
        paused = data["is_paused_upon_creation"]
        if paused is None:
            paused = config.get_bool("core", "dags_are_paused_at_creation")
        dag = Dag(dag_id=data["dag_id"], is_paused=paused)
        sess.add(dag)
    dag.fileloc, dag.file_token = data["fileloc"], token
    dag.owners = ",".join(data["owners"])
    dag.description = data["description"]
    dag.schedule = schedule_wire(data)
    dag.timetable_description = data["timetable_description"]
    dag.max_active_runs, dag.max_active_tasks = data["max_active_runs"], data["max_active_tasks"]
    dag.last_parsed_time, dag.is_active, dag.has_import_errors = now, True, False
    wanted = set(data["tags"])
    kept = [tag for tag in dag.tags if tag.name in wanted]
    dag.tags = kept + [DagTag(name=name) for name in sorted(wanted - {t.name for t in kept})]
    sess.flush()  # the DAG row exists before rows that refer to it
    _store_dataset_references(sess, data, now)

    text = serialization.dumps(data)
    digest = serialization.dag_hash(text)
    stored = sess.get(SerializedDag, data["dag_id"])
    previous = json.loads(stored.data) if stored else {}
    if stored is None:
        sess.add(SerializedDag(dag_id=data["dag_id"], data=text, dag_hash=digest,
                               last_updated=now))
    elif stored.dag_hash != digest:
        stored.data, stored.dag_hash, stored.last_updated = text, digest, now
    if not was_active or any(previous.get(key) != data[key] for key in NEXT_RUN_INPUTS):
        set_next_run(dag, next_interval(sess, data, now))


def _store_dataset_references(sess: Session, data: dict[str, Any], now: datetime) -> None:
    """The datasets the DAG schedules on and those its tasks update, as rows the scheduler and
    the API read; queued updates of datasets the DAG no longer waits for are dropped."""
    dag_id = data["dag_id"]
    expression = data.get("dataset_expression")
    scheduled = datasets.expression_uris(expression) if expression is not None else []
    outlets = {(task["task_id"], uri) for task in data["tasks"] for uri in task.get("outlets", [])}
    ids = dataset_ids(sess, {*scheduled, *(uri for _, uri in outlets)}, now)

    wanted = {ids[uri] for uri in scheduled}
    have = set(sess.scalars(select(DagScheduleDataset.dataset_id)
                            .where(DagScheduleDataset.dag_id == dag_id)))
    sess.execute(delete(DagScheduleDataset).where(DagScheduleDataset.dag_id == dag_id,
                                                  DagScheduleDataset.dataset_id.not_in(wanted)))
    sess.add_all(DagScheduleDataset(dataset_id=i, dag_id=dag_id, created_at=now, updated_at=now)
                 for i in sorted(wanted - have))
    sess.execute(delete(DatasetDagRunQueue).where(DatasetDagRunQueue.target_dag_id == dag_id,
                                                  DatasetDagRunQueue.dataset_id.not_in(wanted)))

    wanted_outlets = {(task_id, ids[uri]) for task_id, uri in outlets}
    have_outlets = set(sess.execute(
        select(TaskOutletDataset.task_id, TaskOutletDataset.dataset_id)
        .where(TaskOutletDataset.dag_id == dag_id)).all())
    for task_id, dataset_id in have_outlets - wanted_outlets:
        sess.execute(delete(TaskOutletDataset).where(
            TaskOutletDataset.dag_id == dag_id, TaskOutletDataset.task_id == task_id,
            TaskOutletDataset.dataset_id == dataset_id))
    sess.add_all(TaskOutletDataset(dataset_id=dataset_id, dag_id=dag_id, task_id=task_id,
                                   created_at=now, updated_at=now)
                 for task_id, dataset_id in sorted(wanted_outlets - have_outlets))


def dataset_ids(sess: Session, uris: set[str], now: datetime) -> dict[str, int]:
    """The id of each dataset URI, adding the datasets not yet known."""
    if not uris:
        return {}
    ids = dict(sess.execute(select(DatasetRow.uri, DatasetRow.id)
                            .where(DatasetRow.uri.in_(uris))).all())
    for uri in sorted(uris - set(ids)):
        row = DatasetRow(uri=uri, extra="{}", created_at=now, updated_at=now)
        sess.add(row)
        sess.flush()
        ids[uri] = row.id
    return ids


def _store_warnings(sess: Session, dags: list[dict[str, Any]], now: datetime) -> None:
    sess.execute(delete(DagWarning).where(DagWarning.dag_id.in_([d["dag_id"] for d in dags])))
    named = {task["pool"] for data in dags for task in data["tasks"]}
    existing = set(sess.scalars(select(Pool.pool).where(Pool.pool.in_(named))))
    for data in dags:
        missing = [f"Task {task['task_id']!r} uses the pool {task['pool']!r}, which does not "
                   "exist." for task in data["tasks"] if task["pool"] not in existing]
        if missing:
            sess.add(DagWarning(dag_id=data["dag_id"], warning_type=MISSING_POOL,
                                message=" ".join(missing), timestamp=now))


def _store_code(sess: Session, token: str, fileloc: str, source: str | None,
                now: datetime) -> None:
    code = sess.get(DagCode, token)
    if source is None:
        if code is not None:
            sess.delete(code)
    elif code is None:
        sess.add(DagCode(file_token=token, fileloc=fileloc, source_code=source, last_updated=now))
    elif code.source_code != source:
        code.source_code, code.last_updated = source, now


def _store_import_error(sess: Session, fileloc: str, error: str, now: datetime) -> None:
    sess.execute(delete(ImportError).where(ImportError.filename == fileloc))
    sess.add(ImportError(filename=fileloc, stack_trace=error, timestamp=now))
    sess.execute(update(Dag).where(Dag.file_token == file_token(fileloc))
                 .values(has_import_errors=True))
