"""Recovering from processes that died: task instances queued by a scheduler that is gone go
back to `scheduled`; task instances whose task runner stopped heartbeating are failed (or
retried), or, when they were being restarted, reset to run again."""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.orm import Session

from windsock import config, listeners
from windsock.db.models import TaskInstance
from windsock.runs.clearing import archive_try
from windsock.scheduler import events, jobs
from windsock.scheduler.locks import locked, move_ti

# A task instance queued this recently is left alone: its scheduler may have just started.
QUEUED_GRACE = timedelta(seconds=5)


def requeue_orphans(sess: Session, now: datetime) -> None:
    """Move back to `scheduled` the queued task instances whose scheduler is not alive, or that
    waited longer than [scheduler] task_queued_timeout (their runner never started). One guarded
    UPDATE, so it and a task runner's claim cannot both win."""
    timeout = timedelta(seconds=config.get_int("scheduler", "task_queued_timeout"))
    rows = sess.execute(
        update(TaskInstance)
        .where(TaskInstance.state == "queued", TaskInstance.queued_dttm < now - QUEUED_GRACE,
               or_(TaskInstance.queued_by_job_id.is_(None),
                   TaskInstance.queued_by_job_id.not_in(jobs.live_ids(now)),
                   TaskInstance.queued_dttm < now - timeout))
        .values(state="scheduled", queued_by_job_id=None)
        .returning(TaskInstance.dag_id, TaskInstance.run_id, TaskInstance.task_id,
                   TaskInstance.map_index, TaskInstance.try_number)
        .execution_options(synchronize_session=False)).all()
    for row in rows:
        listeners.task_instance_state_changed(sess, row, "queued", "scheduled")
        events.record(sess, "task_requeued", row, reason="its scheduler is no longer alive, "
                      "or its task runner did not start within [scheduler] task_queued_timeout")


def handle_dead_tasks(sess: Session, now: datetime) -> None:
    """Running task instances without a heartbeat for [scheduler] task_heartbeat_timeout
    become up_for_retry (tries left) or failed; restarting ones are reset to run again."""
    timeout = config.get_int("scheduler", "task_heartbeat_timeout")
    stale = select(TaskInstance).where(
        TaskInstance.state.in_(("running", "restarting")),
        TaskInstance.last_heartbeat_at < now - timedelta(seconds=timeout))
    for ti in sess.scalars(locked(sess, stale, TaskInstance)).all():
        reason = (f"its task runner sent no heartbeat for {timeout} s (last at "
                  f"{ti.last_heartbeat_at.isoformat()})")
        if ti.state == "restarting":
            state, values = None, {}
        else:
            state = "up_for_retry" if ti.try_number <= ti.max_tries else "failed"
            values = {"end_date": now, "duration": (now - ti.start_date).total_seconds()
                      if ti.start_date else None}
        if move_ti(sess, ti, state, **values):
            if state == "up_for_retry":  # as a runner keeps its failed try (claims.finish)
                archive_try(sess, ti)
            events.record(sess, f"task_{state or 'reset'}", ti, reason=reason)
