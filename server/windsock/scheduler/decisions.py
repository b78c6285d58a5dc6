"""Deciding the task instances of a running run: which may be scheduled, which can never run
(their upstream tasks failed or were skipped), which retry now.

A task instance is scheduled once its trigger rule is met. When the rule can no longer be met,
it takes the state Airflow gives it (UNREACHABLE), and its own downstream tasks are decided in
the same pass, so a failure or a skip propagates down the whole graph at once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from windsock.db.models import DagRun, TaskInstance
from windsock.runs.dependencies import Upstream, retry_at, trigger_rule_unmet
from windsock.runs.graph import topological_order
from windsock.scheduler import events
from windsock.scheduler.locks import move_ti

# rule -> the state of a task instance whose unmet rule can no longer be met, or None while
# it still can. Called only when the rule is unmet. `failed` counts upstream_failed too.
UNREACHABLE: dict[str, Callable[[Upstream], str | None]] = {
    "all_success": lambda u: "upstream_failed" if u.failed else "skipped" if u.skipped else None,
    "all_failed": lambda u: "skipped" if u.success or u.skipped else None,
    "all_done": lambda u: None,
    "all_skipped": lambda u: "skipped" if u.success or u.failed else None,
    "one_success": lambda u: None if u.done < u.total else (
        "skipped" if u.skipped == u.total else "upstream_failed"),
    "one_failed": lambda u: "skipped" if u.done == u.total else None,
    "one_done": lambda u: "skipped" if u.done == u.total else None,
    "none_failed": lambda u: "upstream_failed" if u.failed else None,
    "none_failed_min_one_success": lambda u: "upstream_failed" if u.failed else (
        "skipped" if u.done == u.total else None),
    "none_skipped": lambda u: "skipped" if u.skipped else None,
    "always": lambda u: None,
}
WAITING_TO_BE_DECIDED = (None, "scheduled", "up_for_retry")


def decision(rule: str, upstream: Upstream) -> str | None:
    """The state an undecided task instance takes now: `scheduled` when its rule is met,
    `upstream_failed` or `skipped` when it never can be, None to wait."""
    if trigger_rule_unmet(rule, upstream) is None:
        return "scheduled"
    return UNREACHABLE[rule](upstream)


def decide_run(sess: Session, run: DagRun, tasks: Mapping[str, Mapping[str, Any]],
               now: datetime) -> dict[str, str | None]:
    """Decide the task instances of `run` (`tasks`: its DAG's serialized tasks by id); returns
    every task instance's state afterwards, by task id."""
    tis = {ti.task_id: ti for ti in sess.scalars(select(TaskInstance).where(
        TaskInstance.dag_id == run.dag_id, TaskInstance.run_id == run.run_id))}
    for ti in tis.values():
        if ti.task_id not in tasks and ti.state in WAITING_TO_BE_DECIDED:
            move_ti(sess, ti, "removed")
    for task_id in topological_order(tasks):
        ti = tis.get(task_id)
        if ti is not None:
            _decide(sess, ti, tasks[task_id], tis, now)
    run.last_scheduling_decision = now
    return {task_id: ti.state for task_id, ti in tis.items()}


def _decide(sess: Session, ti: TaskInstance, task: Mapping[str, Any],
            tis: Mapping[str, TaskInstance], now: datetime) -> None:
    if ti.state == "up_for_retry":
        if (retry_at(ti, task) or now) <= now and move_ti(sess, ti, "scheduled"):
            events.record(sess, "task_retry", ti)
        return
    if ti.state is not None:
        return
    upstream = Upstream.of(tis[u].state for u in task["upstream_task_ids"] if u in tis)
    state = decision(task["trigger_rule"], upstream)
    ended = {} if state == "scheduled" else {"start_date": now, "end_date": now, "duration": 0.0}
    if state and move_ti(sess, ti, state, **ended) and state == "upstream_failed":
        events.record(sess, "task_upstream_failed", ti, upstream=upstream.describe())
