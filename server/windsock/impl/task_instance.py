"""Task instance operations: listing, reading, marking and noting task instances, their tries,
what holds them back, and their logs."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import exists, select, union_all
from sqlalchemy.orm import Session

from windsock import config, links, logs
from windsock.api import filters, lookups, paging, resources
from windsock.api.problems import BadRequest, NotFound
from windsock.api.representations import task_instance, task_instance_reference
from windsock.db.engine import session
from windsock.db.models import TI_KEY, DagRun, TaskInstance, TaskInstanceTry
from windsock.runs import dependencies, graph, marking
from windsock.runs.clearing import TRY_COLUMNS
from windsock.security.authorization import dag_filter

ORDER_COLUMNS = {
    "task_id": TaskInstance.task_id, "dag_id": TaskInstance.dag_id,
    "dag_run_id": TaskInstance.run_id, "start_date": TaskInstance.start_date,
    "end_date": TaskInstance.end_date, "duration": TaskInstance.duration,
    "state": TaskInstance.state, "pool": TaskInstance.pool, "queue": TaskInstance.queue,
    "priority_weight": TaskInstance.priority_weight, "try_number": TaskInstance.try_number,
    "updated_at": TaskInstance.updated_at, "map_index": TaskInstance.map_index,
}
PRIMARY_KEY = (TaskInstance.dag_id, TaskInstance.run_id, TaskInstance.task_id,
               TaskInstance.map_index)
RANGES = {"execution_date": DagRun.logical_date, "start_date": TaskInstance.start_date,
          "end_date": TaskInstance.end_date, "updated_at": TaskInstance.updated_at,
          "duration": TaskInstance.duration}
TRY_ORDER_FIELDS = ("try_number", "start_date", "end_date", "duration", "state")
LOG_FORMATS = ("application/json", "text/plain")


# Lists


def _page(sess, conditions: list, *, order_by: str, limit: int | None, offset: int,
          cursor: str | None, form: dict | None = None):
    """One page of the task instances that meet `conditions`, of the DAGs the caller may read,
    each with its run's logical date."""
    stmt = (select(TaskInstance, DagRun.logical_date).join(DagRun)
            .where(dag_filter(TaskInstance.dag_id), *conditions))
    return paging.collection(
        sess, stmt, key="task_instances", serialize=lambda row: task_instance(*row),
        order_by=order_by, columns=ORDER_COLUMNS, primary_key=PRIMARY_KEY, limit=limit,
        offset=offset, links=form is None, cursor=cursor, form=form)


def _filters(values: Mapping[str, Any]) -> list:
    """The conditions of the filters both list forms share (ranges, states, pools, ...)."""
    return filters.where(
        *filters.ranges(RANGES, values),
        filters.any_of(TaskInstance.state, values.get("state"), none_value="none"),
        filters.any_of(TaskInstance.pool, values.get("pool")),
        filters.any_of(TaskInstance.queue, values.get("queue")),
        filters.any_of(TaskInstance.executor, values.get("executor")))


def get_task_instances(dag_id: str, dag_run_id: str, limit: int, offset: int, order_by: str,
                       cursor: str | None = None, **query: Any):
    conditions = filters.where(filters.equals(TaskInstance.dag_id, dag_id),
                               filters.equals(TaskInstance.run_id, dag_run_id),
                               *_filters(query))
    with session() as sess:
        lookups.check_scope(sess, dag_id, dag_run_id)
        return _page(sess, conditions, order_by=order_by, limit=limit, offset=offset,
                     cursor=cursor)


def _check_mapped(sess: Session, dag_id: str, run_id: str, task_id: str) -> None:
    """404 unless the task is mapped in the run: it has mapped instances there, or (before its
    expansion, or after one into nothing) its DAG says that it is. As in Airflow, a task with
    mapped instances counts as mapped even when its DAG has changed since."""
    if sess.scalar(select(lookups.has_mapped_instances(dag_id, run_id, task_id))):
        return
    lookups.check_scope(sess, dag_id, run_id)
    _, serialized = lookups.serialized_dag(sess, dag_id)
    task = graph.tasks_by_id(serialized).get(task_id)
    if task is None:
        raise NotFound(f"DAG {dag_id!r} has no task {task_id!r}.")
    if "expand" not in task:
        raise NotFound(f"Task {task_id!r} of DAG {dag_id!r} is not mapped; its one instance is "
                       f"at .../taskInstances/{task_id}.")


def get_mapped_task_instances(dag_id: str, dag_run_id: str, task_id: str, limit: int,
                              offset: int, order_by: str, cursor: str | None = None,
                              **query: Any):
    conditions = [TaskInstance.dag_id == dag_id, TaskInstance.run_id == dag_run_id,
                  TaskInstance.task_id == task_id, TaskInstance.map_index >= 0,
                  *_filters(query)]
    with session() as sess:
        _check_mapped(sess, dag_id, dag_run_id, task_id)
        return _page(sess, conditions, order_by=order_by, limit=limit, offset=offset,
                     cursor=cursor)


def get_task_instances_batch(body: dict):
    conditions = filters.where(filters.any_of(TaskInstance.dag_id, body.get("dag_ids")),
                               filters.any_of(TaskInstance.run_id, body.get("dag_run_ids")),
                               filters.any_of(TaskInstance.task_id, body.get("task_ids")),
                               *_filters(body))
    with session() as sess:
        return _page(sess, conditions, order_by=body.get("order_by", "dag_id"),
                     limit=body.get("page_limit"), offset=body.get("page_offset", 0),
                     cursor=body.get("cursor"), form=body)


# One task instance: each operation serves the task instance of a task that is not mapped (map
# index -1) and, as its mapped variant (get_mapped_task_instance, ...), the one with the map index
# in the path.


def get_task_instance(dag_id: str, dag_run_id: str, task_id: str, map_index: int = -1):
    with session() as sess:
        return resources.single(task_instance(
            *lookups.task_instance(sess, dag_id, dag_run_id, task_id, map_index)))


def patch_task_instance(dag_id: str, dag_run_id: str, task_id: str, body: dict,
                        map_index: int = -1):
    with session() as sess:
        ti, logical_date = lookups.task_instance(sess, dag_id, dag_run_id, task_id, map_index)
        resources.check_if_match(task_instance(ti, logical_date))
        if not body.get("dry_run", False):
            marking.set_task_states([ti], body["new_state"])
        return resources.ok(task_instance_reference(ti, logical_date))


def set_task_instance_note(dag_id: str, dag_run_id: str, task_id: str, body: dict,
                           map_index: int = -1):
    with session() as sess:
        ti, logical_date = lookups.task_instance(sess, dag_id, dag_run_id, task_id, map_index)
        resources.check_if_match(task_instance(ti, logical_date))
        ti.note = body["note"]
        return resources.updated(task_instance(ti, logical_date))


def get_task_instance_dependencies(dag_id: str, dag_run_id: str, task_id: str,
                                   map_index: int = -1):
    with session() as sess:
        ti, _ = lookups.task_instance(sess, dag_id, dag_run_id, task_id, map_index)
        dag, serialized = lookups.serialized_dag(sess, dag_id)
        run = lookups.dag_run(sess, dag_id, dag_run_id)
        task = graph.tasks_by_id(serialized).get(task_id)
        unmet = dependencies.unmet(sess, ti, run, dag, task, datetime.now(timezone.utc))
        return resources.ok({"dependencies": unmet})


def get_extra_links(dag_id: str, dag_run_id: str, task_id: str):
    with session() as sess:
        ti, logical_date = lookups.task_instance(sess, dag_id, dag_run_id, task_id)
        _, serialized = lookups.serialized_dag(sess, dag_id)
        task = graph.tasks_by_id(serialized).get(task_id) or {}
        ti_context = links.context(ti.dag_id, ti.run_id, ti.task_id, ti.map_index,
                                   logical_date, ti.try_number)
    return resources.ok(links.task_instance_links(task.get("links"), ti_context))


# Tries


def _no_try(ti: TaskInstance, try_number: int) -> NotFound:
    mapped = "" if ti.map_index == -1 else f" (map index {ti.map_index})"
    return NotFound(f"Task instance {ti.task_id!r}{mapped} of run {ti.run_id!r} of DAG "
                    f"{ti.dag_id!r} has no try {try_number}; it is on try {ti.try_number}.")


def _tries(ti: TaskInstance):
    """Every try of `ti` as rows of TRY_COLUMNS: the kept earlier ones and, unless it is kept
    already (a cleared instance keeps its last try until the next one starts), the current."""
    key = [getattr(TaskInstanceTry, c) == getattr(ti, c) for c in TI_KEY]
    kept = select(*(getattr(TaskInstanceTry, c) for c in TRY_COLUMNS)).where(*key)
    current = select(*(getattr(TaskInstance, c) for c in TRY_COLUMNS)).where(
        *(getattr(TaskInstance, c) == getattr(ti, c) for c in TI_KEY),
        TaskInstance.try_number >= 1,
        ~exists().where(*key, TaskInstanceTry.try_number == TaskInstance.try_number))
    return union_all(kept, current).subquery("tries")


def get_task_instance_tries(dag_id: str, dag_run_id: str, task_id: str, limit: int,
                            offset: int, order_by: str, map_index: int = -1):
    with session() as sess:
        ti, logical_date = lookups.task_instance(sess, dag_id, dag_run_id, task_id, map_index)
        tries = _tries(ti)
        return paging.collection(
            sess, select(tries), key="task_instances",
            serialize=lambda row: task_instance(row, logical_date), order_by=order_by,
            columns={name: tries.c[name] for name in TRY_ORDER_FIELDS},
            primary_key=tries.c.try_number, limit=limit, offset=offset)


def get_task_instance_try_details(dag_id: str, dag_run_id: str, task_id: str,
                                  task_try_number: int, map_index: int = -1):
    with session() as sess:
        ti, logical_date = lookups.task_instance(sess, dag_id, dag_run_id, task_id, map_index)
        tries = _tries(ti)
        row = sess.execute(select(tries).where(tries.c.try_number == task_try_number)).first()
        if row is None:
            raise _no_try(ti, task_try_number)
        return resources.single(task_instance(row, logical_date))


get_mapped_task_instance = get_task_instance
patch_mapped_task_instance = patch_task_instance
set_mapped_task_instance_note = set_task_instance_note
get_mapped_task_instance_dependencies = get_task_instance_dependencies
get_mapped_task_instance_tries = get_task_instance_tries
get_mapped_task_instance_try_details = get_task_instance_try_details


# Logs


def _offset(key: logs.TryKey, token: str | None) -> int:
    """Where to start reading: the offset in `token`, or the beginning without one."""
    if token is None:
        return 0
    try:
        return logs.decode_token(key, token)
    except ValueError:
        raise BadRequest("'token' is not a continuation token issued for this try of this "
                         "task instance's log.") from None


def get_log(dag_id: str, dag_run_id: str, task_id: str, task_try_number: int,
            full_content: bool | None = None, map_index: int | None = None,
            token: str | None = None):
    media_type = resources.negotiate(LOG_FORMATS, "A task log")
    with session() as sess:
        ti, _ = lookups.task_instance(sess, dag_id, dag_run_id, task_id, map_index)
    if task_try_number > ti.try_number:
        raise _no_try(ti, task_try_number)
    key = (dag_id, dag_run_id, task_id, ti.map_index, task_try_number)
    path = logs.locate(ti, task_try_number)
    try:
        if full_content:
            text, end = logs.read(path, 0, None)
        else:
            text, end = logs.read(path, _offset(key, token),
                                  config.get_int("api", "log_page_bytes"))
    except ValueError:
        raise BadRequest("'token' points past the end of this log; start again without "
                         "it.") from None
    next_token = logs.encode_token(key, end)
    if media_type == "text/plain":
        return text, 200, {"Content-Type": "text/plain", "Continuation-Token": next_token}
    return resources.ok({"content": text, "continuation_token": next_token})
