"""The DAG's two task-instance forms: clearing task instances and setting their state in bulk.

Both select the same way: instances of some tasks (widened up- and downstream along the DAG's
graph; the clear form can also name single mapped instances) in the runs whose logical dates lie
between two bounds (`include_past` drops the lower one, `include_future` the upper one), read in
one query with their runs' logical dates. Both answer the instances they change, and with
`dry_run` (the default) change nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Row, and_, or_, select, tuple_
from sqlalchemy.orm import Session

from windsock.api import filters, lookups, resources
from windsock.api.problems import BadRequest, Unprocessable
from windsock.api.representations import task_instance_reference
from windsock.db.engine import session
from windsock.db.models import ID_LENGTH, DagRun, TaskInstance
from windsock.runs import clearing, graph, marking
from windsock.runs.states import FAILED_TI_STATES

MAX_MAP_INDEX = 2**31 - 1  # the contract's maximum of a map index


def _known(dag_id: str, serialized: Mapping[str, Any],
           task_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The DAG's tasks by id; 422 naming those of `task_ids` it does not have."""
    tasks = graph.tasks_by_id(serialized)
    unknown = sorted(set(task_ids) - set(tasks))
    if unknown:
        raise Unprocessable(f"DAG {dag_id!r} has no task {', '.join(map(repr, unknown))}.")
    return tasks


def _relatives(tasks: Mapping[str, Mapping[str, Any]], roots: Iterable[str],
               form: Mapping[str, Any]) -> set[str]:
    """`roots` and the tasks up- and/or downstream of them that the form asks for."""
    return graph.relatives(tasks, roots, upstream=form.get("include_upstream", False),
                           downstream=form.get("include_downstream", False))


def _tasks(dag_id: str, serialized: Mapping[str, Any], task_ids: Sequence[str],
           form: Mapping[str, Any]) -> set[str]:
    return _relatives(_known(dag_id, serialized, task_ids), task_ids, form)


def _named(task_ids: Sequence[str | list]) -> tuple[set[str], set[tuple[str, int]]]:
    """The tasks that the clear form's `task_ids` name whole, and its `[task_id, map_index]`
    pairs; an item that is neither is 400 (the contract can say which item of a pair is which
    only in words)."""
    whole: set[str] = set()
    pairs: set[tuple[str, int]] = set()
    for position, item in enumerate(task_ids):
        if isinstance(item, str):
            whole.add(item)
        elif (isinstance(item[0], str) and 0 < len(item[0]) <= ID_LENGTH
              and type(item[1]) is int and 0 <= item[1] <= MAX_MAP_INDEX):
            pairs.add((item[0], item[1]))
        else:
            raise BadRequest(f"'task_ids[{position}]' is not a [task_id, map_index] pair: a task "
                             f"id (1 to {ID_LENGTH} characters), then a map index (0 to "
                             f"{MAX_MAP_INDEX}); got {json.dumps(item)}.")
    return whole, pairs


def _clear_selection(dag_id: str, serialized: Mapping[str, Any], task_ids: Sequence[str | list],
                     form: Mapping[str, Any]) -> ColumnElement:
    """The task instances that the clear form's `task_ids` select: every instance of a task
    named by its id, the one instance of a `[task_id, map_index]` pair, and every instance of
    the tasks up- or downstream of any of them that the form asks for."""
    whole, pairs = _named(task_ids)
    roots = whole | {task_id for task_id, _ in pairs}
    tasks = _known(dag_id, serialized, roots)
    for root in roots:
        whole |= _relatives(tasks, [root], form) - {root}
    return or_(TaskInstance.task_id.in_(whole),
               tuple_(TaskInstance.task_id, TaskInstance.map_index).in_(sorted(pairs)))


def _run(sess: Session, dag_id: str, run_id: str) -> DagRun:
    run = lookups.find_run(sess, dag_id, run_id)
    if run is None:
        raise Unprocessable(f"DAG {dag_id!r} has no run {run_id!r}.")
    return run


def _dates(lower: datetime | None, upper: datetime | None, form: Mapping[str, Any]) -> list:
    """Conditions on the run's logical date, widened by `include_past` / `include_future`."""
    return filters.where(
        None if lower is None or form.get("include_past") else DagRun.logical_date >= lower,
        None if upper is None or form.get("include_future") else DagRun.logical_date <= upper)


def _instances(sess: Session, dag_id: str, conditions: list) -> Sequence[Row]:
    """(TaskInstance, logical_date) rows of the DAG that meet `conditions`, oldest run first."""
    return sess.execute(
        select(TaskInstance, DagRun.logical_date)
        .join(DagRun, and_(DagRun.dag_id == TaskInstance.dag_id,
                           DagRun.run_id == TaskInstance.run_id))
        .where(TaskInstance.dag_id == dag_id, *conditions)
        .order_by(DagRun.logical_date, TaskInstance.task_id, TaskInstance.map_index)).all()


def _answer(rows: Sequence[Row]):
    return resources.ok({"task_instances": [task_instance_reference(ti, logical_date)
                                            for ti, logical_date in rows]})


def _clear_states(form: Mapping[str, Any]) -> frozenset[str] | None:
    """The states to clear; the contract forbids `only_failed` with `only_running`."""
    only_failed, only_running = form.get("only_failed", True), form.get("only_running", False)
    return FAILED_TI_STATES if only_failed else frozenset({"running"}) if only_running else None


def post_clear_task_instances(dag_id: str, body: dict):
    states = _clear_states(body)
    start = filters.parse_datetime("start_date", body.get("start_date"))
    end = filters.parse_datetime("end_date", body.get("end_date"))
    run_id = body.get("dag_run_id")  # the contract forbids it with start_date or end_date
    if start and end and start > end:
        raise Unprocessable(f"'start_date' ({start.isoformat()}) is later than 'end_date' "
                            f"({end.isoformat()}).")
    with session() as sess:
        _, serialized = lookups.serialized_dag(sess, dag_id)
        task_ids = body.get("task_ids")
        selection = None if task_ids is None else _clear_selection(dag_id, serialized,
                                                                   task_ids, body)
        if run_id is not None:
            start = end = _run(sess, dag_id, run_id).logical_date
        rows = _instances(sess, dag_id, filters.where(
            selection, filters.any_of(TaskInstance.state, states), *_dates(start, end, body)))
        if not body.get("dry_run", True):
            clearing.clear(sess, [row.TaskInstance for row in rows],
                           clearing.retries_of(serialized),
                           requeue_runs=body.get("reset_dag_runs", True))
        return _answer(rows)


def post_set_task_instances_state(dag_id: str, body: dict):
    run_id = body.get("dag_run_id")  # the contract wants exactly one of the two
    logical_date = filters.parse_datetime("execution_date", body.get("execution_date"))
    new_state = body["new_state"]
    with session() as sess:
        _, serialized = lookups.serialized_dag(sess, dag_id)
        tasks = _tasks(dag_id, serialized, [body["task_id"]], body)
        if run_id is not None:
            logical_date = _run(sess, dag_id, run_id).logical_date
        elif sess.scalar(select(DagRun.id).where(DagRun.dag_id == dag_id,
                                                 DagRun.logical_date == logical_date)) is None:
            raise Unprocessable(f"DAG {dag_id!r} has no run with the logical date "
                                f"{logical_date.isoformat()}.")
        rows = _instances(sess, dag_id, [
            TaskInstance.task_id.in_(tasks), TaskInstance.state.is_distinct_from(new_state),
            *_dates(logical_date, logical_date, body)])
        if not body.get("dry_run", True):
            marking.set_task_states([row.TaskInstance for row in rows], new_state)
        return _answer(rows)
