"""Setting the state of runs and task instances by hand (marking success, failed, ...)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timezone

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from windsock import listeners

from windsock.db.models import DagRun, TaskInstance
from windsock.runs.states import FINISHED_TI_STATES, NOT_STARTED_TI_STATES


def set_task_states(tis: Iterable[TaskInstance], new_state: str) -> list[TaskInstance]:
    """Give each task instance `new_state`; returns those that changed. A running one's process
    notices the change and stops."""
    now = datetime.now(timezone.utc)
    changed = []
    for ti in tis:
        if ti.state == new_state:
            continue
        listeners.task_instance_state_changed(object_session(ti), ti, ti.state, new_state)
        ti.state = new_state
        if new_state in FINISHED_TI_STATES and ti.end_date is None:
            ti.end_date = now
            if ti.start_date is not None:
                ti.duration = (now - ti.start_date).total_seconds()
        changed.append(ti)
    return changed


def unfinished(sess: Session, run: DagRun) -> list[TaskInstance]:
    return list(sess.scalars(select(TaskInstance).where(
        TaskInstance.dag_id == run.dag_id, TaskInstance.run_id == run.run_id,
        TaskInstance.state.is_(None) | TaskInstance.state.not_in(FINISHED_TI_STATES))))


def set_run_state(sess: Session, run: DagRun, state: str) -> None:
    """Mark a run; in the same transaction, marking it failed fails its started task instances
    and skips those that never started, and marking it success succeeds every unfinished one."""
    now = datetime.now(timezone.utc)
    listeners.dag_run_state_changed(sess, run, run.state, state)
    run.state = state
    if state == "queued":
        run.queued_at, run.start_date, run.end_date = now, None, None
        return
    run.end_date = now
    pending = unfinished(sess, run)
    if state == "success":
        set_task_states(pending, "success")
    else:
        started = [ti for ti in pending if ti.state not in NOT_STARTED_TI_STATES]
        set_task_states([ti for ti in pending if ti.state in NOT_STARTED_TI_STATES], "skipped")
        set_task_states(started, "failed")
