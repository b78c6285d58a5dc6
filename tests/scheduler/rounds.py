"""Driving the scheduler in-process, one round at a time, against the real database.

The tests stand in for the task runners by setting task instance states in the database (what a
runner writes when it claims and finishes a try); nothing of the scheduler is replaced.
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from sqlalchemy import select, update

from tests.support.seed import add_dag
from windsock import DAG
from windsock.dags.serialization import serialize
from windsock.dags.store import next_interval, set_next_run
from windsock.db.engine import session
from windsock.db.models import Dag, DagRun, EventLog, Job, TaskInstance
from windsock.scheduler import jobs
from windsock.scheduler.executors import TaskKey
from windsock.scheduler.loop import run_round


def now() -> datetime:
    return datetime.now(timezone.utc)


def new_job(heartbeat_seconds_ago: float = 0) -> int:
    """A running scheduler job whose latest heartbeat was that long ago; its id."""
    with session() as sess:
        job = jobs.start(sess, now() - timedelta(seconds=heartbeat_seconds_ago))
        return job.id


def one_round(job_id: int, open_slots: int = 32) -> list[TaskKey]:
    """One scheduler round; the keys it queued, sorted."""
    return sorted(run_round(job_id, open_slots))


def add_scheduled_dag(dag: DAG) -> None:
    """Store `dag` unpaused, with its next run due as the DAG processor computes it."""
    add_dag(dag)
    with session() as sess:
        set_next_run(sess.get(Dag, dag.dag_id), next_interval(sess, serialize(dag), now()))


def ti_states(dag_id: str, run_id: str) -> dict[str, str | None]:
    with session() as sess:
        return dict(sess.execute(select(TaskInstance.task_id, TaskInstance.state).where(
            TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id)).all())


def run_states(dag_id: str) -> dict[str, str]:
    with session() as sess:
        return dict(sess.execute(select(DagRun.run_id, DagRun.state)
                                 .where(DagRun.dag_id == dag_id)).all())


def get_ti(dag_id: str, run_id: str, task_id: str) -> TaskInstance:
    with session() as sess:
        return sess.get(TaskInstance, (dag_id, run_id, task_id, -1))


def set_ti(dag_id: str, run_id: str, task_id: str, **values) -> None:
    with session() as sess:
        sess.execute(update(TaskInstance).where(
            TaskInstance.dag_id == dag_id, TaskInstance.run_id == run_id,
            TaskInstance.task_id == task_id).values(**values))


def finish(dag_id: str, run_id: str, **outcomes: str) -> None:
    """What task runners write when the tries of these task instances end (`task=state`)."""
    moment = now()
    for task_id, state in outcomes.items():
        set_ti(dag_id, run_id, task_id, state=state, try_number=TaskInstance.try_number + 1,
               start_date=moment, end_date=moment, duration=0.0, last_heartbeat_at=moment)


def start(dag_id: str, run_id: str, *task_ids: str) -> None:
    """What a task runner writes when it claims a queued task instance."""
    moment = now()
    for task_id in task_ids:
        set_ti(dag_id, run_id, task_id, state="running", start_date=moment,
               try_number=TaskInstance.try_number + 1, last_heartbeat_at=moment)


def scheduler_events(dag_id: str) -> list[tuple[str, str | None, str | None]]:
    """The scheduler's event log rows about `dag_id`: (event, run id, task id), in order."""
    with session() as sess:
        return list(sess.execute(
            select(EventLog.event, EventLog.run_id, EventLog.task_id)
            .where(EventLog.dag_id == dag_id, EventLog.owner == "scheduler")
            .order_by(EventLog.id)).all())


def heartbeat_of(job_id: int) -> datetime:
    with session() as sess:
        return sess.get(Job, job_id).latest_heartbeat
