"""How runs and task instances look on the wire; shared by the operations that answer them."""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from windsock.db.models import DagRun, TaskInstance, TaskInstanceTry


def iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def dag_run(run: DagRun) -> dict[str, Any]:
    return {
        "dag_run_id": run.run_id,
        "dag_id": run.dag_id,
        "logical_date": iso(run.logical_date),
        "execution_date": iso(run.logical_date),
        "start_date": iso(run.start_date),
        "end_date": iso(run.end_date),
        "data_interval_start": iso(run.data_interval_start),
        "data_interval_end": iso(run.data_interval_end),
        "last_scheduling_decision": iso(run.last_scheduling_decision),
        "queued_at": iso(run.queued_at),
        "updated_at": iso(run.updated_at),
        "run_type": run.run_type,
        "state": run.state,
        "external_trigger": run.external_trigger,
        "conf": json.loads(run.conf),
        "note": run.note,
        # Only on the runs of backfills: the Go SDK of contract 1.0.0 refuses unknown fields.
        **({} if run.backfill_id is None else {"backfill_id": run.backfill_id}),
    }


def task_instance(ti: TaskInstance | TaskInstanceTry, logical_date: datetime) -> dict[str, Any]:
    """A task instance (or one of its earlier tries); `logical_date` is its run's."""
    return {
        "task_id": ti.task_id,
        "task_display_name": ti.task_id,
        "dag_id": ti.dag_id,
        "dag_run_id": ti.run_id,
        "execution_date": iso(logical_date),
        "start_date": iso(ti.start_date),
        "end_date": iso(ti.end_date),
        "duration": ti.duration,
        "state": ti.state,
        "try_number": ti.try_number,
        "map_index": ti.map_index,
        "max_tries": ti.max_tries,
        "hostname": ti.hostname,
        "unixname": ti.unixname,
        "pool": ti.pool,
        "pool_slots": ti.pool_slots,
        "queue": ti.queue,
        "priority_weight": ti.priority_weight,
        "operator": ti.operator,
        "queued_when": iso(ti.queued_dttm),
        "pid": ti.pid,
        "executor": ti.executor,
        "executor_config": "{}",
        "sla_miss": None,
        "rendered_map_index": None,
        "rendered_fields": {},
        "trigger": None,
        "triggerer_job": None,
        "note": ti.note,
    }


def task_instance_reference(ti: TaskInstance, logical_date: datetime) -> dict[str, Any]:
    return {"task_id": ti.task_id, "dag_id": ti.dag_id, "dag_run_id": ti.run_id,
            "execution_date": iso(logical_date), "map_index": ti.map_index}


def only_fields(body: dict[str, Any], fields: Iterable[str] | None,
                always: Iterable[str]) -> dict[str, Any]:
    """`body` cut down to the `fields` a client asked for (all when none), plus the `always` ones
    that identify the resource."""
    if not fields:
        return body
    wanted = {*fields, *always}
    return {name: value for name, value in body.items() if name in wanted}
