"""What keeps a task instance from running: the conditions the scheduler checks before it queues
one, each with its name and, when it is not met, the reason in words."""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from windsock.db.models import Dag, DagRun, Pool, TaskInstance
from windsock.db.pool_usage import slot_usage
from windsock.runs.states import FAILED_TI_STATES, FINISHED_TI_STATES, NOT_STARTED_TI_STATES

WAITING_TI_STATES = NOT_STARTED_TI_STATES | {"up_for_retry", "up_for_reschedule"}
RUNNING_TI_STATES = ("queued", "running")


@dataclass(frozen=True)
class Upstream:
    """How the upstream task instances of one task instance stand (removed tasks left out)."""

    total: int
    success: int
    skipped: int
    failed: int  # failed or upstream_failed
    done: int

    @classmethod
    def of(cls, states: Iterable[str | None]) -> Upstream:
        counts = Counter(state for state in states if state != "removed")
        return cls(total=sum(counts.values()), success=counts["success"],
                   skipped=counts["skipped"], failed=sum(counts[s] for s in FAILED_TI_STATES),
                   done=sum(counts[s] for s in FINISHED_TI_STATES))

    def describe(self) -> str:
        parts = [(self.success, "succeeded"), (self.failed, "failed"),
                 (self.skipped, "skipped"), (self.total - self.done, "not finished")]
        return ", ".join(f"{count} {what}" for count, what in parts if count)


# trigger rule -> (what it requires, whether the upstream task instances meet it)
TRIGGER_RULES: dict[str, tuple[str, Callable[[Upstream], bool]]] = {
    "all_success": ("all upstream tasks to have succeeded", lambda u: u.success == u.total),
    "all_failed": ("all upstream tasks to have failed", lambda u: u.failed == u.total),
    "all_done": ("all upstream tasks to have finished", lambda u: u.done == u.total),
    "all_skipped": ("all upstream tasks to have been skipped", lambda u: u.skipped == u.total),
    "one_success": ("at least one upstream task to have succeeded", lambda u: u.success > 0),
    "one_failed": ("at least one upstream task to have failed", lambda u: u.failed > 0),
    "one_done": ("at least one upstream task to have succeeded or failed",
                 lambda u: u.success + u.failed > 0),
    "none_failed": ("all upstream tasks to have finished without failing",
                    lambda u: u.done == u.total and not u.failed),
    "none_failed_min_one_success": (
        "all upstream tasks to have finished without failing and one to have succeeded",
        lambda u: u.done == u.total and not u.failed and u.success > 0),
    "none_skipped": ("all upstream tasks to have finished without being skipped",
                     lambda u: u.done == u.total and not u.skipped),
    "always": ("nothing", lambda u: True),
}


def trigger_rule_unmet(rule: str, upstream: Upstream) -> str | None:
    """Why `rule` does not let the task run yet, or None when it does (or it has no upstream)."""
    requirement, met = TRIGGER_RULES[rule]
    if upstream.total == 0 or met(upstream):
        return None
    return (f"Task's trigger rule {rule!r} requires {requirement}, but of its "
            f"{upstream.total} upstream task(s), {upstream.describe()}.")


def _upstream(sess: Session, ti: TaskInstance, task: Mapping[str, Any]) -> Upstream:
    if not task["upstream_task_ids"]:
        return Upstream.of([])
    return Upstream.of(sess.scalars(select(TaskInstance.state).where(
        TaskInstance.dag_id == ti.dag_id, TaskInstance.run_id == ti.run_id,
        TaskInstance.task_id.in_(task["upstream_task_ids"]))))


def _pool_reason(sess: Session, ti: TaskInstance) -> str | None:
    pool = sess.scalar(select(Pool).where(Pool.pool == ti.pool))
    if pool is None:
        return f"Tasks using the non-existent pool {ti.pool!r} will not be scheduled."
    if pool.slots == -1:
        return None
    open_slots = max(pool.slots - slot_usage(sess, [pool.pool])[pool.pool].occupied(
        pool.include_deferred), 0)
    if open_slots >= ti.pool_slots:
        return None
    return (f"Not scheduling since there are {open_slots} open slots in pool {pool.pool!r} "
            f"and {ti.pool_slots} are needed.")


def _dag_slots_reason(sess: Session, dag: Dag) -> str | None:
    running = sess.scalar(select(func.count()).where(
        TaskInstance.dag_id == dag.dag_id, TaskInstance.state.in_(RUNNING_TI_STATES)))
    if running < dag.max_active_tasks:
        return None
    return (f"The maximum number of running tasks ({dag.max_active_tasks}) for this task's DAG "
            f"{dag.dag_id!r} has been reached.")


def _task_slots_reason(sess: Session, ti: TaskInstance) -> str | None:
    limit = ti.max_active_tis_per_dag
    if limit is None or sess.scalar(select(func.count()).where(
            TaskInstance.dag_id == ti.dag_id, TaskInstance.task_id == ti.task_id,
            TaskInstance.state.in_(RUNNING_TI_STATES))) < limit:
        return None
    return (f"The maximum number of running instances of task {ti.task_id!r} over the runs of "
            f"its DAG ({limit}, its max_active_tis_per_dag) has been reached.")


def retry_at(ti: TaskInstance, task: Mapping[str, Any]) -> datetime | None:
    """When an `up_for_retry` task instance may run again (None: not waiting for a retry)."""
    if ti.state != "up_for_retry" or ti.end_date is None:
        return None
    return ti.end_date + timedelta(seconds=task["retry_delay"] or 0)


def _retry_reason(ti: TaskInstance, task: Mapping[str, Any], now: datetime) -> str | None:
    next_try = retry_at(ti, task)
    if next_try is None or next_try <= now:
        return None
    return (f"Task is not ready for retry yet but will be retried automatically. Current date "
            f"is {now.isoformat()} and task will be retried at {next_try.isoformat()}.")


def unmet(sess: Session, ti: TaskInstance, run: DagRun, dag: Dag,
          task: Mapping[str, Any] | None, now: datetime) -> list[dict[str, str]]:
    """The conditions that keep `ti` from running now, as {name, reason}; `task` is its entry in
    the serialized DAG (None when the DAG no longer has it). A task instance that is not
    waiting to run (running, finished, ...) is held back by its state alone."""
    if ti.state not in WAITING_TI_STATES:
        return [{"name": "Task Instance State",
                 "reason": f"Task is in the {ti.state!r} state, so it is not waiting to run."}]
    reasons = {
        "Dag Not Paused": f"Task's DAG {dag.dag_id!r} is paused." if dag.is_paused else None,
        "Dagrun Running": None if run.state == "running" else (
            f"Task instance's DAG run is not in the 'running' state but in {run.state!r}."),
        "Task Instance Slots Available": _dag_slots_reason(sess, dag),
        "Task Concurrency": _task_slots_reason(sess, ti),
        "Pool Slots Available": _pool_reason(sess, ti),
    }
    if task is None:
        reasons["Task In DAG"] = f"DAG {dag.dag_id!r} no longer has a task {ti.task_id!r}."
    else:
        reasons["Not In Retry Period"] = _retry_reason(ti, task, now)
        reasons["Trigger Rule"] = trigger_rule_unmet(task["trigger_rule"],
                                                     _upstream(sess, ti, task))
    return [{"name": name, "reason": reason} for name, reason in reasons.items() if reason]
