"""Listeners: plugin objects told about DAG run and task instance state changes.

The code that changes a state (the scheduler's guarded updates, task runners' claims and
finishes, marking and clearing through the API) calls `dag_run_state_changed` or
`task_instance_state_changed` with the session it writes in. The change is remembered on the
session and told to every plugin listener after that session commits (never when it rolls
back), so a listener sees only changes that happened, and never holds a transaction open.

A listener is any object with one or both of these methods:

    on_dag_run_state_change(event: DagRunStateChange) -> None
    on_task_instance_state_change(event: TaskInstanceStateChange) -> None

A listener that raises is logged; the others are still called and the change stands.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

from windsock import plugins

PENDING = "windsock.listeners.pending"
log = logging.getLogger("windsock.listeners")


@dataclass(frozen=True)
class DagRunStateChange:
    dag_id: str
    run_id: str
    previous_state: str | None
    state: str | None


@dataclass(frozen=True)
class TaskInstanceStateChange:
    dag_id: str
    run_id: str
    task_id: str
    map_index: int
    try_number: int | None
    previous_state: str | None
    state: str | None


def dag_run_state_changed(sess: Session, run: Any, previous: str | None,
                          state: str | None) -> None:
    """Note that `run` (a DagRun or anything with its dag_id and run_id) went from `previous`
    to `state` in `sess`."""
    if previous != state:
        _pending(sess).append(DagRunStateChange(run.dag_id, run.run_id, previous, state))


def task_instance_state_changed(sess: Session, ti: Any, previous: str | None,
                                state: str | None, try_number: int | None = None) -> None:
    """Note that the task instance `ti` (or its key) went from `previous` to `state` in `sess`."""
    if previous != state:
        _pending(sess).append(TaskInstanceStateChange(
            ti.dag_id, ti.run_id, ti.task_id, ti.map_index,
            try_number if try_number is not None else getattr(ti, "try_number", None),
            previous, state))


def _pending(sess: Session | None) -> list:
    # An object in no session (a detached one) is not being written: nothing to tell.
    return [] if sess is None else sess.info.setdefault(PENDING, [])


@event.listens_for(Session, "after_commit")
def _after_commit(sess: Session) -> None:
    changes = sess.info.pop(PENDING, None)
    if changes:
        notify(changes)


@event.listens_for(Session, "after_soft_rollback")
def _after_rollback(sess: Session, previous_transaction: Any) -> None:
    sess.info.pop(PENDING, None)


def notify(changes: list) -> None:
    """Tell every plugin listener about `changes`, in order."""
    listeners = plugins.listeners()
    if not listeners:
        return
    for change in changes:
        method = ("on_dag_run_state_change" if isinstance(change, DagRunStateChange)
                  else "on_task_instance_state_change")
        for listener in listeners:
            handler = getattr(listener, method, None)
            if handler is None:
                continue
            try:
                handler(change)
            except Exception:  # noqa: BLE001 - a listener must not undo or stop the change
                log.exception("Listener %r failed on %s", listener, change)
