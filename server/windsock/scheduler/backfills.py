"""The scheduler's side of backfills: creating their runs a few at a time and completing them.

Each round, an active backfill of an unpaused DAG gets runs for its next logical dates while
fewer than its `max_active_runs` runs are queued or running and the DAG's queued and running runs
stay within the DAG's `max_active_runs`. At a date without a run it creates a queued run of type
`backfill`; at a date whose run `reprocess_behavior` reruns, it clears that run (it is queued
again) and takes it over; other dates it passes. A backfill whose dates are all handed out
completes once none of its runs is queued or running. Backfill rows are locked for the round,
so two schedulers never hand out one date twice.
"""

from __future__ import annotations

import json
from collections import Counter
from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from windsock.db.models import Backfill, Dag, DagRun, TaskInstance
from windsock.runs import backfills, clearing
from windsock.runs.trigger import create_run, new_run_id
from windsock.scheduler import events
from windsock.scheduler.locks import locked
from windsock.scheduler.runs import ACTIVE_RUN_STATES, SCHEDULABLE, serialized

RUN_TYPE = "backfill"


def _active_runs(sess: Session, column, values) -> Counter:
    return Counter(dict(sess.execute(
        select(column, func.count()).where(column.in_(set(values)),
                                           DagRun.state.in_(ACTIVE_RUN_STATES))
        .group_by(column)).all()))


def create_backfill_runs(sess: Session, now: datetime) -> None:
    """Hand out the next logical dates of the active, unpaused backfills of unpaused DAGs."""
    rows = sess.execute(locked(sess, select(Backfill, Dag).join(Dag).where(
        SCHEDULABLE, Backfill.completed_at.is_(None), ~Backfill.is_paused,
        Backfill.next_logical_date.is_not(None)).order_by(Backfill.id), Backfill)).all()
    if not rows:
        return
    datas = serialized(sess, {dag.dag_id for _, dag in rows})
    by_backfill = _active_runs(sess, DagRun.backfill_id, [b.id for b, _ in rows])
    by_dag = _active_runs(sess, DagRun.dag_id, datas)
    for backfill, dag in rows:
        data = datas.get(dag.dag_id)
        if data is None:
            continue
        room = min(backfill.max_active_runs - by_backfill[backfill.id],
                   dag.max_active_runs - by_dag[dag.dag_id])
        used = _hand_out(sess, backfill, data, room)
        by_dag[dag.dag_id] += used


def _hand_out(sess: Session, backfill: Backfill, data: dict[str, Any], room: int) -> int:
    """Run the backfill's next dates while there is `room`; how many runs it queued."""
    used = 0
    next_date = None
    try:
        for moment in backfills.dates(backfill, data):
            if used >= room:
                next_date = moment
                break
            used += _run_date(sess, backfill, data, moment)
    except backfills.Invalid as error:  # the DAG's file no longer gives it a schedule
        events.log.warning("backfill %s of %s ends early: %s", backfill.id, backfill.dag_id,
                           error)
    backfill.next_logical_date = next_date
    return used


def _run_date(sess: Session, backfill: Backfill, data: dict[str, Any], moment: datetime) -> int:
    """Create or rerun the run of `moment` if the backfill runs it; 1 if it did, else 0."""
    run = sess.scalar(select(DagRun).where(DagRun.dag_id == backfill.dag_id,
                                           DagRun.logical_date == moment))
    if run is None:
        interval = (moment, backfills.schedule_of(data).following(moment))
        run = create_run(sess, data, run_id=new_run_id(RUN_TYPE, moment), logical_date=moment,
                         conf=json.loads(backfill.dag_run_conf), run_type=RUN_TYPE,
                         data_interval=interval, backfill_id=backfill.id)
        if run is None:  # created since it was looked for: by another writer, not ours
            return 0
        events.record(sess, "run_created", run, backfill_id=backfill.id)
        return 1
    if not backfills.reruns(run.state, backfill.reprocess_behavior):
        return 0
    tis = sess.scalars(select(TaskInstance).where(TaskInstance.dag_id == run.dag_id,
                                                  TaskInstance.run_id == run.run_id))
    clearing.clear(sess, tis, clearing.retries_of(data))
    run.backfill_id = backfill.id
    events.record(sess, "run_rerun", run, backfill_id=backfill.id)
    return 1


def complete_backfills(sess: Session, now: datetime) -> None:
    """Complete the active backfills whose dates are all handed out and whose runs all ended."""
    busy = select(DagRun.backfill_id).where(DagRun.backfill_id == Backfill.id,
                                            DagRun.state.in_(ACTIVE_RUN_STATES))
    for backfill in sess.scalars(locked(sess, select(Backfill).where(
            Backfill.completed_at.is_(None), Backfill.next_logical_date.is_(None),
            ~busy.exists()), Backfill)):
        backfill.completed_at = now
        events.log.info("backfill %s of %s completed", backfill.id, backfill.dag_id)
