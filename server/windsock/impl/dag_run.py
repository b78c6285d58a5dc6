"""DAG run operations: listing, triggering, reading, waiting for, marking, clearing, noting and
deleting runs.

A triggered run's `conf` is stored as the DAG's params resolve it: the given keys, checked
against the params' schemas, filled up with the defaults of the params not given; keys that
name no param are kept. The stored conf is what the tasks will see.

A run triggered without a logical date takes the current instant. Logical dates are unique per
DAG, so when another trigger of the DAG took the same microsecond, the run takes the next free
one rather than failing the client with a conflict it did not cause.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from windsock.api import filters, lookups, paging, resources, wait_stream
from windsock.api.guard import authorize
from windsock.api.problems import (BadRequest, Conflict, DagHasImportErrors, NotFound,
                                   Unprocessable)
from windsock.api.representations import dag_run, only_fields, task_instance
from windsock.dags import params
from windsock.db.engine import session, snapshot
from windsock.db.models import DagRun, TaskInstance
from windsock.runs import clearing, graph, marking, trigger
from windsock.security import authorization
from windsock.security.authorization import dag_filter
from windsock.security.model import READ

ORDER_COLUMNS = {
    "id": DagRun.id, "state": DagRun.state, "dag_id": DagRun.dag_id,
    "execution_date": DagRun.logical_date, "dag_run_id": DagRun.run_id,
    "start_date": DagRun.start_date, "end_date": DagRun.end_date,
    "updated_at": DagRun.updated_at, "external_trigger": DagRun.external_trigger,
    "conf": DagRun.conf,
}
RANGES = {"execution_date": DagRun.logical_date, "start_date": DagRun.start_date,
          "end_date": DagRun.end_date, "updated_at": DagRun.updated_at}
IDENTITY = ("dag_id", "dag_run_id")


def _page(sess, conditions: list, *, order_by: str, limit: int | None, offset: int,
          cursor: str | None, fields: Iterable[str] | None = None, form: dict | None = None):
    """One page of the runs that meet `conditions`, of the DAGs the caller may read."""
    return paging.collection(
        sess, select(DagRun).where(dag_filter(DagRun.dag_id), *conditions), key="dag_runs",
        serialize=lambda run: only_fields(dag_run(run), fields, IDENTITY),
        order_by=order_by, columns=ORDER_COLUMNS, primary_key=DagRun.id,
        limit=limit, offset=offset, links=form is None, cursor=cursor, form=form)


def get_dag_runs(dag_id: str, limit: int, offset: int, order_by: str, state=None, fields=None,
                 cursor: str | None = None, **date_ranges):
    """`date_ranges`: the `<field>_gte` / `<field>_lte` query parameters of RANGES' fields."""
    conditions = filters.where(filters.equals(DagRun.dag_id, dag_id),
                               filters.any_of(DagRun.state, state),
                               *filters.ranges(RANGES, date_ranges))
    with session() as sess:
        if dag_id != filters.WILDCARD:
            lookups.dag(sess, dag_id)
        return _page(sess, conditions, order_by=order_by, limit=limit, offset=offset,
                     cursor=cursor, fields=fields)


def get_dag_runs_batch(body: dict):
    conditions = filters.where(filters.any_of(DagRun.dag_id, body.get("dag_ids")),
                               filters.any_of(DagRun.state, body.get("states")),
                               *filters.ranges(RANGES, body))
    with session() as sess:
        return _page(sess, conditions, order_by=body.get("order_by", "id"),
                     limit=body.get("page_limit"), offset=body.get("page_offset", 0),
                     cursor=body.get("cursor"), form=body)


def get_dag_run(dag_id: str, dag_run_id: str, fields=None):
    with session() as sess:
        run = lookups.dag_run(sess, dag_id, dag_run_id)
        return resources.single(only_fields(dag_run(run), fields, IDENTITY))


def _result_tasks(sess: Session, dag_id: str, task_ids: list[str]) -> dict[str, dict]:
    """The serialized tasks whose return values a wait ends with; 422 naming those the DAG
    does not have."""
    if not task_ids:
        return {}
    _, serialized = lookups.serialized_dag(sess, dag_id)
    tasks = graph.tasks_by_id(serialized)
    if unknown := [task_id for task_id in task_ids if task_id not in tasks]:
        raise Unprocessable(f"'result' names tasks that DAG {dag_id!r} does not have: "
                            f"{', '.join(map(repr, unknown))}.")
    return {task_id: tasks[task_id] for task_id in task_ids}


def wait_dag_run_until_finished(dag_id: str, dag_run_id: str, timeout: float,
                                result: list[str] | None = None):
    """The run's state, then (see windsock.api.wait_stream) its changes until it finishes."""
    resources.negotiate([wait_stream.NDJSON], "The wait for a DAG run")
    if math.isnan(timeout):  # the contract's bounds keep out everything else that is no time
        raise BadRequest("'timeout' must be a number of seconds from 0 to 3600, not NaN.")
    if result:  # return values are XComs
        authorize(authorization.current(), [(READ, "XComs")], dag_id)
    deadline = time.monotonic() + timeout
    with session() as sess:
        run = lookups.dag_run(sess, dag_id, dag_run_id)
        tasks = _result_tasks(sess, dag_id, result or [])
        return wait_stream.begin(sess, wait_stream.Ticket(dag_id, dag_run_id, run.id, run.state,
                                                          deadline, tasks))


def _logical_date(body: Mapping[str, Any]) -> datetime | None:
    """The logical date the client gave, under either name; None when it gave none."""
    logical = filters.parse_datetime("logical_date", body.get("logical_date"))
    execution = filters.parse_datetime("execution_date", body.get("execution_date"))
    if logical and execution and logical != execution:
        raise Unprocessable(f"'logical_date' ({logical.isoformat()}) and its older name "
                            f"'execution_date' ({execution.isoformat()}) disagree; send one.")
    given = logical or execution
    return given.astimezone(timezone.utc) if given else None


def _conf(declared: Mapping[str, Any], conf: Mapping[str, Any]) -> dict:
    """The run's conf: its keys that name a param are checked against it (defaults fill in the
    params it leaves out); other keys are kept as they are, as Airflow 2 keeps them, since
    DAGs read `dag_run.conf` beyond their declared params."""
    try:
        return params.resolve(declared, conf)
    except ValueError as error:
        raise Unprocessable(f"{error}.") from None


# How many microseconds on from the current instant a trigger without a logical date tries
# before it gives up with a conflict (only triggers of one DAG in one microsecond collide).
DEFAULT_DATE_ATTEMPTS = 5


def post_dag_run(dag_id: str, body: dict):
    given = _logical_date(body)
    with snapshot() as sess:  # read before the request takes the write lock
        dag, serialized = lookups.serialized_dag(sess, dag_id)
    if dag.has_import_errors:
        raise DagHasImportErrors(f"DAG {dag_id!r} cannot be triggered while its file "
                                 f"{dag.fileloc} fails to import; see GET /importErrors.")
    conf = _conf(serialized["params"], body.get("conf") or {})
    now = datetime.now(timezone.utc)
    instants = [given] if given else [now + timedelta(microseconds=step)
                                      for step in range(DEFAULT_DATE_ATTEMPTS)]
    with session() as sess:
        try:
            run = next(filter(None, (trigger.create_run(
                sess, serialized, logical_date=logical_date, conf=conf, run_type="manual",
                run_id=body.get("dag_run_id") or trigger.new_run_id("manual", logical_date),
                note=body.get("note")) for logical_date in instants)), None)
        except IntegrityError:  # the foreign key: deleted since the snapshot
            raise NotFound(f"DAG {dag_id!r} does not exist.") from None
        if run is None:
            raise Conflict(_clash(dag_id, body, instants[0]))
        return resources.created(dag_run(run), resources.location(run.run_id))


def _clash(dag_id: str, body: Mapping[str, Any], logical_date: datetime) -> str:
    run_id = body.get("dag_run_id")
    return (f"DAG {dag_id!r} already has a run with the id {run_id!r} or the logical date "
            f"{logical_date.isoformat()}." if run_id else
            f"DAG {dag_id!r} already has a run with the logical date {logical_date.isoformat()}.")


def _change(dag_id: str, dag_run_id: str, change) -> Any:
    """Apply `change(sess, run)` to the run if `If-Match` allows; answer the changed run."""
    with session() as sess:
        run = lookups.dag_run(sess, dag_id, dag_run_id)
        resources.check_if_match(dag_run(run))
        change(sess, run)
        sess.flush()
        return resources.updated(dag_run(run))


def update_dag_run_state(dag_id: str, dag_run_id: str, body: dict):
    return _change(dag_id, dag_run_id,
                   lambda sess, run: marking.set_run_state(sess, run, body["state"]))


def set_dag_run_note(dag_id: str, dag_run_id: str, body: dict):
    return _change(dag_id, dag_run_id, lambda _, run: setattr(run, "note", body["note"]))


def delete_dag_run(dag_id: str, dag_run_id: str):
    with session() as sess:
        run = lookups.dag_run(sess, dag_id, dag_run_id)
        resources.check_if_match(dag_run(run))
        sess.delete(run)  # the database cascades to task instances, their tries and XComs
        return resources.deleted()


def clear_dag_run(dag_id: str, dag_run_id: str, body: dict):
    """Clear every task instance of the run and queue it again; a dry run lists them only."""
    dry_run = body.get("dry_run", True)
    with session() as sess:
        run = lookups.dag_run(sess, dag_id, dag_run_id)
        tis = list(sess.scalars(
            select(TaskInstance)
            .where(TaskInstance.dag_id == dag_id, TaskInstance.run_id == dag_run_id)
            .order_by(TaskInstance.task_id, TaskInstance.map_index)))
        if dry_run:
            return resources.ok({"task_instances": [task_instance(ti, run.logical_date)
                                                    for ti in tis],
                                 "total_entries": len(tis)})
        _, serialized = lookups.serialized_dag(sess, dag_id)
        clearing.clear(sess, tis, clearing.retries_of(serialized), requeue_runs=False)
        marking.set_run_state(sess, run, "queued")
        sess.flush()
        return resources.ok(dag_run(run))
