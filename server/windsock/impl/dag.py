"""DAG operations: DAGs as the DAG processor stored them, their details, tasks and source files,
pausing, parse requests, and deleting what the database holds about a DAG.

Everything comes from the database (the `dag` row and the serialized structure); the API never
imports DAG files.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, exists, func, select, update
from sqlalchemy.orm import selectinload

from windsock import links
from windsock.api import filters, paging, resources, visibility
from windsock.api.problems import Conflict, Forbidden, NotFound
from windsock.api.representations import iso, only_fields
from windsock.dags import processor
from windsock.db.engine import session
from windsock.db.models import Dag, DagCode, DagTag, SerializedDag, TaskInstance
from windsock.impl.task_instance_forms import (  # noqa: F401
    post_clear_task_instances, post_set_task_instances_state)
from windsock.runs.states import ACTIVE_TI_STATES
from windsock.security import authorization
from windsock.security.model import EDIT, READ

ORDER_COLUMNS = {"dag_id": Dag.dag_id, "dag_display_name": Dag.dag_id,
                 "is_paused": Dag.is_paused, "last_parsed_time": Dag.last_parsed_time,
                 "next_dagrun": Dag.next_dagrun}
TASK_ORDER_FIELDS = frozenset({  # the task fields that hold one value each
    "task_id", "task_display_name", "owner", "pool", "priority_weight", "retries", "start_date",
    "end_date", "trigger_rule", "depends_on_past", "is_mapped", "wait_for_downstream", "queue",
    "pool_slots", "execution_timeout", "retry_delay", "retry_exponential_backoff",
    "weight_rule", "ui_color", "ui_fgcolor", "doc_md"})
SOURCE_FORMATS = ("application/json", "text/plain")
UI_COLORS = {"ShellTask": "#f0ede4"}  # Python and branch tasks keep the default
DEFAULT_UI_COLOR = "#ffefeb"


def _time_delta(seconds: float | None) -> dict[str, Any] | None:
    if seconds is None:
        return None
    delta = timedelta(seconds=seconds)
    return {"__type": "TimeDelta", "days": delta.days, "seconds": delta.seconds,
            "microseconds": delta.microseconds}


def _dag(dag: Dag) -> dict[str, Any]:
    return {
        "dag_id": dag.dag_id,
        "dag_display_name": dag.dag_id,
        "root_dag_id": None,
        "is_paused": dag.is_paused,
        "is_active": dag.is_active,
        "is_subdag": False,
        "last_parsed_time": iso(dag.last_parsed_time),
        "default_view": "grid",
        "fileloc": dag.fileloc,
        "file_token": dag.file_token,
        "owners": [owner for owner in dag.owners.split(",") if owner],
        "description": dag.description,
        "schedule_interval": json.loads(dag.schedule) if dag.schedule else None,
        "timetable_description": dag.timetable_description,
        "tags": [{"name": tag.name} for tag in dag.tags],
        "max_active_tasks": dag.max_active_tasks,
        "max_active_runs": dag.max_active_runs,
        "has_task_concurrency_limits": dag.has_task_concurrency_limits,
        "has_import_errors": dag.has_import_errors,
        "next_dagrun": iso(dag.next_dagrun),
        "next_dagrun_data_interval_start": iso(dag.next_dagrun_data_interval_start),
        "next_dagrun_data_interval_end": iso(dag.next_dagrun_data_interval_end),
        "next_dagrun_create_after": iso(dag.next_dagrun_create_after),
    }


def _param(spec: dict[str, Any]) -> dict[str, Any]:
    """A param on the wire; `value` (its default) is left out when the param has none."""
    body = {"description": spec["description"], "schema": spec["schema"]}
    if "default" in spec:
        body["value"] = spec["default"]
    return body


def _details(dag: Dag, serialized: SerializedDag) -> dict[str, Any]:
    data = json.loads(serialized.data)
    return {
        **_dag(dag),
        "catchup": data["catchup"],
        "start_date": data["start_date"],
        "end_date": data["end_date"],
        "doc_md": data["doc_md"],
        "dataset_expression": data.get("dataset_expression"),
        "params": {name: _param(spec) for name, spec in data["params"].items()},
        "timezone": "UTC",
        "dag_run_timeout": _time_delta(data["dagrun_timeout"]),
        "last_parsed": iso(serialized.last_updated),
        "is_paused_upon_creation": data["is_paused_upon_creation"],
        "concurrency": dag.max_active_tasks,
        "orientation": "LR",
        "template_search_path": None,
        "render_template_as_native_obj": False,
    }


def _task(task: dict[str, Any], data: dict[str, Any]) -> dict[str, Any]:
    """A task of the serialized DAG `data`. Tasks take their dates from their DAG: none sets a
    start date of its own, and the DAG's end date is theirs."""
    return {
        "class_ref": {"class_name": task["class_name"], "module_path": task["module_path"]},
        "task_id": task["task_id"],
        "task_display_name": task["task_id"],
        "owner": task["owner"],
        "start_date": None,
        "end_date": data["end_date"],
        "trigger_rule": task["trigger_rule"],
        "extra_links": [{"class_ref": {"class_name": name, "module_path": links.MODULE}}
                        for name in sorted(task.get("links", {}))],
        "depends_on_past": False,
        "is_mapped": "expand" in task,
        "wait_for_downstream": False,
        "retries": task["retries"],
        "queue": task["queue"],
        "pool": task["pool"],
        "pool_slots": task["pool_slots"],
        "execution_timeout": _time_delta(task["execution_timeout"]),
        "retry_delay": _time_delta(task["retry_delay"]),
        "retry_exponential_backoff": False,
        "priority_weight": task["priority_weight"],
        "weight_rule": "downstream",
        "ui_color": UI_COLORS.get(task["class_name"], DEFAULT_UI_COLOR),
        "ui_fgcolor": "#000",
        "template_fields": [],
        "downstream_task_ids": task["downstream_task_ids"],
        "doc_md": task["doc_md"],
    }


def _find(sess, dag_id: str) -> Dag:
    return resources.get_or_404(sess, Dag.dag_id, dag_id, "DAG")


def _parsed(sess, dag_id: str) -> tuple[Dag, SerializedDag]:
    """The DAG and its serialized structure; 404 when either is missing."""
    dag = _find(sess, dag_id)
    serialized = sess.get(SerializedDag, dag_id)
    if serialized is None:
        raise NotFound(f"DAG {dag_id!r} has no parsed structure yet; the DAG processor writes "
                       "it when it parses the DAG's file.")
    return dag, serialized


def _selected(tags: Sequence[str] | None, only_active: bool, paused: bool | None,
              dag_id_pattern: str | None, action: str = READ):
    """The DAGs that pass the list filters and that the caller may `action`, with their tags
    loaded along."""
    contains = None
    if dag_id_pattern not in (None, filters.WILDCARD):
        contains = Dag.dag_id.icontains(dag_id_pattern, autoescape=True)
    return (select(Dag).options(selectinload(Dag.tags))
            .where(authorization.dag_filter(Dag.dag_id, action), *filters.where(
                Dag.tags.any(DagTag.name.in_(tags)) if tags else None,
                Dag.is_active if only_active else None,
                filters.equals(Dag.is_paused, paused),
                contains)))


def get_dags(limit: int, offset: int, order_by: str, only_active: bool,
             tags: list[str] | None = None, paused: bool | None = None,
             fields: list[str] | None = None, dag_id_pattern: str | None = None):
    with session() as sess:
        return paging.collection(
            sess, _selected(tags, only_active, paused, dag_id_pattern), key="dags",
            serialize=lambda dag: only_fields(_dag(dag), fields, ("dag_id",)),
            order_by=order_by, columns=ORDER_COLUMNS, primary_key=Dag.dag_id,
            limit=limit, offset=offset)


def patch_dags(dag_id_pattern: str, body: dict, limit: int, offset: int, only_active: bool,
               tags: list[str] | None = None, update_mask: list[str] | None = None):
    changes = resources.changes(body, update_mask)
    with session() as sess:
        response = paging.collection(
            sess, _selected(tags, only_active, None, dag_id_pattern, EDIT), key="dags",
            serialize=lambda dag: dag, order_by="dag_id", columns=ORDER_COLUMNS,
            primary_key=Dag.dag_id, limit=limit, offset=offset, links=False)
        dags = response[0]["dags"]
        # One UPDATE for the page; the session's DAG objects take the new values too.
        sess.execute(update(Dag).where(Dag.dag_id.in_([dag.dag_id for dag in dags]))
                     .values(**changes))
        response[0]["dags"] = [_dag(dag) for dag in dags]
        return response


def get_dag(dag_id: str, fields: list[str] | None = None):
    with session() as sess:
        return resources.single(only_fields(_dag(_find(sess, dag_id)), fields, ("dag_id",)))


def patch_dag(dag_id: str, body: dict, update_mask: list[str] | None = None):
    with session() as sess:
        dag = _find(sess, dag_id)
        resources.check_if_match(_dag(dag))
        for field, value in resources.changes(body, update_mask).items():
            setattr(dag, field, value)
        return resources.updated(_dag(dag))


def delete_dag(dag_id: str):
    with session() as sess:
        dag = _find(sess, dag_id)
        resources.check_if_match(_dag(dag))
        active = sess.scalar(select(func.count()).select_from(TaskInstance).where(
            TaskInstance.dag_id == dag_id, TaskInstance.state.in_(ACTIVE_TI_STATES)))
        if active:
            raise Conflict(f"DAG {dag_id!r} cannot be deleted while its task instances are "
                           f"queued or running ({active} now); wait for them to finish or mark "
                           "them failed.")
        # Runs, task instances, XComs, tags, structure and warnings go by ON DELETE CASCADE.
        sess.delete(dag)
        sess.flush()
        sess.execute(delete(DagCode).where(DagCode.file_token == dag.file_token,
                                           ~exists().where(Dag.file_token == dag.file_token)))
        return resources.deleted()


def get_dag_details(dag_id: str, fields: list[str] | None = None):
    with session() as sess:
        details = _details(*_parsed(sess, dag_id))
        return resources.single(only_fields(details, fields, ("dag_id",)))


def _tasks(sess, dag_id: str) -> list[dict[str, Any]]:
    data = json.loads(_parsed(sess, dag_id)[1].data)
    return [_task(task, data) for task in data["tasks"]]


def _task_order(field: str) -> Callable[[dict[str, Any]], tuple]:
    """The sort key of tasks by `field`: a missing value after every other (before, reversed),
    a duration by its length."""
    def key(task: dict[str, Any]) -> tuple:
        value = task[field]
        if isinstance(value, dict):  # a TimeDelta
            value = (value["days"], value["seconds"], value["microseconds"])
        return (value is None, 0 if value is None else value)
    return key


def get_tasks(dag_id: str, order_by: str):
    keys = paging.order_keys(order_by, TASK_ORDER_FIELDS)
    with session() as sess:
        tasks = _tasks(sess, dag_id)
    # Stable sorts, the last first: ties by task_id in the last field's direction, then each
    # field keeps the order of the later ones within its ties.
    tasks.sort(key=lambda task: task["task_id"], reverse=keys[-1][1])
    for field, descending in reversed(keys):
        tasks.sort(key=_task_order(field), reverse=descending)
    return resources.ok({"tasks": tasks, "total_entries": len(tasks)})


def get_task(dag_id: str, task_id: str):
    with session() as sess:
        tasks = _tasks(sess, dag_id)
    task = next((task for task in tasks if task["task_id"] == task_id), None)
    if task is None:
        raise NotFound(f"DAG {dag_id!r} has no task {task_id!r}.")
    return resources.single(task)


def _dag_file(sess, file_token: str, action: str) -> DagCode:
    """The DAG file, if the caller may read every DAG it defines (404 otherwise: it is not in
    their view), and 403 unless they may also `action` each of them."""
    same_file = Dag.file_token == DagCode.file_token
    row = sess.execute(
        select(DagCode, visibility.every_dag_of_file(same_file, action).label("allowed"))
        .where(DagCode.file_token == file_token, visibility.every_dag_of_file(same_file))).first()
    if row is None:
        raise NotFound(f"DAG file {file_token!r} does not exist.")
    if not row.allowed:
        raise Forbidden(f"User {authorization.current().username!r} lacks the permission "
                        f"{action} on some of the DAGs that DAG file {file_token!r} defines.")
    return row.DagCode


def dag_file_source(file_token: str) -> str:
    """The text of the DAG file, for a caller who may read every DAG it defines."""
    with session() as sess:
        return _dag_file(sess, file_token, READ).source_code


def get_dag_source(file_token: str):
    media_type = resources.negotiate(SOURCE_FORMATS, "A DAG file's source")
    source = dag_file_source(file_token)
    if media_type == "text/plain":
        return source, 200, {"Content-Type": "text/plain"}
    return resources.ok({"content": source})


def reparse_dag_file(file_token: str):
    with session() as sess:
        _dag_file(sess, file_token, EDIT)
        processor.request_parse(sess, file_token)
    return resources.empty(201)
