"""A DAG as JSON: what the processor stores and what the API and the scheduler read back.

The API and the scheduler never import DAG files; everything they need is in this form:

    {"dag_id", "description", "doc_md", "owners", "tags", "schedule" (wire form or null),
     "timetable_description", "dataset_expression" (a dataset condition's wire form or null),
     "start_date", "end_date" (ISO 8601 or null), "catchup",
     "max_active_runs", "max_active_tasks", "dagrun_timeout" (seconds or null),
     "is_paused_upon_creation", "params": {name: {"default"?, "description", "schema"}},
     "fileloc", "tasks": [{"task_id", "class_name", "module_path", "trigger_rule", "retries",
     "retry_delay", "execution_timeout" (seconds or null), "pool", "pool_slots", "queue",
     "priority_weight", "owner", "doc_md", "outlets" (dataset URIs), "upstream_task_ids",
     "downstream_task_ids",
     "command" (shell tasks; null when mapped over), "env" (shell tasks), "links" (name -> URL
     template, if any), "expand" (a mapped task's expansion, see windsock.dags.mapping),
     "max_active_tis_per_dag" (if set)}]}
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from typing import Any

from windsock.dags import datasets, mapping
from windsock.dags.dag import DAG
from windsock.dags.tasks import ShellTask, Task


def _seconds(delta: timedelta | None) -> float | None:
    return None if delta is None else delta.total_seconds()


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def serialize_task(task: Task) -> dict[str, Any]:
    body = {
        "task_id": task.task_id,
        "class_name": type(task).__name__,
        "module_path": "windsock.dags.tasks",
        "trigger_rule": task.trigger_rule,
        "retries": task.retries,
        "retry_delay": _seconds(task.retry_delay),
        "execution_timeout": _seconds(task.execution_timeout),
        "pool": task.pool,
        "pool_slots": task.pool_slots,
        "queue": task.queue,
        "priority_weight": task.priority_weight,
        "owner": task.owner,
        "doc_md": task.doc_md,
        "outlets": [dataset.uri for dataset in task.outlets],
        "upstream_task_ids": sorted(task.upstream_task_ids),
        "downstream_task_ids": sorted(task.downstream_task_ids),
    }
    if task.links:
        body["links"] = dict(task.links)
    if task.is_mapped:
        body["expand"] = mapping.wire(task.expand_input)
    if task.max_active_tis_per_dag is not None:
        body["max_active_tis_per_dag"] = task.max_active_tis_per_dag
    if isinstance(task, ShellTask):
        body["command"] = task.command
        body["env"] = task.env
    return body


def serialize(dag: DAG) -> dict[str, Any]:
    return {
        "dag_id": dag.dag_id,
        "description": dag.description,
        "doc_md": dag.doc_md,
        "owners": dag.owners,
        "tags": dag.tags,
        "schedule": dag.schedule.wire() if dag.schedule else None,
        "timetable_description": (datasets.DESCRIPTION if dag.dataset_condition is not None
                                  else dag.schedule.description() if dag.schedule else None),
        "dataset_expression": (dag.dataset_condition.expression()
                               if dag.dataset_condition is not None else None),
        "start_date": _iso(dag.start_date),
        "end_date": _iso(dag.end_date),
        "catchup": dag.catchup,
        "max_active_runs": dag.max_active_runs,
        "max_active_tasks": dag.max_active_tasks,
        "dagrun_timeout": _seconds(dag.dagrun_timeout),
        "is_paused_upon_creation": dag.is_paused_upon_creation,
        "params": {name: param.serialize() for name, param in dag.params.items()},
        "fileloc": dag.fileloc,
        "tasks": [serialize_task(task) for _, task in sorted(dag.tasks.items())],
    }


def dumps(data: dict[str, Any]) -> str:
    """Canonical JSON text (sorted keys), so equal DAGs give equal text and hashes."""
    return json.dumps(data, sort_keys=True, default=str)


def dag_hash(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()
