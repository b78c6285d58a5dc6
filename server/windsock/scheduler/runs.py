"""DAG runs: creating scheduled runs, starting queued runs, finishing runs whose task instances
have all finished."""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, delete, func, insert, or_, select
from sqlalchemy.orm import Session

from windsock.dags import datasets
from windsock.dags.store import next_interval, set_next_run
from windsock.db.models import (Backfill, Dag, DagRun, Dataset, DatasetDagRunQueue,
                                DatasetEvent, SerializedDag, TaskInstance,
                                dagrun_dataset_event)
from windsock.runs.states import FAILED_TI_STATES, FINISHED_TI_STATES
from windsock.runs.trigger import create_run
from windsock.scheduler import events
from windsock.scheduler.locks import locked, move_run, move_ti

SCHEDULABLE = and_(Dag.is_active, ~Dag.is_paused)
ACTIVE_RUN_STATES = ("queued", "running")


_parsed: dict[str, tuple[str, dict[str, Any]]] = {}  # dag_id -> (dag_hash, its serialized form)


def serialized(sess: Session, dag_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
    """The serialized form of each of these DAGs that has one (read and parsed once per version
    of the DAG in this process; callers must not change it)."""
    hashes = dict(sess.execute(select(SerializedDag.dag_id, SerializedDag.dag_hash)
                               .where(SerializedDag.dag_id.in_(set(dag_ids)))).all())
    stale = [dag_id for dag_id, dag_hash in hashes.items()
             if _parsed.get(dag_id, ("",))[0] != dag_hash]
    if stale:
        for dag_id, dag_hash, data in sess.execute(
                select(SerializedDag.dag_id, SerializedDag.dag_hash, SerializedDag.data)
                .where(SerializedDag.dag_id.in_(stale))):
            _parsed[dag_id] = (dag_hash, json.loads(data))
    return {dag_id: _parsed[dag_id][1] for dag_id in hashes}


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
            run = create_run(sess, data, run_id=f"scheduled__{interval.start.isoformat()}",
                             logical_date=interval.start, conf={}, run_type="scheduled",
                             data_interval=(interval.start, interval.end))
            if run is None:
                events.log.warning("%s: a run with the logical date %s or its run id exists; "
                                   "not scheduling one", dag.dag_id, interval.start)
            else:
                events.record(sess, "run_created", run)
                active[dag.dag_id] += 1
            interval = next_interval(sess, data, now, after=interval.start)
        set_next_run(dag, interval)


def create_dataset_triggered_runs(sess: Session, now: datetime) -> None:
    """Create a queued `dataset_triggered` run of each unpaused DAG whose dataset condition the
    datasets queued for it meet. The run consumes the events of the DAG's datasets since its
    previous dataset-triggered run (they become its upstream dataset events) and the DAG's
    queue is cleared. Each DAG is locked (skipped when another scheduler holds it), so one
    queue makes one run whatever the number of schedulers."""
    dags = sess.scalars(locked(sess, select(Dag).where(
        SCHEDULABLE, Dag.dag_id.in_(select(DatasetDagRunQueue.target_dag_id)))
        .order_by(Dag.dag_id), Dag)).all()
    datas = serialized(sess, [dag.dag_id for dag in dags])
    for dag in dags:
        expression = (datas.get(dag.dag_id) or {}).get("dataset_expression")
        if expression is None:
            continue
        queued = dict(sess.execute(
            select(Dataset.uri, Dataset.id).join(
                DatasetDagRunQueue, DatasetDagRunQueue.dataset_id == Dataset.id)
            .where(DatasetDagRunQueue.target_dag_id == dag.dag_id)).all())
        if not datasets.is_met(expression, set(queued)):
            continue
        previous = sess.scalar(select(func.max(DagRun.logical_date)).where(
            DagRun.dag_id == dag.dag_id, DagRun.run_type == "dataset_triggered"))
        consumed = sess.scalars(
            select(DatasetEvent).join(Dataset, Dataset.id == DatasetEvent.dataset_id)
            .where(Dataset.uri.in_(datasets.expression_uris(expression)),
                   DatasetEvent.timestamp <= now,
                   *([DatasetEvent.timestamp > previous] if previous else []))
            .order_by(DatasetEvent.timestamp, DatasetEvent.id)).all()
        interval = ((consumed[0].timestamp, consumed[-1].timestamp) if consumed
                    else (now, now))
        run = create_run(sess, datas[dag.dag_id], run_id=f"dataset_triggered__{now.isoformat()}",
                         logical_date=now, conf={}, run_type="dataset_triggered",
                         data_interval=interval)
        if run is None:  # a run at this instant exists: the queue waits for the next step
            events.log.warning("%s: a run with the logical date %s exists; not creating a "
                               "dataset-triggered one now", dag.dag_id, now)
            continue
        if consumed:
            sess.execute(insert(dagrun_dataset_event), [
                {"dag_run_id": run.id, "event_id": event.id} for event in consumed])
        sess.execute(delete(DatasetDagRunQueue).where(
            DatasetDagRunQueue.target_dag_id == dag.dag_id,
            DatasetDagRunQueue.dataset_id.in_(queued.values())))
        events.record(sess, "run_created", run)


def start_queued_runs(sess: Session, now: datetime) -> None:
    """Start the oldest queued runs of the unpaused DAGs (but none of a paused backfill),
    keeping each DAG's running runs within its max_active_runs."""
    dags = {dag.dag_id: dag for dag in sess.scalars(locked(sess, select(Dag).where(
        SCHEDULABLE, Dag.dag_id.in_(select(DagRun.dag_id).where(DagRun.state == "queued"))),
        Dag))}
    running = _count(sess, dags, ["running"])
    paused_backfills = select(Backfill.id).where(Backfill.is_paused)
    queued = sess.scalars(select(DagRun).where(
        DagRun.dag_id.in_(dags), DagRun.state == "queued",
        or_(DagRun.backfill_id.is_(None), DagRun.backfill_id.not_in(paused_backfills)))
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


def time_out(sess: Session, run: DagRun, timeout: float | None, now: datetime) -> bool:
    """Fail `run` when it has been running longer than its DAG's dagrun_timeout (`timeout`
    seconds), skipping its unfinished task instances (a running one's runner then stops its
    task); whether it did."""
    if timeout is None or run.start_date is None or now < run.start_date + timedelta(
            seconds=timeout):
        return False
    if not move_run(sess, run, "failed", end_date=now):
        return False
    unfinished = sess.scalars(select(TaskInstance).where(
        TaskInstance.dag_id == run.dag_id, TaskInstance.run_id == run.run_id,
        or_(TaskInstance.state.is_(None), TaskInstance.state.not_in(FINISHED_TI_STATES))))
    for ti in unfinished:
        move_ti(sess, ti, "skipped", end_date=now)
    events.record(sess, "run_timed_out", run, dagrun_timeout=timeout)
    return True


def finish_run(sess: Session, run: DagRun, states: Sequence[str | None],
               now: datetime) -> bool:
    """Mark `run` success or failed once all its task instances (their `states`) finished;
    failed when any failed or could not run because an upstream one failed."""
    if not all(state in FINISHED_TI_STATES for state in states):
        return False
    state = "failed" if any(s in FAILED_TI_STATES for s in states) else "success"
    if not move_run(sess, run, state, end_date=now):
        return False
    events.record(sess, f"run_{state}", run)
    return True
