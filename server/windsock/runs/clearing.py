"""Clearing task instances so the scheduler runs them again, keeping each finished try."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select, tuple_
from sqlalchemy.orm import Session

from windsock import listeners
from windsock.db.models import DagRun, TaskInstance, TaskInstanceTry
from windsock.runs.marking import set_run_state

TRY_COLUMNS = tuple(c.key for c in TaskInstanceTry.__table__.columns if c.key != "updated_at")


def archive_try(sess: Session, ti: TaskInstance) -> None:
    """Keep the task instance's current try in its history (once per try)."""
    if ti.try_number < 1:
        return
    key = (ti.dag_id, ti.run_id, ti.task_id, ti.map_index, ti.try_number)
    if sess.get(TaskInstanceTry, key) is None:
        sess.add(TaskInstanceTry(**{name: getattr(ti, name) for name in TRY_COLUMNS}))


def clear(sess: Session, tis: Iterable[TaskInstance], retries: Mapping[str, int], *,
          requeue_runs: bool = True) -> None:
    """Reset `tis` to no state (a running one to `restarting`, so its process is stopped first),
    give each its task's retries again, and queue their runs again when `requeue_runs`."""
    runs: set[tuple[str, str]] = set()
    for ti in tis:
        previous = ti.state
        if ti.state == "running":
            ti.state = "restarting"  # its runner archives the try once it has stopped it
        else:
            archive_try(sess, ti)
            ti.state = None
        listeners.task_instance_state_changed(sess, ti, previous, ti.state)
        ti.max_tries = ti.try_number + retries.get(ti.task_id, 0)
        runs.add((ti.dag_id, ti.run_id))
    if requeue_runs and runs:
        for run in sess.scalars(select(DagRun).where(
                tuple_(DagRun.dag_id, DagRun.run_id).in_(sorted(runs)))):
            set_run_state(sess, run, "queued")


def retries_of(serialized: Mapping[str, Any]) -> dict[str, int]:
    return {task["task_id"]: task["retries"] for task in serialized["tasks"]}
