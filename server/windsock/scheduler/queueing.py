"""Queueing scheduled task instances for the executor, within the limits on running tasks:
the executor's open slots, [core] parallelism, each pool's slots, each DAG's
max_active_tasks and each task's max_active_tis_per_dag. Higher priority weights go first;
among equal ones, DAGs take turns (every DAG's first task instance before any DAG's second),
and within a DAG older runs go first.

Two schedulers never queue the same task instance and never together overfill a pool: on
PostgreSQL the pool rows are locked for the whole step (one scheduler queues at a time) and the
scheduled task instances are read FOR UPDATE SKIP LOCKED; on SQLite the step's first write
takes the database's write lock. Each move to `queued` is guarded by the state it was read in.
"""

from __future__ import annotations

import math
from collections import Counter
from datetime import datetime

from sqlalchemy import and_, func, select
from sqlalchemy.orm import Session

from windsock import config
from windsock.db.models import Dag, DagRun, Pool, TaskInstance
from windsock.db.pool_usage import slot_usage
from windsock.runs.dependencies import RUNNING_TI_STATES
from windsock.scheduler.executors import TaskKey
from windsock.scheduler.locks import locked, move_ti
from windsock.scheduler.runs import SCHEDULABLE

MAX_CANDIDATES = 512  # scheduled task instances looked at per step
PRIMARY_KEY = (TaskInstance.dag_id, TaskInstance.run_id, TaskInstance.task_id,
               TaskInstance.map_index)


def _open_pool_slots(sess: Session) -> dict[str, float]:
    pools = list(sess.scalars(locked(sess, select(Pool).order_by(Pool.id), skip=False)))
    usage = slot_usage(sess, [pool.pool for pool in pools])
    return {pool.pool: math.inf if pool.slots == -1
            else pool.slots - usage[pool.pool].occupied(pool.include_deferred) for pool in pools}


def _active_by_task(sess: Session) -> Counter[tuple[str, str]]:
    """The queued and running task instances of each (DAG, task)."""
    return Counter({(dag_id, task_id): count for dag_id, task_id, count in sess.execute(
        select(TaskInstance.dag_id, TaskInstance.task_id, func.count())
        .where(TaskInstance.state.in_(RUNNING_TI_STATES))
        .group_by(TaskInstance.dag_id, TaskInstance.task_id))})


def queue_tasks(sess: Session, job_id: int, open_slots: int, now: datetime) -> list[TaskKey]:
    """Move scheduled task instances of running runs to `queued` (by this job), highest
    priority weight first, then oldest run; at most `open_slots` (the executor's). Returns
    their keys, for the executor once the transaction has committed."""
    pools = _open_pool_slots(sess)
    by_task = _active_by_task(sess)
    active: Counter[str] = Counter()
    for (dag_id, _), count in by_task.items():
        active[dag_id] += count
    budget = min(open_slots, config.get_int("core", "parallelism") - sum(active.values()))
    if budget <= 0:
        return []
    # Each scheduled task instance's turn within its DAG: its place among the DAG's scheduled
    # ones after those of the DAG's running runs that started already (queued, running or
    # done). The first turn of every DAG goes before the second of any, so that the runs of
    # many DAGs triggered at once all start soon.
    started = (select(TaskInstance.dag_id, func.count().label("started"))
               .join(DagRun, and_(DagRun.dag_id == TaskInstance.dag_id,
                                  DagRun.run_id == TaskInstance.run_id))
               .where(DagRun.state == "running", TaskInstance.state.is_not(None),
                      TaskInstance.state.not_in(("scheduled", "up_for_retry")))
               .group_by(TaskInstance.dag_id).subquery())
    ranked = select(*PRIMARY_KEY, func.row_number().over(
        partition_by=TaskInstance.dag_id,
        order_by=(TaskInstance.priority_weight.desc(), DagRun.logical_date,
                  TaskInstance.task_id, TaskInstance.map_index)).label("place")).join(
        DagRun, and_(DagRun.dag_id == TaskInstance.dag_id, DagRun.run_id == TaskInstance.run_id)
    ).where(TaskInstance.state == "scheduled").subquery()
    scheduled = (
        select(TaskInstance, Dag.max_active_tasks)
        .join(ranked, and_(*(getattr(ranked.c, column.key) == column
                             for column in PRIMARY_KEY)))
        .outerjoin(started, started.c.dag_id == TaskInstance.dag_id)
        .join(DagRun, and_(DagRun.dag_id == TaskInstance.dag_id,
                           DagRun.run_id == TaskInstance.run_id))
        .join(Dag, Dag.dag_id == TaskInstance.dag_id)
        .where(TaskInstance.state == "scheduled", DagRun.state == "running", SCHEDULABLE,
               TaskInstance.pool.in_([name for name, free in pools.items() if free > 0]))
        .order_by(TaskInstance.priority_weight.desc(),
                  ranked.c.place + func.coalesce(started.c.started, 0), DagRun.logical_date,
                  TaskInstance.dag_id, TaskInstance.task_id, TaskInstance.map_index)
        .limit(MAX_CANDIDATES))
    candidates = sess.execute(locked(sess, scheduled, TaskInstance)).all()
    queued: list[TaskKey] = []
    for ti, max_active_tasks in candidates:
        if len(queued) == budget:
            break
        task = (ti.dag_id, ti.task_id)
        if (pools[ti.pool] < ti.pool_slots or active[ti.dag_id] >= max_active_tasks
                or by_task[task] >= (ti.max_active_tis_per_dag or math.inf)):
            continue
        if move_ti(sess, ti, "queued", queued_dttm=now, queued_by_job_id=job_id):
            pools[ti.pool] -= ti.pool_slots
            active[ti.dag_id] += 1
            by_task[task] += 1
            queued.append(TaskKey(ti.dag_id, ti.run_id, ti.task_id, ti.map_index))
    return queued
