"""DAG runs: creating scheduled runs, starting queued runs, finishing runs whose task instances
have all finished."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from windsock.dags.store import next_interval, set_next_run
from windsock.db.models import Dag, DagRun, SerializedDag
from windsock.runs.states import FAILED_TI_STATES, FINISHED_TI_STATES
from windsock.runs.trigger import create_run
from windsock.scheduler import events
from windsock.scheduler.locks import locked, move_run

SCHEDULABLE = and_(Dag.is_active, ~Dag.is_paused)
ACTIVE_RUN_STATES = ("queued", "running")


def serialized(sess: Session, dag_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The serialized form of each of these DAGs that has one."""
    rows = sess.execute(select(SerializedDag.dag_id, SerializedDag.data)
                        .where(SerializedDag.dag_id.in_(set(dag_ids))))
    return {dag_id: json.loads(data) for dag_id, data in rows}


def _count(sess: Session, dag_ids: Iterable[str], states: Iterable[str]) -> Counter[str]:
    return Counter(dict(sess.execute(
        select(DagRun.dag_id, func.count()).where(DagRun.dag_id.in_(set(dag_ids)),
                                                  DagRun.state.in_(states))
        .group_by(DagRun.dag_id)).all()))


def create_scheduled_runs(sess: Session, now: datetime) -> None:
    """Create the due scheduled runs (queued) of the unpaused DAGs, each DAG up to its
    max_active_runs queued and running runs, and record when each DAG's next run is due."""
    dags = sess.scalars(locked(sess, select(Dag).where(
        SCHEDULABLE, Dag.next_dagrun_create_after <= now).order_by(Dag.dag_id), Dag)).all()
    datas = serialized(sess, [dag.dag_id for dag in dags])
    active = _count(sess, datas, ACTIVE_RUN_STATES)
    for dag in dags:
        data = datas.get(dag.dag_id)
        if data is None:
            continue
        interval = next_interval(sess, data, now)
        while interval and interval.end <= now and active[dag.dag_id] < dag.max_active_runs:
            if sess.scalar(select(DagRun.id).where(DagRun.dag_id == dag.dag_id,
                                                   DagRun.logical_date == interval.start)):
                events.log.warning("%s: a run with the logical date %s exists; not scheduling "
                                   "one", dag.dag_id, interval.start)
            else:
                run = create_run(sess, data, run_id=f"scheduled__{interval.start.isoformat()}",
                                 logical_date=interval.start, conf={}, run_type="scheduled",
                                 data_interval=(interval.start, interval.end))
                sess.flush()
                events.record(sess, "run_created", run)
                active[dag.dag_id] += 1
            interval = next_interval(sess, data, now, after=interval.start)
        set_next_run(dag, interval)


def start_queued_runs(sess: Session, now: datetime) -> None:
    """Start the oldest queued runs of the unpaused DAGs, keeping each DAG's running runs
    within its max_active_runs."""
    dags = {dag.dag_id: dag for dag in sess.scalars(locked(sess, select(Dag).where(
        SCHEDULABLE, Dag.dag_id.in_(select(DagRun.dag_id).where(DagRun.state == "queued"))),
        Dag))}
    running = _count(sess, dags, ["running"])
    queued = sess.scalars(select(DagRun).where(DagRun.dag_id.in_(dags), DagRun.state == "queued")
                          .order_by(DagRun.logical_date, DagRun.id))
    for run in queued:
        if running[run.dag_id] < dags[run.dag_id].max_active_runs and move_run(
                sess, run, "running", start_date=now, end_date=None):
            running[run.dag_id] += 1
            events.record(sess, "run_running", run)


def running_runs(sess: Session) -> list[DagRun]:
    """The running runs of the unpaused DAGs, locked for this scheduler."""
    return list(sess.scalars(locked(sess, select(DagRun).join(Dag).where(
        SCHEDULABLE, DagRun.state == "running").order_by(DagRun.logical_date, DagRun.id),
        DagRun)))


def finish_run(sess: Session, run: DagRun, states: Mapping[str, str | None],
               now: datetime) -> bool:
    """Mark `run` success or failed once all its task instances (their `states`) finished;
    failed when any failed or could not run because an upstream one failed."""
    if not all(state in FINISHED_TI_STATES for state in states.values()):
        return False
    state = "failed" if any(s in FAILED_TI_STATES for s in states.values()) else "success"
    if not move_run(sess, run, state, end_date=now):
        return False
    events.record(sess, f"run_{state}", run)
    return True
