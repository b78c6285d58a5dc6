"""A task runner's claim on one task instance, in the database: taking a queued one, keeping it
alive, recording how the try ended.

Every change after the claim is guarded by `state = 'running' AND try_number = <this try>`, so
a change made meanwhile by someone else (the API marking or clearing it, the scheduler taking it
for dead) is never overwritten: the runner learns of it instead and stops.
"""

from __future__ import annotations

import getpass
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.orm import Session

from windsock import config, listeners
from windsock.dags.tasks import RETURN_VALUE
from windsock.db.engine import session, write_session
from windsock.db.models import DagRun, TaskInstance, XCom, utcnow
from windsock.runs import datasets
from windsock.runs.clearing import archive_try
from windsock.runs.returns import return_values
from windsock.scheduler.executors import TaskKey
from windsock.scheduler.runs import serialized


@dataclass(frozen=True)
class Claim:
    """A task instance this process is running: its try and what it needs to run it."""

    key: TaskKey
    try_number: int
    max_tries: int
    start_date: datetime
    dag: dict[str, Any]  # the serialized DAG ({} when it is gone)
    conf: dict[str, Any]  # the run's conf
    previous_here: bool  # whether the previous try ran on this machine
    previous_pgid: int | None  # its process group, once its first heartbeat recorded it

    def tag(self, try_number: int | None = None) -> str:
        """The identity of this try (or of the try `try_number`) among processes."""
        number = self.try_number if try_number is None else try_number
        return "/".join(map(str, (*self.key, number)))

    @property
    def task(self) -> dict[str, Any] | None:
        """The serialized task, None when the DAG no longer has it."""
        return next((task for task in self.dag.get("tasks", ())
                     if task["task_id"] == self.key.task_id), None)

    @property
    def failure_state(self) -> str:
        """The state a failure of this try leads to."""
        return "up_for_retry" if self.try_number <= self.max_tries else "failed"


def _is(key: TaskKey) -> tuple:
    return (TaskInstance.dag_id == key.dag_id, TaskInstance.run_id == key.run_id,
            TaskInstance.task_id == key.task_id, TaskInstance.map_index == key.map_index)


def _mine(claim: Claim) -> tuple:
    return (*_is(claim.key), TaskInstance.state == "running",
            TaskInstance.try_number == claim.try_number)


def _guarded(sess: Session, where: tuple, **values: Any) -> bool:
    result = sess.execute(update(TaskInstance).where(*where).values(**values)
                          .execution_options(synchronize_session=False))
    return result.rowcount == 1


def claim(key: TaskKey, executor: str) -> Claim | None:
    """Start the next try of the task instance `key` if it is queued (atomically: of two
    runners, one wins); None when it is not. The previous try is kept in the history, and the
    XComs it pushed are dropped."""
    now = utcnow()
    hostname = config.hostname()
    with write_session() as sess:
        ti = sess.get(TaskInstance, tuple(key))
        if ti is None or ti.state != "queued":
            return None
        # The update comes first: it takes the row (the write lock on SQLite) before anything
        # is written, and leaves the loaded `ti` as it was, the previous try, to archive.
        if not _guarded(sess, (*_is(key), TaskInstance.state == "queued",
                               TaskInstance.try_number == ti.try_number),
                        state="running", try_number=ti.try_number + 1, start_date=now,
                        end_date=None, duration=None, hostname=hostname,
                        unixname=getpass.getuser(), pid=os.getpid(), pgid=None,
                        executor=executor, last_heartbeat_at=now):
            return None
        listeners.task_instance_state_changed(sess, key, "queued", "running", ti.try_number + 1)
        archive_try(sess, ti)
        sess.execute(delete(XCom).where(*(getattr(XCom, name) == value
                                          for name, value in key._asdict().items())))
    # What the try needs to run is read after the claim, outside the write transaction: the
    # run's conf does not change, and the DAG may change at any time anyway.
    with session() as sess:
        dag = serialized(sess, [key.dag_id]).get(key.dag_id, {})
        conf = sess.scalar(select(DagRun.conf).where(DagRun.dag_id == key.dag_id,
                                                     DagRun.run_id == key.run_id))
    return Claim(key=key, try_number=ti.try_number + 1, max_tries=ti.max_tries,
                 start_date=now, dag=dag, conf=json.loads(conf or "{}"),
                 previous_here=ti.try_number > 0 and ti.hostname == hostname,
                 previous_pgid=ti.pgid if ti.hostname == hostname else None)


def heartbeat(claim: Claim, pgid: int) -> bool:
    """Record that the try is alive and the process group of its task processes; False when
    its task instance was changed by someone else."""
    with write_session() as sess:
        return _guarded(sess, _mine(claim), last_heartbeat_at=utcnow(), pgid=pgid)


def upstream_values(claim: Claim) -> dict[str, Any]:
    """The return values of the task's upstream tasks in this run, by task id (a mapped one's as
    the list of its instances' values)."""
    upstream = (claim.task or {}).get("upstream_task_ids", ())
    tasks = {task["task_id"]: task for task in claim.dag.get("tasks", ())
             if task["task_id"] in upstream}
    with session() as sess:
        return return_values(sess, claim.key.dag_id, claim.key.run_id, tasks)


def finish(claim: Claim, state: str, value: Any = None, skipped: Sequence[str] = ()) -> bool:
    """End the try in `state`, storing the task's return value (unless None), skipping the
    `skipped` tasks that are still undecided and, on success, recording an update of each of
    the task's outlets (dataset events, queued for the DAGs scheduled on them); False,
    changing nothing, when someone else changed the task instance meanwhile."""
    now = utcnow()
    key = claim.key
    with write_session() as sess:
        if not _guarded(sess, _mine(claim), state=state, end_date=now,
                        duration=(now - claim.start_date).total_seconds()):
            return False
        listeners.task_instance_state_changed(sess, key, "running", state, claim.try_number)
        if value is not None:
            sess.add(XCom(**key._asdict(), key=RETURN_VALUE, value=json.dumps(value),
                          timestamp=now))
        if skipped:
            undecided = (TaskInstance.dag_id == key.dag_id, TaskInstance.run_id == key.run_id,
                         TaskInstance.task_id.in_(skipped), TaskInstance.state.is_(None))
            for row in sess.execute(select(TaskInstance.dag_id, TaskInstance.run_id,
                                           TaskInstance.task_id, TaskInstance.map_index,
                                           TaskInstance.try_number).where(*undecided)):
                listeners.task_instance_state_changed(sess, row, None, "skipped")
            sess.execute(update(TaskInstance).where(*undecided)
                         .values(state="skipped", start_date=now, end_date=now, duration=0.0))
        if state == "up_for_retry":
            archive_try(sess, sess.get(TaskInstance, tuple(key)))
        if state == "success":
            datasets.record_task_outlets(sess, (claim.task or {}).get("outlets", ()), now,
                                         **key._asdict())
    return True


def release(claim: Claim) -> str | None:
    """After someone else changed the task instance: set it to no state if it was cleared
    (`restarting`), so that it runs again; returns its state now."""
    with write_session() as sess:
        ti = sess.get(TaskInstance, tuple(claim.key))
        if ti is not None and ti.state == "restarting" and ti.try_number == claim.try_number:
            archive_try(sess, ti)  # the stopped try, as `restarting`
        if _guarded(sess, (*_is(claim.key), TaskInstance.state == "restarting",
                           TaskInstance.try_number == claim.try_number), state=None):
            listeners.task_instance_state_changed(sess, claim.key, "restarting", None,
                                                  claim.try_number)
        return sess.scalar(select(TaskInstance.state).where(*_is(claim.key)))
