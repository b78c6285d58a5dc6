"""Finding a DAG, its serialized form, its runs and task instances by the ids in a request, or
answering 404."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from sqlalchemy import exists, select
from sqlalchemy.orm import Session

from windsock.api import resources
from windsock.api.filters import WILDCARD, equals, where
from windsock.api.problems import NotFound
from windsock.db.engine import locked
from windsock.db.models import Dag, DagRun, SerializedDag, TaskInstance
from windsock.security.authorization import dag_filter


def dag(sess: Session, dag_id: str) -> Dag:
    return resources.get_or_404(sess, Dag.dag_id, dag_id, "DAG")


def serialized_dag(sess: Session, dag_id: str) -> tuple[Dag, dict[str, Any]]:
    """The DAG and its serialized form (see windsock.dags.serialization), in one query."""
    row = sess.execute(select(Dag, SerializedDag.data).outerjoin(SerializedDag)
                       .where(Dag.dag_id == dag_id)).first()
    if row is None:
        raise NotFound(f"DAG {dag_id!r} does not exist.")
    if row.data is None:
        raise NotFound(f"DAG {dag_id!r} has not been parsed yet; its tasks are unknown.")
    return row.Dag, json.loads(row.data)


def find_run(sess: Session, dag_id: str, run_id: str) -> DagRun | None:
    """The run, or None; in a request transaction its row stays locked until the transaction
    ends, so that concurrent changes of one run happen one after the other."""
    return sess.scalar(locked(select(DagRun).where(DagRun.dag_id == dag_id,
                                                   DagRun.run_id == run_id)))


def dag_run(sess: Session, dag_id: str, run_id: str) -> DagRun:
    run = find_run(sess, dag_id, run_id)
    if run is None:
        raise NotFound(f"DAG {dag_id!r} has no run {run_id!r}.")
    return run


def has_mapped_instances(dag_id: str, run_id: str, task_id: str):
    """The condition that the task has mapped instances (map index 0 or more) in the run, of a
    DAG the caller may read."""
    return exists().where(TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id,
                          TaskInstance.task_id == task_id, TaskInstance.map_index >= 0,
                          dag_filter(TaskInstance.dag_id))


def task_instance(sess: Session, dag_id: str, run_id: str, task_id: str,
                  map_index: int | None = None) -> tuple[TaskInstance, datetime]:
    """The task instance (map index -1 unless another is given) and its run's logical date, in
    one query; 404 naming what is missing, and where a mapped task's instances are when the
    instance -1 of one is asked for."""
    map_index = -1 if map_index is None else map_index
    row = sess.execute(locked(select(TaskInstance, DagRun.logical_date).join(DagRun).where(
        TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id,
        TaskInstance.task_id == task_id, TaskInstance.map_index == map_index),
        TaskInstance)).first()
    if row is None:
        dag(sess, dag_id)
        dag_run(sess, dag_id, run_id)
        if map_index == -1 and sess.scalar(select(has_mapped_instances(dag_id, run_id, task_id))):
            raise NotFound(f"Task {task_id!r} is mapped in run {run_id!r} of DAG {dag_id!r}: "
                           f"name one of its instances by map index (.../taskInstances/"
                           f"{task_id}/{{map_index}}), or list them (.../taskInstances/"
                           f"{task_id}/listMapped).")
        mapped = "" if map_index == -1 else f" with map index {map_index}"
        raise NotFound(f"Run {run_id!r} of DAG {dag_id!r} has no task instance of task "
                       f"{task_id!r}{mapped}.")
    return row.TaskInstance, row.logical_date


def _scope(dag_id: str, run_id: str) -> str:
    if run_id == WILDCARD:
        return "any DAG" if dag_id == WILDCARD else f"DAG {dag_id!r}"
    return f"run {run_id!r}" + ("" if dag_id == WILDCARD else f" of DAG {dag_id!r}")


def check_scope(sess: Session, dag_id: str, run_id: str, task_id: str = WILDCARD) -> None:
    """404 unless the DAG, run and task that a list route names (rather than `~`) exist, checked
    in one query. Under a `~` DAG a named run may be any DAG's the caller may read; a named task
    exists when it has a task instance in the named DAG and run, of a DAG the caller may read."""
    checks = {}  # what to say when it is missing -> the condition that it exists
    if dag_id != WILDCARD:
        checks[f"DAG {dag_id!r} does not exist."] = exists().where(Dag.dag_id == dag_id)
    if run_id != WILDCARD:
        owner = f"DAG {dag_id!r} has no" if dag_id != WILDCARD else "No DAG has a"
        checks[f"{owner} run {run_id!r}."] = exists().where(
            *where(equals(DagRun.dag_id, dag_id), DagRun.run_id == run_id,
                   dag_filter(DagRun.dag_id)))
    if task_id != WILDCARD:
        checks[f"Task {task_id!r} has no task instance in {_scope(dag_id, run_id)}."] = (
            exists().where(*where(equals(TaskInstance.dag_id, dag_id),
                                  equals(TaskInstance.run_id, run_id),
                                  TaskInstance.task_id == task_id,
                                  dag_filter(TaskInstance.dag_id))))
    if checks:
        found = sess.execute(select(*checks.values())).one()
        missing = next((message for message, present in zip(checks, found) if not present), None)
        if missing:
            raise NotFound(missing)
