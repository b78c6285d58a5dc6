"""Deciding the task instances of a running run: which may be scheduled, which can never run
(their upstream tasks failed or were skipped), which retry now.

A task instance is scheduled once its trigger rule is met. When the rule can no longer be met,
it takes the state Airflow gives it (UNREACHABLE), and its own downstream tasks are decided in
the same pass, so a failure or a skip propagates down the whole graph at once. A task's rule
counts every instance of its upstream tasks (all of a mapped task's). The stand-in of a task
mapped over return values is expanded into its instances when its rule is met.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import and_, select, update
from sqlalchemy.orm import Session

from windsock.dags import mapping
from windsock.db.models import TI_KEY, DagRun, TaskInstance
from windsock.runs.dependencies import Upstream, retry_at, trigger_rule_unmet
from windsock.runs.graph import topological_order
from windsock.runs.returns import return_values
from windsock.runs.trigger import instances, new_instances
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


def task_instances(sess: Session, runs: Sequence[DagRun]
                   ) -> dict[tuple[str, str], list[TaskInstance]]:
    """The task instances of `runs`, by (dag_id, run_id), in one query."""
    found: dict[tuple[str, str], list[TaskInstance]] = defaultdict(list)
    if runs:
        for ti in sess.scalars(select(TaskInstance).join(DagRun, and_(
                DagRun.dag_id == TaskInstance.dag_id, DagRun.run_id == TaskInstance.run_id))
                .where(DagRun.id.in_([run.id for run in runs]))
                .order_by(TaskInstance.task_id, TaskInstance.map_index)):
            found[ti.dag_id, ti.run_id].append(ti)
    return found


def decide_run(sess: Session, run: DagRun, tasks: Mapping[str, Mapping[str, Any]],
               instances_now: Sequence[TaskInstance], now: datetime) -> list[str | None]:
    """Decide the task instances of `run` (`instances_now`, by task id and map index; `tasks`:
    its DAG's serialized tasks by id), giving the tasks the DAG gained since the run was
    created their instances (those it lost are `removed`); returns the state of every task
    instance afterwards."""
    tis: dict[str, list[TaskInstance]] = defaultdict(list)
    for ti in instances_now:
        tis[ti.task_id].append(ti)
        if ti.task_id not in tasks and ti.state in WAITING_TO_BE_DECIDED:
            move_ti(sess, ti, "removed")
    added = [task for task_id, task in tasks.items() if task_id not in tis]
    for task in added:  # the DAG gained the task after the run was created
        tis[task["task_id"]] = new_instances(run.dag_id, run.run_id, task, now)
        sess.add_all(tis[task["task_id"]])
    if added:
        sess.flush()
        events.record(sess, "tasks_added", run, task_ids=[task["task_id"] for task in added])
    for task_id in topological_order(tasks):
        task = tasks[task_id]
        upstream = Upstream.of(ti.state for u in task["upstream_task_ids"] for ti in tis[u])
        for ti in list(tis[task_id]):
            _decide(sess, run, ti, task, tasks, tis, upstream, now)
    run.last_scheduling_decision = now
    return [ti.state for group in tis.values() for ti in group]


def _decide(sess: Session, run: DagRun, ti: TaskInstance, task: Mapping[str, Any],
            tasks: Mapping[str, Mapping[str, Any]], tis: dict[str, list[TaskInstance]],
            upstream: Upstream, now: datetime) -> None:
    if ti.state == "up_for_retry":
        if (retry_at(ti, task) or now) <= now and move_ti(sess, ti, "scheduled"):
            events.record(sess, "task_retry", ti)
        return
    if ti.state is not None:
        return
    state = decision(task["trigger_rule"], upstream)
    if state == "scheduled" and "expand" in task and ti.map_index == -1:
        tis[ti.task_id] = _expand(sess, run, ti, task, tasks, now)
        for instance in tis[ti.task_id]:
            if instance.state is None:
                move_ti(sess, instance, "scheduled")
        return
    ended = {} if state == "scheduled" else {"start_date": now, "end_date": now, "duration": 0.0}
    if state and move_ti(sess, ti, state, **ended) and state == "upstream_failed":
        events.record(sess, "task_upstream_failed", ti, upstream=upstream.describe())


def _expand(sess: Session, run: DagRun, stand_in: TaskInstance, task: Mapping[str, Any],
            tasks: Mapping[str, Mapping[str, Any]], now: datetime) -> list[TaskInstance]:
    """Replace the stand-in of a task mapped over return values, now that its upstream tasks
    are done, by its instances (the stand-in becomes map index 0); none: it is skipped. When
    the values cannot be expanded (an upstream task returned no list, or too long a one), the
    stand-in fails as `upstream_failed`. Returns the task's instances afterwards."""
    returned = return_values(sess, run.dag_id, run.run_id,
                             {source: tasks[source] for source in mapping.sources(task["expand"])})
    ended = {"start_date": now, "end_date": now, "duration": 0.0}
    try:
        count = mapping.length(task["task_id"], task["expand"], returned)
    except mapping.ExpansionError as exc:
        if move_ti(sess, stand_in, "upstream_failed", **ended):
            events.record(sess, "task_upstream_failed", stand_in, reason=str(exc))
        return [stand_in]
    if count == 0:
        if move_ti(sess, stand_in, "skipped", **ended):
            events.record(sess, "task_expanded", stand_in, count=0)
        return [stand_in]
    renumbered = sess.execute(
        update(TaskInstance).where(*(getattr(TaskInstance, c) == getattr(stand_in, c)
                                     for c in TI_KEY), TaskInstance.state.is_(None))
        .values(map_index=0).execution_options(synchronize_session=False))
    if renumbered.rowcount != 1:
        return [stand_in]  # changed meanwhile (cleared, marked): decided next time
    sess.expunge(stand_in)
    added = instances(run.dag_id, run.run_id, task, count, now)[1:]
    sess.add_all(added)
    sess.flush()
    first = sess.get(TaskInstance, (run.dag_id, run.run_id, task["task_id"], 0))
    events.record(sess, "task_expanded", first, count=count)
    return [first, *added]
