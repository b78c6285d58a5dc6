"""Creating a DAG run and its task instances, in the caller's transaction."""

from __future__ import annotations

import json
import secrets
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from windsock.dags import mapping
from windsock.db.engine import insert_unless_taken
from windsock.db.models import DagRun, TaskInstance


def new_run_id(run_type: str, logical_date: datetime) -> str:
    """`<type>__<logical date>__<random>`: readable, and unique even for runs triggered in the
    same instant (48 random bits)."""
    return f"{run_type}__{logical_date.isoformat()}__{secrets.token_hex(6)}"


def create_run(sess: Session, serialized: Mapping[str, Any], *, run_id: str,
               logical_date: datetime, conf: Mapping[str, Any], run_type: str,
               note: str | None = None, data_interval: tuple[datetime, datetime] | None = None,
               backfill_id: int | None = None) -> DagRun | None:
    """A queued run with one task instance per task (state not yet decided); a task mapped over
    literal lists gets one per combination right away (none: one skipped instance), a task
    mapped over return values one stand-in that the scheduler expands later. None, and nothing
    written, when the DAG has a run with this run id or logical date already.

    The run's row is inserted unless taken (`insert_unless_taken`), so a taken id or date is an
    answer, not an error, and the caller's transaction stays usable without a savepoint (which,
    with the ORM's flush, was a third of a trigger's time under SQLite's write lock). A DAG
    that does not exist (any more) still raises IntegrityError. The task instances are
    inserted as rows, in one statement. The run returned holds the row's values but is not in
    the session: change a run through a query."""
    now = datetime.now(timezone.utc)
    start, end = data_interval or (logical_date, logical_date)
    values = dict(dag_id=serialized["dag_id"], run_id=run_id, logical_date=logical_date,
                  data_interval_start=start, data_interval_end=end, queued_at=now,
                  start_date=None, end_date=None, state="queued", run_type=run_type,
                  external_trigger=run_type == "manual", conf=json.dumps(dict(conf)), note=note,
                  last_scheduling_decision=None, updated_at=now, backfill_id=backfill_id)
    table = DagRun.__table__
    key = sess.scalar(insert_unless_taken(sess, table).returning(table.c.id), values)
    if key is None:
        return None
    run = DagRun(id=key, **values)
    rows = [row for task in serialized["tasks"]
            for row in new_instance_rows(run.dag_id, run_id, task, now)]
    if rows:
        sess.execute(insert(TaskInstance.__table__), rows)
    return run


def new_instance_rows(dag_id: str, run_id: str, task: Mapping[str, Any],
                      now: datetime) -> list[dict[str, Any]]:
    """The task instances a task starts with in a run (see create_run), as column values."""
    expansion = task.get("expand")
    count = None
    if expansion is not None and not mapping.sources(expansion):
        try:
            count = mapping.length(task["task_id"], expansion, {})
        except mapping.ExpansionError:
            pass  # ([core] max_map_length was lowered:) the scheduler fails the stand-in
    return instance_rows(dag_id, run_id, task, count, now)


def new_instances(dag_id: str, run_id: str, task: Mapping[str, Any],
                  now: datetime) -> list[TaskInstance]:
    """new_instance_rows as objects of the session-to-be."""
    return [TaskInstance(**row) for row in new_instance_rows(dag_id, run_id, task, now)]


def instance_rows(dag_id: str, run_id: str, task: Mapping[str, Any], count: int | None,
                  now: datetime) -> list[dict[str, Any]]:
    """The task instances of `task` in a run, as column values (every row names the same
    columns): map indexes 0 to `count`-1, or with no count the one instance -1 (an unmapped
    task, or a mapped task's stand-in), skipped for a count of 0."""
    fields = dict(dag_id=dag_id, run_id=run_id, task_id=task["task_id"], state=None,
                  try_number=0, max_tries=task["retries"], pool=task["pool"],
                  pool_slots=task["pool_slots"], queue=task["queue"],
                  priority_weight=task["priority_weight"],
                  max_active_tis_per_dag=task.get("max_active_tis_per_dag"),
                  operator=task["class_name"], start_date=None, end_date=None, duration=None)
    if count is None:
        return [{**fields, "map_index": -1}]
    if count == 0:
        return [{**fields, "map_index": -1, "state": "skipped", "start_date": now,
                 "end_date": now, "duration": 0.0}]
    return [{**fields, "map_index": index} for index in range(count)]


def instances(dag_id: str, run_id: str, task: Mapping[str, Any], count: int | None,
              now: datetime) -> list[TaskInstance]:
    """instance_rows as objects of the session-to-be."""
    return [TaskInstance(**row) for row in instance_rows(dag_id, run_id, task, count, now)]
